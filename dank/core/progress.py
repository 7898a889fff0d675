"""Progress for long commands: a bar with an ETA on a terminal, lines in logs.

Two tools, one rule: a terminal gets live feedback, a log (``make train >
log``, CI) gets a readable line now and then, never one per item.

* ``fit_verbosity`` picks ``model.fit``'s ``verbose`` for training.
* ``Progress`` (and ``track``, its iterator form) is everything else: data
  build stages, crawling, evaluation loops, export stages. On a terminal it is
  a ``rich.progress`` bar on stderr, redrawn ``1 / REDRAW_S`` times a second
  by rich's own thread (so a long step's clock keeps ticking)::

      images  ━━━━━━━━╺━━━━━━━━━━━  4/10 hashed  2.0/s  ETA  00:03

  and leaves the finished line behind (``...  done in  0:00:05``). Elsewhere it
  writes nothing per item and no control codes: a plain line at most every
  ``PLAIN_EVERY_S`` seconds, so a long stage shows it is alive, and a closing
  line only when it wrote one of those. (Rich alone would print nothing until
  the end off a terminal.)

``DANK_PROGRESS=bar|plain|off`` overrides the terminal check (``off`` silences
progress everywhere; ``bar`` draws bars into a file, which tests use).
"""

import contextlib
import os
import sys
import time

import rich.progress
from rich.console import Console
from rich.text import Text

REDRAW_S = 0.1  # Shortest time between two redraws of a terminal bar, seconds.
PLAIN_EVERY_S = 30.0  # Shortest time between two plain lines off a terminal.
BAR_WIDTH = 20  # Characters of the bar (when the total is known).
LINE_WIDTH = 1000  # Characters a plain line may take before rich would wrap it.
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


class _Rate(rich.progress.ProgressColumn):
    """Items per second (rich's speed columns are for bytes, or hide it under a
    known total)."""

    def render(self, task):
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("")
        text = f"{speed:,.1f}/s" if speed < 100 else f"{speed:,.0f}/s"
        return Text(text, style="progress.data.speed")


def _text(template):
    """A column of ``template`` formatted with ``task``, taken literally (no markup)."""
    return rich.progress.TextColumn(template, markup=False)


class _Columns(rich.progress.Progress):
    """Rich's progress with two spaces between the parts, so multi-word labels
    and units stay readable (and a log line splits cleanly)."""

    def make_tasks_table(self, tasks):
        table = super().make_tasks_table(tasks)
        table.padding = (0, 1)  # Grid cells collapse padding: 1 + 1 = two spaces.
        table.collapse_padding = False
        return table


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
        self._bar = _Columns(
            *self._columns(),
            console=Console(file=self.stream, force_terminal=self.mode == "bar"),
            get_time=clock,
            refresh_per_second=1 / REDRAW_S,
            redirect_stdout=False,  # Leave sys.stdout/err alone: the stream
            redirect_stderr=False,  # is given, and bars may nest.
        )
        self._task = self._bar.add_task(label, total=total, note="")
        self._last = clock()
        self._plain_lines = 0
        self._closed = False
        if self.mode == "bar":
            self._bar.start()

    def _columns(self, final=None):
        counted = self.total is not None
        count = "{task.completed:,.0f}" + ("/{task.total:,.0f}" if counted else "")
        unit = self.unit.replace("{", "{{").replace("}", "}}")
        if final is None:
            eta = rich.progress.TimeRemainingColumn(compact=True)
            clock = [_text("ETA"), eta] if counted else []
        else:
            clock = [_text(final), rich.progress.TimeElapsedColumn()]
        return [
            _text("{task.description}"),
            *(
                [rich.progress.BarColumn(bar_width=BAR_WIDTH)]
                if counted and self.mode == "bar"
                else []
            ),
            _text(f"{count} {unit}".rstrip()),
            _text("{task.fields[note]}"),
            _Rate(),
            *clock,
        ]

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(stopped=exc_type is not None)

    @property
    def done(self):
        """Items counted so far."""
        return int(self._bar.tasks[0].completed)

    def update(self, n=1, note=None):
        """Adds ``n`` items; ``note`` (e.g. the current stage's name) is shown too."""
        fields = {} if note is None else {"note": note}
        self._bar.update(self._task, advance=n, **fields)
        if self.mode == "plain":
            now = self.clock()
            if now - self._last >= PLAIN_EVERY_S:
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
        self._bar.stop_task(self._task)  # Freezes the elapsed time.
        self._bar.columns = self._columns("stopped after" if stopped else "done in")
        if self.mode == "bar":
            self._bar.stop()  # Draws the final line and moves past it.
        elif self.mode == "plain" and self._plain_lines:
            self._line(self.clock())

    def describe(self):
        """The status line as plain text (what a log line says)."""
        console = Console(width=LINE_WIDTH, color_system=None, force_terminal=False)
        with console.capture() as captured:
            console.print(self._bar.make_tasks_table(self._bar.tasks))
        return captured.get().rstrip()

    def _line(self, now):
        self.stream.write(self.describe() + "\n")
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
