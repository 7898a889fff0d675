"""A local mirror of imgflip- and memegenerator-style pages, for offline crawls.

Renders a slice of a source folder (``data/starter``, ``../shared/data/memes``
or ``dank.data.synthetic.make_source``) with the markup the spiders follow
(``spiders/dank_spiders/spiders/*.py``) and serves it with ``http.server`` on
127.0.0.1 only, from a thread. ``Faults`` switches on failures a real crawl
meets; ``Mirror.expected(site)`` says which captions a correct crawl recovers.

    python -m tools.mirror_site --source data/starter --templates 3 --captions 20
    # -> serving http://127.0.0.1:PORT/ ; then, in another shell:
    dank scrape imgflip --base-url http://127.0.0.1:PORT/ --out /tmp/crawl --no-throttle
"""

import argparse
import contextlib
import html
import json
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from dank.data.sources import check_source, read_rows
from dank_spiders.text import caption_key, clean_boxes

PREFIXES = ("imgflip-", "mgnet-", "memegenlink-")
TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
}


@dataclass(frozen=True)
class Faults:
    """Failures the mirror injects; each names who is hit (see ``Mirror.expected``)."""

    server_errors: bool = False  # First hit of every stream/caption page is a 500
    # (a retry recovers it); imgflip post 0 of template 0 is always a 500 (lost).
    timeouts: bool = False  # First hit of imgflip post 1 of template 0 and of
    # memegenerator caption page 1 of template 0 stalls ``stall_s`` (then retried).
    truncated_image: bool = False  # Template 0's image is cut in half.
    oversized_image: bool = False  # Template 1's image is padded to ``oversize_bytes``.
    malformed_html: bool = False  # Template 1's post 0 has broken but readable markup;
    # its post 1 is cut off before the caption (lost). Memegenerator pages lose
    # their end tags.
    robots_disallow: bool = False  # robots.txt disallows the last template's captions.
    pagination_loop: bool = False  # Each stream's last "next" points back to page 1;
    # memegenerator listings repeat page 1 past their end.
    offsite_redirect: bool = False  # imgflip post 2 of template 0 and memegenerator
    # caption page 2 of template 0 redirect to http://localhost:<canary>/ (lost).
    stall_s: float = 3.0  # Seconds a stalled page waits (client timeout must be less).
    oversize_bytes: int = 9 * 2**20  # Bytes of the oversized image.

    @classmethod
    def all(cls, **kwargs):
        """Every switch on."""
        return cls(
            **{f.name: True for f in fields(cls) if f.type in (bool, "bool")}, **kwargs
        )


@dataclass
class Post:
    """One caption on the mirror."""

    post_id: str  # imgflip /i/<id>, memegenerator /instance/<id>.
    boxes: list  # Box texts as in the source.
    score: int  # Upvotes.
    views: int | None  # Views, when the source has them.


@dataclass
class Template:
    """One template on the mirror."""

    template_id: str  # Id in the source folder.
    slug: str  # URL slug (the id without its site prefix).
    name: str
    alt_names: str
    imgflip_id: str
    image: bytes
    ext: str  # ".jpg", ".png", ...
    posts: list = field(default_factory=list)


def slug_of(template_id):
    """ "imgflip-Success-Kid" -> "Success-Kid"."""
    for prefix in PREFIXES:
        if template_id.startswith(prefix):
            return template_id[len(prefix) :]
    return template_id


def _int(value, default=0):
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def load_slice(source, n_templates=3, captions_per_template=20):
    """The first ``n_templates`` templates (by id) with an image and captions.

    Captions are kept in source order, up to ``captions_per_template`` each;
    skipped: empty ones, repeats (same key as the crawl's dedupe), and ones
    with a ';' (imgflip's post page joins boxes with ';', so they would split).
    """
    templates_csv, captions_csv = check_source(source)
    rows = [
        r
        for r in read_rows(templates_csv, ("template_id", "name", "image_file"))
        if r["image_file"] and (Path(source) / r["image_file"]).is_file()
    ]
    by_id = {r["template_id"]: r for r in rows}
    posts, keys = {}, set()
    for row in read_rows(captions_csv, ("template_id", "top", "bottom", "score")):
        tid = row["template_id"]
        if tid not in by_id or len(posts.setdefault(tid, [])) >= captions_per_template:
            continue
        extra = json.loads(row.get("extra_boxes_json") or "[]")
        boxes = [row["top"], row["bottom"], *extra]
        key = caption_key(tid, clean_boxes(boxes))
        if not key[1] or key in keys or any(";" in b for b in boxes):
            continue
        keys.add(key)
        views = _int(row.get("views"), None)
        posts[tid].append(Post("", boxes, max(0, _int(row["score"])), views))
    chosen = sorted(t for t, p in posts.items() if p)[:n_templates]
    out = []
    for i, tid in enumerate(chosen):
        row = by_id[tid]
        path = Path(source) / row["image_file"]
        for j, post in enumerate(posts[tid]):
            post.post_id = f"t{i}p{j}"
        out.append(
            Template(
                tid,
                slug_of(tid),
                row["name"],
                row.get("alt_names") or "",
                row.get("imgflip_id") or "",
                path.read_bytes(),
                path.suffix.lower(),
                posts[tid],
            )
        )
    if not out:
        raise ValueError(f"{source} has no template with both an image and captions")
    return out


