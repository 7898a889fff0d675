"""``dank rate``'s local web form, on ``dank serve``'s server and request handling.

Plain HTML forms and no script: ``GET /`` shows the next meme with the two
questions, ``POST /rate`` saves the answer and redirects back, and when every
meme is rated the page reveals which were real and the session ends.
"""

import html
import threading

from dank.apps.rate.session import FUNNY, reveal_lines, summary_text
from dank.apps.serve.app import PAGE_CSP, Handler, Server
from dank.apps.serve.checks import ApiError
from dank.apps.serve.config import ServeConfig
from dank.core.errors import DankError

STYLE = b"""body{font-family:system-ui,sans-serif;margin:0 auto;max-width:40rem;
padding:1rem;line-height:1.4}img{max-width:100%;height:auto;display:block;
margin:0 auto 1rem}fieldset{border:1px solid #ccc;margin:0 0 1rem}
label{margin-right:1rem;white-space:nowrap}button{font-size:1.1rem;
padding:.4rem 1.5rem}.error{color:#b00020}.progress{color:#555}
pre{white-space:pre-wrap}
"""


class RateApp:
    """What the handlers share: the session, the memes, and the end signal."""

    def __init__(self, session, memes, config=None):
        self.session = session
        self.memes = memes
        self.config = config or ServeConfig()  # The server's limits and timeouts.
        self.lock = threading.Lock()  # One answer at a time (the CSV rewrite).
        self.done = threading.Event()  # Set once the results page was sent.


def _page(title, body):
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        '<link rel="stylesheet" href="/rate.css"></head>'
        f"<body><main>{body}</main></body></html>"
    ).encode()


def question_page(session, item, error=None):
    """The form for ``item``: real or generated, and how funny."""
    funny = "".join(
        f'<label><input type="radio" name="funny" value="{k}" required> {k}</label>'
        for k in FUNNY
    )
    problem = f'<p class="error">{html.escape(error)}</p>' if error else ""
    alt = html.escape(f"a meme: {item.top} / {item.bottom}")
    return _page(
        "Real or generated?",
        f"""
<h1>Real or generated?</h1>
<p class="progress">Meme {session.position(item)} of {len(session.items)}</p>
{problem}<img src="/memes/{item.id}.png" alt="{alt}">
<form method="post" action="/rate" enctype="multipart/form-data">
<input type="hidden" name="item" value="{item.id}">
<fieldset><legend>Was this caption written by a person, or generated?</legend>
<label><input type="radio" name="answer" value="real" required> real</label>
<label><input type="radio" name="answer" value="generated"> generated</label>
</fieldset>
<fieldset><legend>How funny is it? (1 = not at all, 5 = very)</legend>
{funny}</fieldset>
<button type="submit">Next</button>
</form>""",
    )


def results_page(session):
    """The end: the rater's score and which memes were real."""
    text = summary_text(session.summary())
    lines = "\n".join(reveal_lines(session))
    return _page(
        "Thank you",
        f"""
<h1>Thank you</h1><pre>{html.escape(text)}</pre>
<h2>Which were real</h2><pre>{html.escape(lines)}</pre>
<p>You can close this page.</p>""",
    )


class RateHandler(Handler):
    """The rating form's routes on ``dank serve``'s handler (JSON errors, limits)."""

    ROUTES = (  # (method, path, regex, handler name)
        ("GET", "/", r"/", "page"),
        ("POST", "/rate", r"/rate", "rate"),
        ("GET", "/memes/{id}.png", r"/memes/([0-9a-f]{12})\.png", "meme"),
        ("GET", "/rate.css", r"/rate\.css", "style"),
    )

    def _send_page(self, body, status=200):
        self._send(
            status,
            body,
            "text/html; charset=utf-8",
            {"Cache-Control": "no-store", "Content-Security-Policy": PAGE_CSP},
        )

    def route_page(self):
        app = self.server.app
        with app.lock:
            pending = app.session.pending()
            if pending:
                app.session.shown(pending[0])
        if pending:
            self._send_page(question_page(app.session, pending[0]))
            return
        self._send_page(results_page(app.session))
        app.done.set()

    def route_rate(self):
        app = self.server.app
        fields, _ = self._form()
        item_id = fields.get("item", "")
        with app.lock:
            try:
                app.session.record(item_id, fields.get("answer"), fields.get("funny"))
            except DankError as e:
                item = app.session.by_id.get(item_id)
                if item is None or item_id in app.session.log.rated(app.session.rater):
                    raise ApiError(409, "stale_form", f"{e}; reload the page") from e
                self._send_page(question_page(app.session, item, str(e)), 400)
                return
        self._send(303, b"", "text/plain", {"Location": "/"})

    def route_meme(self, item_id):
        app = self.server.app
        item = app.session.by_id.get(item_id)
        if item is None:
            raise ApiError(404, "unknown_item", f"no meme {item_id} in this session")
        self._send(
            200,
            app.memes.png(item),
            "image/png",
            {"Cache-Control": "private, max-age=3600"},
        )

    def route_style(self):
        self._send(200, STYLE, "text/css; charset=utf-8", {"Cache-Control": "no-cache"})


class RateServer(Server):
    """A threaded server for one rating session (``server.app.done`` ends it)."""

    handler = RateHandler


def make_rate_server(session, memes, host="127.0.0.1", port=0):
    """A ``RateServer`` on ``host:port`` (0 picks a free port); caller serves it."""
    return RateServer((host, port), RateApp(session, memes))
