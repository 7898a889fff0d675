"""The HTTP server: routes, JSON errors and the page, on ``ThreadingHTTPServer``.

Why the standard library and not Starlette/FastAPI: the server is a local tool
in front of one model that only one thread may run at a time, so an async
framework buys nothing here, and the standard library adds no dependency to
pin and install (the project's CI installs exactly setup.cfg). What a framework
would have given is done by hand, in one place: multipart parsing
(``email.parser``), limits (``checks``), JSON errors for everything including
``http.server``'s own (``send_error``), and the OpenAPI document (``openapi``).
"""

import json
import logging
import re
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from dank.data.catalogue import normalize_name
from dank.serve.checks import ApiError, RateLimiter, int_field, parse_form
from dank.serve.engine import MAX_SEED, new_seed
from dank.serve.openapi import openapi

log = logging.getLogger(__name__)

STATIC = {  # URL path -> (file in dank/serve/static, content type). Nothing else.
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
PAGE_CSP = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
            "script-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'")
DEFAULT_LIMIT = 60  # Templates listed when the client does not say.
# An upload up to this many times the limit is read and dropped before the 413,
# since many clients only read an answer once they have sent their body; past
# it the connection is closed unread.
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
        if not query or any(query in k.lower() for k in keys) or (
            norm and any(norm in normalize_name(k) for k in keys)
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
        files = resources.files("dank.serve") / "static"
        self.static = {path: ((files / name).read_bytes(), ctype)
                       for path, (name, ctype) in STATIC.items()}
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
        ("GET", "/api/templates/{id}/image", r"/api/templates/([^/]+)/image",
         "template_image"),
        ("GET", "/api/memes/{token}.png", r"/api/memes/([A-Za-z0-9_-]{1,64})\.png",
         "meme"),
        ("GET", "/healthz", r"/healthz", "healthz"),
        ("GET", "/openapi.json", r"/openapi.json", "spec"),
        *(("GET", path, re.escape(path), "static") for path in STATIC),
    )

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        self.query = urllib.parse.parse_qs(url.query)
        self.body_read = method != "POST"
        try:
            for want, _, pattern, name in self.ROUTES:
                match = re.fullmatch(pattern, url.path)
                if match and want == method:
                    getattr(self, "route_" + name)(*map(urllib.parse.unquote,
                                                        match.groups()))
                    return
            if any(re.fullmatch(p, url.path) for _, _, p, _ in self.ROUTES):
                raise ApiError(405, "method_not_allowed",
                               f"{method} is not allowed on {url.path}")
            raise ApiError(404, "not_found", f"no such page or API route: {url.path}")
        except ApiError as e:
            self._send_error(e)
        except TimeoutError:
            self._send_error(ApiError(408, "request_timeout",
                                      "the request body arrived too slowly"))
        except Exception:
            log.exception("%s %s failed", method, url.path)
            self._send_error(ApiError(500, "internal",
                                      "internal error; the server log has details"))

    # Responses --------------------------------------------------------------------

    def _send(self, status, body, content_type, headers=None):
        if not self.body_read:  # Unread body would corrupt the next request.
            self.close_connection = True
        self.send_response(status)
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

    def _send_json(self, data, status=200):
        self._send(status, json.dumps(data, ensure_ascii=False).encode(),
                   "application/json", {"Cache-Control": "no-store"})

    def _send_error(self, error):
        self._send(error.status, error.body(), "application/json",
                   {"Cache-Control": "no-store", **error.headers})

    def send_error(self, code, message=None, explain=None):
        """``http.server``'s own errors (bad request line, 501...) as JSON too."""
        self.body_read = False
        if self.request_version == "HTTP/0.9":  # Unparsed line: answer in 1.x.
            self.request_version = "HTTP/1.0"
        text = message or self.responses.get(code, ("error",))[0]
        self._send_error(ApiError(code, "http_error", text))

    def log_message(self, format, *args):
        log.debug("%s %s", self.client_address[0], format % args)

    # Routes -----------------------------------------------------------------------

    def route_static(self):
        body, ctype = self.server.app.static[urllib.parse.urlsplit(self.path).path]
        self._send(200, body, ctype, {"Cache-Control": "no-cache",
                                      "Content-Security-Policy": PAGE_CSP})

    def route_spec(self):
        self._send(200, self.server.app.spec, "application/json")

    def route_healthz(self):
        engine = self.server.app.engine
        self._send_json({"status": "ok", "run": engine.run_dir.name,
                         "templates": len(engine.catalogue),
                         "decoder": engine.config.decoder,
                         "max_n": engine.config.max_n,
                         "renders": len(engine.store),
                         "mean_batch": engine.mean_batch()})

    def route_templates(self):
        catalogue = self.server.app.engine.catalogue
        fields = {k: v[-1] for k, v in self.query.items()}
        limit = int_field(fields, "limit", DEFAULT_LIMIT, 1, 1000)
        total, found = search_templates(catalogue, fields.get("q", ""), limit)
        self._send_json({"total": total,
                         "templates": [_template_json(t) for t in found]})

    def route_template_image(self, template_id):
        body = self.server.app.engine.template_thumbnail(template_id)
        self._send(200, body, "image/jpeg", {"Cache-Control": "max-age=3600"})

    def route_meme(self, token):
        body = self.server.app.engine.store.get(token)
        if body is None:
            raise ApiError(404, "unknown_meme",
                           "no such meme (they expire); generate it again")
        headers = {"Cache-Control": "private, max-age=600"}
        if self.query.get("download"):
            name = f"meme-{token[:8]}.png"
            headers["Content-Disposition"] = f'attachment; filename="{name}"'
        self._send(200, body, "image/png", headers)

    def _read_body(self):
        limit = self.server.app.config.max_upload_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise ApiError(411, "length_required",
                           "chunked uploads are not supported; send Content-Length")
        raw = self.headers.get("Content-Length")
        if raw is None or not raw.strip().isdigit():
            raise ApiError(411, "length_required", "send a Content-Length header")
        length = int(raw)
        if length > limit:
            if length <= DRAIN_FACTOR * limit:  # So the client can read the 413.
                while length > 0:
                    length -= len(self.rfile.read(min(length, 2**20))) or length
                self.body_read = True
            raise ApiError(413, "upload_too_large",
                           f"the request is {length:,} bytes; the limit is "
                           f"{limit:,} ({limit // 2**20} MiB)")
        body = self.rfile.read(length)
        if len(body) != length:
            raise ApiError(400, "incomplete_body", "the request body was cut short")
        self.body_read = True
        return body

    def _form(self):
        body = self._read_body()
        ctype = self.headers.get_content_type()
        if ctype == "multipart/form-data":
            return parse_form(self.headers["Content-Type"], body)
        if ctype == "application/json":
            try:
                data = json.loads(body or b"{}")
            except ValueError as e:
                raise ApiError(400, "bad_json", f"the JSON body is invalid ({e})"
                               ) from e
            if not isinstance(data, dict):
                raise ApiError(400, "bad_json", "the JSON body must be an object")
            return {k: str(v) for k, v in data.items() if v is not None}, {}
        raise ApiError(415, "unsupported_type",
                       f"send multipart/form-data or application/json, not {ctype}")

    def route_generate(self):
        app = self.server.app
        engine, config = app.engine, app.config
        app.limiter.take(self.client_address[0])
        fields, files = self._form()
        n = int_field(fields, "n", 1, 1, config.max_n)
        seed = int_field(fields, "seed", None, 0, MAX_SEED)
        seed = new_seed() if seed is None else seed
        decoder = fields.get("decoder") or config.decoder
        template = (engine.find_template(fields["template"])
                    if fields.get("template") else None)
        if "image" in files:
            filename, mime, data = files["image"]
            picture = engine.upload_picture(data, filename, mime)
        elif template is not None:
            picture = engine.template_picture(template)
        else:
            raise ApiError(400, "missing_input",
                           "send an image file field or a template id")
        memes = engine.caption(picture, n, decoder, template, seed,
                               timeout=config.request_timeout_s)
        if not memes:
            raise ApiError(422, "no_clean_caption",
                           "no caption passed the safety filter; try another seed")
        from dank.render.meme import draw_meme

        out = []
        for meme in memes:
            drawn = draw_meme(picture.image, meme.top, meme.bottom, boxes=picture.boxes)
            token = engine.store.put(drawn)
            out.append({"top": meme.top, "bottom": meme.bottom,
                        "score": round(meme.score, 4),
                        "url": f"/api/memes/{token}.png"})
        first = engine.by_id.get(memes[0].template_id)
        self._send_json({
            "image": picture.name,
            "template": _template_json(first) if first else None,
            "known": memes[0].known,
            "decoder": decoder,
            "seed": seed,
            "memes": out,
        })


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