def ranked(template):
    """A template's posts, most upvoted first (the order both sites list them in)."""
    return sorted(template.posts, key=lambda p: -p.score)


def _e(text):
    return html.escape(str(text), quote=True)


def _page(body, title="", broken=False):
    doc = f"<!DOCTYPE html><html><head><title>{_e(title)}</title></head><body>{body}"
    return doc if broken else doc + "</body></html>"


class Mirror:
    """The mirror site. Use as a context manager: ``with Mirror(slice) as m: m.url``.

    Args:
        templates: from ``load_slice``.
        faults: which failures to inject.
        per_page: posts per imgflip stream page and captions per memegenerator page.
        templates_per_page: templates per listing page.
    """

    def __init__(self, templates, faults=Faults(), per_page=5, templates_per_page=2):
        self.templates, self.faults = templates, faults
        self.per_page, self.templates_per_page = per_page, templates_per_page
        self.by_slug = {t.slug: t for t in templates}
        self.posts = {p.post_id: (t, p) for t in templates for p in t.posts}
        self.hits = Counter()  # Path (with query) -> requests served.
        self.canary_hits = Counter()  # Requests that reached the off-site canary.
        self._lock = threading.Lock()

    # Which posts a fault takes away; everything else must be recovered.
    def lost(self, site):
        """Post ids a correct crawl of ``site`` ("imgflip", "memegenerator") misses."""
        f, t = self.faults, self.templates
        lost = set()
        if f.robots_disallow:
            lost |= {p.post_id for p in t[-1].posts}
        if site == "imgflip":
            first = t[0].posts
            if f.server_errors:
                lost.add(first[0].post_id)
            if f.offsite_redirect and len(first) > 2:
                lost.add(first[2].post_id)
            if f.malformed_html and len(t) > 1 and len(t[1].posts) > 1:
                lost.add(t[1].posts[1].post_id)
        elif f.offsite_redirect:
            lost |= {p.post_id for p in ranked(t[0])[self.per_page :]}  # Page 2 on.
        return lost

    def expected(self, site):
        """``{template_id: {(boxes, score)}}``: what a correct crawl yields."""
        lost, out = self.lost(site), {}
        for t in self.templates:
            tid = (
                f"imgflip-{t.slug}" if site == "imgflip" else f"mgnet-{t.slug.lower()}"
            )
            for p in t.posts:
                if p.post_id in lost:
                    continue
                boxes = clean_boxes(p.boxes)
                if site == "memegenerator":
                    boxes = [" ".join(b for b in boxes if b)]
                boxes += [""] * (2 - len(boxes))
                out.setdefault(tid, set()).add((tuple(boxes), p.score))
        return out

    # Pages.
    def robots(self):
        lines = ["User-agent: *", "Disallow: /private/"]
        if self.faults.robots_disallow:
            slug = self.templates[-1].slug
            lines += [f"Disallow: /meme/{slug}", f"Disallow: /{slug}/images/"]
        return "\n".join(lines) + "\n"

    def _chunk(self, items, page, size):
        return items[(page - 1) * size : page * size], page * size < len(items)

    def listing(self, page):
        chunk, more = self._chunk(self.templates, page, self.templates_per_page)
        boxes = "".join(
            f"<div class='mt-box'><h3 class='mt-title'><a href='/meme/{_e(t.slug)}'>"
            f"{_e(t.name)}</a></h3><a href='/memetemplate/{_e(t.slug)}'>Blank Template"
            "</a></div>"
            for t in chunk
        )
        pager = f"<a class='pager-next' href='/memetemplates?page={page + 1}'>Next</a>"
        return _page(boxes + (pager if more else ""), "Meme Templates")

    def template_page(self, t):
        return _page(
            f"<h1 id='mtm-title'>{_e(t.name)} Meme Template</h1>"
            f"<div id='mtm-subtitle'>also called: {_e(t.alt_names)}</div>"
            f"<img id='mtm-img' src='/img/{_e(t.slug)}{t.ext}'>"
            f"<div id='mtm-info'><p>Template ID: {_e(t.imgflip_id or 0)}</p>"
            f"<p>Format: {t.ext[1:]}</p></div>",
            t.name,
        )

    def stream(self, t, page):
        chunk, more = self._chunk(ranked(t), page, self.per_page)
        units = "".join(
            f"<div class='base-unit clearfix'><h2 class='base-unit-title'>"
            f"<a href='/i/{p.post_id}'>{_e(t.name)}</a></h2><a href='/i/{p.post_id}'>"
            f"<img class='base-img' alt='{_e(t.name)} Meme | {_e(' '.join(p.boxes))} | "
            f"made w/ Imgflip meme maker'></a><div class='base-view-count'>"
            f"{p.views or 0:,} views, {p.score:,} upvotes</div></div>"
            for p in chunk
        )
        if more:
            nxt = f"/meme/{t.slug}?page={page + 1}"
        elif self.faults.pagination_loop:
            nxt = f"/meme/{t.slug}?page=1"  # Back to the start: a loop.
        else:
            nxt = ""
        pager = f"<div class='pager'><a class='pager-next' href='{nxt}'>Next</a></div>"
        return _page(f"<div id='base-left'>{units}</div>{pager if nxt else ''}", t.name)

    def post(self, t, p, index):
        votes = f"<span class='img-votes'>{p.score:,} upvotes</span>" if p.score else ""
        views = f"<span class='img-views'>{p.views:,} views</span>" if p.views else ""
        boxes = _e("; ".join(p.boxes))
        desc = f"<div class='img-desc'><b>IMAGE DESCRIPTION:</b><br>{boxes}</div>"
        info = (
            f"<div class='img-info'>{views}{votes}by <a class='u-username'>u</a></div>"
        )
        second = f"<div id='img-secondary'><a class='recaption' href='/memegenerator/{_e(t.slug)}'>Caption</a></div>"  # noqa: E501
        head = f"<h1 id='img-title'>{_e(t.name)}</h1><img id='im' src='/img/{_e(t.slug)}{t.ext}'>"  # noqa: E501
        broken = (
            self.faults.malformed_html
            and t is self.templates[min(1, len(self.templates) - 1)]
        )
        if broken and index == 0:  # Unclosed tags and stray end tags, still readable.
            return _page(
                f"<div><p>{head}<div class='img-info'>{views}{votes}</span></p>"
                f"</div></div>{second.replace('</div>', '')}{desc[:-6]}<div <<",
                t.name,
                broken=True,
            )
        if broken and index == 1:  # Cut off before the caption.
            return _page(f"{head}{info}{second}<div class='img-d", t.name, broken=True)
        return _page(head + info + second + desc, t.name)

    def mg_listing(self, page):
        real = self._chunk(self.templates, page, self.templates_per_page)[0]
        if not real and self.faults.pagination_loop:
            real = self._chunk(self.templates, 1, self.templates_per_page)[0]
        tiles = "".join(
            f"<div class='char-img'><a href='/{_e(t.slug)}'><img src='/img/{_e(t.slug)}"
            f"{t.ext}' alt='{_e(t.name)}'></a></div>"
            f"<div class='char-stat-images'>{len(t.posts):,} Posts</div>"
            for t in real
        )
        return _page(tiles, "Popular Memes", broken=self.faults.malformed_html)

    def mg_captions(self, t, page):
        chunk = self._chunk(ranked(t), page, self.per_page)[0]
        tiles = "".join(
            f"<div class='char-img'><a href='/instance/{p.post_id}'><img alt='"
            f"{_e(t.name)} - {_e(' '.join(b for b in p.boxes if b.strip()))}'>"
            "</a></div>"
            f"<div class='score-box'><div class='score'>{p.score}</div></div>"
            for p in chunk
        )
        return _page(tiles, t.name, broken=self.faults.malformed_html)

    # Serving.
    def route(self, path, query, hits=0):
        """``(status, content_type, body, headers)``; ``hits``: earlier requests."""
        f = self.faults
        html_type = "text/html; charset=utf-8"
        page = _int(parse_qs(query).get("page", ["1"])[0], 1)
        parts = [p for p in path.split("/") if p]
        if path == "/robots.txt":
            return 200, "text/plain", self.robots().encode(), {}
        if parts == ["memetemplates"]:
            return 200, html_type, self.listing(page).encode(), {}
        if parts[:3] == ["memes", "popular", "alltime"]:
            return 200, html_type, self.mg_listing(_int(parts[-1], 1)).encode(), {}
        if len(parts) == 2 and parts[0] == "img":
            t = self.by_slug.get(parts[1].rsplit(".", 1)[0])
            if t is None:
                return 404, "text/plain", b"no such image", {}
            data = t.image
            if f.truncated_image and t is self.templates[0]:
                data = data[: len(data) // 2]
            if (
                f.oversized_image
                and t is self.templates[min(1, len(self.templates) - 1)]
            ):
                data = data + b"\0" * max(0, f.oversize_bytes - len(data))
            return 200, TYPES.get(t.ext, "application/octet-stream"), data, {}
        if (
            len(parts) == 2
            and parts[0] in ("meme", "memetemplate")
            and parts[1] in self.by_slug
        ):
            t = self.by_slug[parts[1]]
            if parts[0] == "memetemplate":
                return 200, html_type, self.template_page(t).encode(), {}
            if f.server_errors and hits == 0:
                return 500, "text/plain", b"try again", {}
            return 200, html_type, self.stream(t, page).encode(), {}
        if len(parts) == 2 and parts[0] == "i" and parts[1] in self.posts:
            t, p = self.posts[parts[1]]
            index = t.posts.index(p)
            if t is self.templates[0]:
                if f.server_errors and index == 0:
                    return 500, "text/plain", b"broken for good", {}
                if f.timeouts and index == 1 and hits == 0:
                    time.sleep(f.stall_s)
                if f.offsite_redirect and index == 2:
                    return 302, "text/plain", b"", {"Location": self.offsite_url(path)}
            return 200, html_type, self.post(t, p, index).encode(), {}
        if len(parts) >= 4 and parts[1:4] == ["images", "popular", "alltime"]:
            t = self.by_slug.get(parts[0])
            if t is not None:
                mg_page = _int(parts[-1], 1) if len(parts) == 6 else 1
                first = t is self.templates[0]
                if f.timeouts and first and mg_page == 1 and hits == 0:
                    time.sleep(f.stall_s)  # Stalls instead of the 500 below.
                elif f.server_errors and hits == 0:
                    return 500, "text/plain", b"try again", {}
                if first and f.offsite_redirect and mg_page == 2:
                    return 302, "text/plain", b"", {"Location": self.offsite_url(path)}
                return 200, html_type, self.mg_captions(t, mg_page).encode(), {}
        return 404, "text/plain", b"not found", {}

    def offsite_url(self, path):
        return f"http://localhost:{self._canary.server_address[1]}{path}"

    def _handler(self, counter):
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # Keep-alive, as real sites do.

            def do_GET(self):  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                key = parts.path + ("?" + parts.query if parts.query else "")
                with mirror._lock:
                    hits = counter[key]
                    counter[key] += 1
                if counter is mirror.canary_hits:
                    status, ctype, body, headers = 200, "text/plain", b"off-site!", {}
                else:
                    status, ctype, body, headers = mirror.route(
                        parts.path, parts.query, hits
                    )
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # The client gave up (a timeout fault).

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(self.hits))
        self._canary = ThreadingHTTPServer(
            ("127.0.0.1", 0), self._handler(self.canary_hits)
        )
        self._server.daemon_threads = self._canary.daemon_threads = True
        for server in (self._server, self._canary):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        return self

    def __exit__(self, *exc):
        for server in (self._server, self._canary):
            server.shutdown()
            server.server_close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source", required=True, help="source folder (templates.csv, ...)"
    )
    parser.add_argument(
        "--templates", type=int, default=3, help="templates in the slice"
    )
    parser.add_argument(
        "--captions", type=int, default=20, help="captions per template"
    )
    parser.add_argument("--per-page", type=int, default=5, help="posts per page")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=[f.name for f in fields(Faults) if f.type in (bool, "bool")],
        help="inject a fault (repeatable)",
    )
    args = parser.parse_args(argv)
    faults = Faults(**{name: True for name in args.fault})
    with Mirror(
        load_slice(args.source, args.templates, args.captions), faults, args.per_page
    ) as mirror:
        print(f"serving {mirror.url} (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
