"""Progress for long commands: a bar with an ETA on a terminal, lines in logs.

Two tools, one rule: a terminal gets live feedback, a log (``make train >
log``, CI) gets a readable line now and then, never one per item.

* ``fit_verbosity`` picks ``model.fit``'s ``verbose`` for training.
* ``Progress`` (and ``track``, its iterator form) is everything else: data
  build stages, crawling, evaluation loops, export stages. On a terminal it
  redraws one stderr line, at most ``REDRAW_S`` apart::

      images  [########------------]   120/300 hashed  15.1/s  ETA 0:12

  and leaves the finished line behind. Elsewhere it writes nothing per item: a
  plain line at most every ``PLAIN_EVERY_S`` seconds, so a long stage shows it
  is alive, and a closing line only when it wrote one of those.

``DANK_PROGRESS=bar|plain|off`` overrides the terminal check (``off`` silences
progress everywhere; ``bar`` draws bars into a file, which tests use).
"""

import contextlib
import os
import sys
import time

REDRAW_S = 0.1  # Shortest time between two redraws of a terminal bar, seconds.
PLAIN_EVERY_S = 30.0  # Shortest time between two plain lines off a terminal.
BAR_WIDTH = 20  # Characters of the bar (when the total is known).
MODES = ("bar", "plain", "off")
ENV = "DANK_PROGRESS"


def is_terminal(stream):
    """True when ``stream`` is an interactive terminal."""
    return bool(getattr(stream, "isatty", lambda: False)())


def fit_verbosity(stream=None):
    """``model.fit``'s ``verbose``: 1 (a live bar with ETA) on a terminal, else 2.

    2 prints one line per epoch, which keeps logs (``make train > log``, CI)
    readable instead of filling them with carriage-return bars.
    """
    stream = sys.stdout if stream is None else stream
    return 1 if is_terminal(stream) else 2


def progress_mode(stream):
    """``"bar"`` on a terminal, else ``"plain"``; ``$DANK_PROGRESS`` overrides."""
    forced = os.environ.get(ENV, "").strip().lower()
    if forced in MODES:
        return forced
    return "bar" if is_terminal(stream) else "plain"


def format_duration(seconds):
    """``0:07``, ``12:34`` or ``1:02:03``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts work done and shows the count, rate and ETA (see the module doc).

    Args:
        label: what is being done, e.g. ``"images"`` or ``"export"``.
        total: how many items there will be; ``None`` when unknown (no bar, no ETA).
        unit: the word after the count, e.g. ``"captions"``.
        stream: where to write (default: ``sys.stderr`` at creation).
        mode: ``"bar"``, ``"plain"`` or ``"off"``; default ``progress_mode``.
        clock: seconds as a float (tests pass a fake one).
    """

    def __init__(
        self, label, total=None, unit="", stream=None, mode=None, clock=time.monotonic
    ):
        self.label, self.total, self.unit = label, total, unit
        self.stream = sys.stderr if stream is None else stream
        self.mode = progress_mode(self.stream) if mode is None else mode
        if self.mode not in MODES:
            raise ValueError(f"progress mode must be one of {MODES}, got {mode!r}")
        self.clock = clock
        self.done = 0
        self.note = ""
        self.start = self._last = clock()
        self._width = 0  # Length of the bar line drawn last (to blank it out).
        self._plain_lines = 0
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(stopped=exc_type is not None)

    def update(self, n=1, note=None):
        """Adds ``n`` items; ``note`` (e.g. the current stage's name) is shown too."""
        self.done += n
        if note is not None:
            self.note = note
        if self.mode == "off":
            return
        now = self.clock()
        if self.mode == "bar" and now - self._last >= REDRAW_S:
            self._draw(now)
        elif self.mode == "plain" and now - self._last >= PLAIN_EVERY_S:
            self._line(now)

    @contextlib.contextmanager
    def step(self, note):
        """Shows ``note`` while the block runs and counts one item when it ends
        (for commands made of a few long stages, e.g. ``dank export``)."""
        self.update(0, note=note)
        yield
        self.update()

    def close(self, stopped=False):
        """Finishes: a terminal keeps the final line; a log gets one if it got any.

        ``stopped``: the work ended early (an error), which the line says.
        """
        if self._closed:
            return
        self._closed = True
        now, final = self.clock(), "stopped" if stopped else "done"
        if self.mode == "bar":
            self._draw(now, final)
            self.stream.write("\n")
            self.stream.flush()
        elif self.mode == "plain" and self._plain_lines:
            self._line(now, final)

    def rate(self, now=None):
        """Items per second since the start."""
        elapsed = (self.clock() if now is None else now) - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def eta(self, now=None):
        """Seconds left at the mean rate so far; ``None`` when it cannot be told."""
        rate = self.rate(now)
        if self.total is None or rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / rate)

    def describe(self, now=None, final=None):
        """The status text: count, bar, rate, and the ETA; or, with ``final``
        (``"done"`` or ``"stopped"``), the time taken."""
        now = self.clock() if now is None else now
        parts = [self.label]
        count = f"{self.done:,}"
        if self.total is not None:
            filled = int(BAR_WIDTH * min(1.0, self.done / max(self.total, 1)))
            parts.append("[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "]")
            count += f"/{self.total:,}"
        parts.append(f"{count} {self.unit}".rstrip())
        if self.note:
            parts.append(self.note)
        rate = self.rate(now)
        if rate > 0 and self.done:
            parts.append(f"{rate:,.1f}/s" if rate < 100 else f"{rate:,.0f}/s")
        if final:
            took = "done in" if final == "done" else "stopped after"
            parts.append(f"{took} {format_duration(now - self.start)}")
        else:
            eta = self.eta(now)
            if eta is not None:
                parts.append(f"ETA {format_duration(eta)}")
        return "  ".join(parts)

    def _draw(self, now, final=None):
        text = self.describe(now, final)
        self.stream.write("\r" + text + " " * max(0, self._width - len(text)))
        self.stream.flush()
        self._width, self._last = len(text), now

    def _line(self, now, final=None):
        self.stream.write(self.describe(now, final) + "\n")
        self.stream.flush()
        self._plain_lines += 1
        self._last = now


def track(items, label, total=None, unit="", **options):
    """Yields from ``items`` while a ``Progress`` counts them.

    ``total`` defaults to ``len(items)`` when ``items`` has a length; other
    keyword arguments go to ``Progress``. The progress closes when the loop ends
    (or breaks).
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)
    with Progress(label, total, unit, **options) as progress:
        for item in items:
            yield item
            progress.update()
