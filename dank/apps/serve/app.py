"""The HTTP server: routes, JSON errors and the page, on ``ThreadingHTTPServer``.

Why the standard library and not Starlette/FastAPI: the server is a local tool
in front of one model that only one thread may run at a time, so an async
framework buys nothing here, and the standard library adds no dependency to
pin and install (the project's CI installs exactly setup.cfg). What a framework
would have given is done by hand, in one place: multipart parsing
(``email.parser``), limits (``checks``), JSON errors for everything including
``http.server``'s own (``send_error``), and the OpenAPI document (``openapi``).
"""

import ipaddress
import json
import logging
import re
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from dank.apps.serve.checks import (
    ApiError,
    RateLimiter,
    client_key,
    int_field,
    parse_form,
)
from dank.apps.serve.engine import MAX_SEED, new_seed
from dank.apps.serve.openapi import openapi
from dank.data.catalogue import normalize_name

log = logging.getLogger(__name__)

STATIC = {  # URL path -> (file in dank/apps/serve/static, content type). Nothing else.
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
PAGE_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
DEFAULT_LIMIT = 60  # Templates listed when the client does not say.
# A body refused unread (413, 429, ...) up to this many times the upload limit
# is read and dropped after the answer, since many clients only read an answer
# once they have sent their body, and closing on unread bytes resets the
# connection under them (a broken pipe, the answer lost). Past it, or after
# ``socket_timeout_s``, the connection is closed unread.
DRAIN_FACTOR = 4


def _template_json(template):
    return {
        "id": template.id,
        "name": template.name,
        "aliases": list(template.aliases),
        "n_captions": template.n_captions,
        "image_url": f"/api/templates/{urllib.parse.quote(template.id, safe='')}/image",
    }


def search_templates(catalogue, query, limit):
    """Templates whose id, name or alias contains ``query`` (names first)."""
    query = (query or "").strip().lower()
    norm = normalize_name(query)
    hits = []
    for t in catalogue:
        keys = (t.name, t.id, *t.aliases)
        if (
            not query
            or any(query in k.lower() for k in keys)
            or (norm and any(norm in normalize_name(k) for k in keys))
        ):
            rank = 0 if t.name.lower().startswith(query) else 1
            hits.append((rank, -t.n_captions, t.label, t))
    hits.sort(key=lambda h: h[:3])
    return len(hits), [h[3] for h in hits[:limit]]


class App:
    """What every request handler shares: the engine, limits, page and spec."""

    def __init__(self, engine, config):
        self.engine = engine
        self.config = config
        self.limiter = RateLimiter(config.rate_per_minute, config.rate_burst)
        self.trusted_proxies = tuple(
            ipaddress.ip_network(p, strict=False) for p in config.trusted_proxies
        )
        files = resources.files("dank.apps.serve") / "static"
        self.static = {
            path: ((files / name).read_bytes(), ctype)
            for path, (name, ctype) in STATIC.items()
        }
        self.spec = json.dumps(openapi(config), indent=1).encode()


class Handler(BaseHTTPRequestHandler):
    """One HTTP/1.1 connection. Every answer has a Content-Length; errors are JSON."""

    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "dank"  # No Python version in the Server header.

    def setup(self):
        self.timeout = self.server.app.config.socket_timeout_s
        super().setup()

    # Routing ----------------------------------------------------------------------

    ROUTES = (  # (method, OpenAPI path, regex, handler name)
        ("POST", "/api/generate", r"/api/generate", "generate"),
        ("GET", "/api/templates", r"/api/templates", "templates"),
        (
            "GET",
            "/api/templates/{id}/image",
            r"/api/templates/([^/]+)/image",
            "template_image",
        ),
        (
            "GET",
            "/api/memes/{token}.png",
            r"/api/memes/([A-Za-z0-9_-]{1,64})\.png",
            "meme",
        ),
        ("GET", "/healthz", r"/healthz", "healthz"),
        ("GET", "/openapi.json", r"/openapi.json", "spec"),
        *(("GET", path, re.escape(path), "static") for path in STATIC),
    )

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_OPTIONS(self):
        self._dispatch("OPTIONS")

    def _allowed(self, path):
        """The methods ``path`` answers (``*``: the server's), or () if none."""
        methods = {
            m for m, _, p, _ in self.ROUTES if path == "*" or re.fullmatch(p, path)
        }
        return tuple(sorted(methods | {"OPTIONS"})) if methods else ()

    def _dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        self.query = urllib.parse.parse_qs(url.query)
        self.unread = self._declared_length()
        try:
            if method == "OPTIONS":
                self.route_options(url.path)
                return
            for want, _, pattern, name in self.ROUTES:
                match = re.fullmatch(pattern, url.path)
                if match and want == method:
                    getattr(self, "route_" + name)(
                        *map(urllib.parse.unquote, match.groups())
                    )
                    return
            if any(re.fullmatch(p, url.path) for _, _, p, _ in self.ROUTES):
                raise ApiError(
                    405, "method_not_allowed", f"{method} is not allowed on {url.path}"
                )
            raise ApiError(404, "not_found", f"no such page or API route: {url.path}")
        except ApiError as e:
            self._send_error(e)
        except TimeoutError:
            self.unread = None  # Part read: neither reusable nor worth draining.
            self._send_error(
                ApiError(408, "request_timeout", "the request body arrived too slowly")
            )
        except Exception:
            log.exception("%s %s failed", method, url.path)
            self._send_error(
                ApiError(500, "internal", "internal error; the server log has details")
            )

    # Responses --------------------------------------------------------------------

    def _declared_length(self):
        """The request body's Content-Length: 0 without one, None if unknown."""
        headers = getattr(self, "headers", None)
        if headers is None or "chunked" in headers.get("Transfer-Encoding", "").lower():
            return None
        raw = headers.get("Content-Length", "0").strip()
        return int(raw) if raw.isdigit() else None

    def _send(self, status, body, content_type, headers=None):
        unread = getattr(self, "unread", None)
        if unread != 0:  # An unread body would corrupt the next request.
            self.close_connection = True
        self.send_response(status)
        if status != 204:  # No Content: no Content-Length either (RFC 9110).
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if unread:
            self.wfile.flush()
            self._discard(unread)

    def _discard(self, length):
        """Reads and drops ``length`` unread body bytes, within the bounds of
        ``DRAIN_FACTOR``, so the client sees the answer rather than a reset."""
        config = self.server.app.config
        if length > DRAIN_FACTOR * config.max_upload_bytes:
            return
        deadline = time.monotonic() + config.socket_timeout_s
        try:
            while length > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read1(min(length, 2**16))
                if not chunk:
                    return
                length -= len(chunk)
        except OSError:  # Timed out or hung up: the connection closes anyway.
            pass

    def _send_json(self, data, status=200):
        self._send(
            status,
            json.dumps(data, ensure_ascii=False).encode(),
            "application/json",
            {"Cache-Control": "no-store"},
        )

    def _send_error(self, error):
        self._send(
            error.status,
            error.body(),
            "application/json",
            {"Cache-Control": "no-store", **error.headers},
        )

    def send_error(self, code, message=None, explain=None):
        """``http.server``'s own errors (bad request line, 501...) as JSON too."""
        self.unread = None
        if self.request_version == "HTTP/0.9":  # Unparsed line: answer in 1.x.
            self.request_version = "HTTP/1.0"
        text = message or self.responses.get(code, ("error",))[0]
        self._send_error(ApiError(code, "http_error", text))

    def log_message(self, format, *args):
        log.debug("%s %s", self.client_address[0], format % args)

    # Routes -----------------------------------------------------------------------

    def route_options(self, path):
        allowed = self._allowed(path)
        if not allowed:
            raise ApiError(404, "not_found", f"no such page or API route: {path}")
        # No CORS headers: the page is served from the API's own origin.
        self._send(204, b"", None, {"Allow": ", ".join(allowed)})

    def route_static(self):
        body, ctype = self.server.app.static[urllib.parse.urlsplit(self.path).path]
        self._send(
            200,
            body,
            ctype,
            {"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_CSP},
        )

    def route_spec(self):
        self._send(200, self.server.app.spec, "application/json")

    def route_healthz(self):
        engine = self.server.app.engine
        self._send_json(
            {
                "status": "ok",
                "run": engine.run_dir.name,
                "templates": len(engine.catalogue),
                "decoder": engine.config.decoder,
                "max_n": engine.config.max_n,
                "renders": len(engine.store),
                "mean_batch": engine.mean_batch(),
            }
        )

    def route_templates(self):
        catalogue = self.server.app.engine.catalogue
        fields = {k: v[-1] for k, v in self.query.items()}
        limit = int_field(fields, "limit", DEFAULT_LIMIT, 1, 1000)
        total, found = search_templates(catalogue, fields.get("q", ""), limit)
        self._send_json(
            {"total": total, "templates": [_template_json(t) for t in found]}
        )

    def route_template_image(self, template_id):
        body = self.server.app.engine.template_thumbnail(template_id)
        self._send(200, body, "image/jpeg", {"Cache-Control": "max-age=3600"})

    def route_meme(self, token):
        body = self.server.app.engine.store.get(token)
        if body is None:
            raise ApiError(
                404, "unknown_meme", "no such meme (they expire); generate it again"
            )
        headers = {"Cache-Control": "private, max-age=600"}
        if self.query.get("download"):
            name = f"meme-{token[:8]}.png"
            headers["Content-Disposition"] = f'attachment; filename="{name}"'
        self._send(200, body, "image/png", headers)

    def _read_body(self):
        limit = self.server.app.config.max_upload_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise ApiError(
                411,
                "length_required",
                "chunked uploads are not supported; send Content-Length",
            )
        length = self.unread
        if length is None or "Content-Length" not in self.headers:
            raise ApiError(411, "length_required", "send a Content-Length header")
        if length > limit:
            raise ApiError(
                413,
                "upload_too_large",
                f"the request is {length:,} bytes; the limit is "
                f"{limit:,} bytes ({limit / 2**20:g} MiB)",
            )
        body = self.rfile.read(length)
        self.unread = None if len(body) != length else 0
        if self.unread is None:
            raise ApiError(400, "incomplete_body", "the request body was cut short")
        return body

    def _form(self):
        body = self._read_body()
        ctype = self.headers.get_content_type()
        if ctype == "multipart/form-data":
            config = self.server.app.config
            return parse_form(
                self.headers["Content-Type"],
                body,
                config.max_form_parts,
                config.max_part_header_bytes,
            )
        if ctype == "application/json":
            try:
                data = json.loads(body or b"{}")
            except ValueError as e:
                raise ApiError(
                    400, "bad_json", f"the JSON body is invalid ({e})"
                ) from e
            if not isinstance(data, dict):
                raise ApiError(400, "bad_json", "the JSON body must be an object")
            return {k: str(v) for k, v in data.items() if v is not None}, {}
        raise ApiError(
            415,
            "unsupported_type",
            f"send multipart/form-data or application/json, not {ctype}",
        )

    def route_generate(self):
        app = self.server.app
        engine, config = app.engine, app.config
        forwarded = ",".join(self.headers.get_all("X-Forwarded-For") or ())
        app.limiter.take(
            client_key(self.client_address[0], forwarded, app.trusted_proxies)
        )
        fields, files = self._form()
        n = int_field(fields, "n", 1, 1, config.max_n)
        seed = int_field(fields, "seed", None, 0, MAX_SEED)
        seed = new_seed() if seed is None else seed
        decoder = fields.get("decoder") or config.decoder
        template = (
            engine.find_template(fields["template"]) if fields.get("template") else None
        )
        if "image" in files:
            filename, mime, data = files["image"]
            picture = engine.upload_picture(data, filename, mime)
        elif template is not None:
            picture = engine.template_picture(template)
        else:
            raise ApiError(
                400, "missing_input", "send an image file field or a template id"
            )
        memes = engine.caption(
            picture, n, decoder, template, seed, timeout=config.request_timeout_s
        )
        if not memes:
            raise ApiError(
                422,
                "no_clean_caption",
                "no caption passed the safety filter; try another seed",
            )
        from dank.render.meme import draw_meme

        out = []
        for meme in memes:
            drawn = draw_meme(picture.image, meme.top, meme.bottom, boxes=picture.boxes)
            token = engine.store.put(drawn)
            out.append(
                {
                    "top": meme.top,
                    "bottom": meme.bottom,
                    "score": round(meme.score, 4),
                    "url": f"/api/memes/{token}.png",
                }
            )
        first = engine.by_id.get(memes[0].template_id)
        self._send_json(
            {
                "image": picture.name,
                "template": _template_json(first) if first else None,
                "known": memes[0].known,
                "decoder": decoder,
                "seed": seed,
                "memes": out,
            }
        )


class Server(ThreadingHTTPServer):
    """The threaded HTTP server carrying the shared ``App``."""

    daemon_threads = True
    request_queue_size = 64
    handler = Handler  # A subclass with other routes serves another app (dank rate).

    def __init__(self, address, app):
        self.app = app
        super().__init__(address, self.handler)

    def handle_error(self, request, client_address):
        """Clients that hang up are routine; anything else goes to the log."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            log.debug("client %s went away", client_address[0])
        else:
            log.exception("connection from %s failed", client_address[0])

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(engine, host="127.0.0.1", port=0, config=None):
    """A ``Server`` bound to ``host:port`` (0 picks a free port) for ``engine``.

    The caller runs ``serve_forever()`` (in a thread, for tests) and
    ``shutdown()``; several servers may share one engine (one loaded model).
    """
    return Server((host, port), App(engine, config or engine.config))
