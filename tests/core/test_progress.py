"""``dank.core.progress``: a bar with an ETA on a terminal, (almost) nothing in logs."""

import io
import re
import time

import pytest

from dank.core import progress
from dank.core.progress import Progress, progress_mode, track

CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # Colours, cursor, line erase.


def last_draw(stream):
    """The last line drawn on a terminal ``stream``, without control codes."""
    return CONTROL.sub("", stream.getvalue().split("\r")[-1])


class Tty(io.StringIO):
    def isatty(self):
        return True


class Clock:
    """A fake monotonic clock the test advances by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def no_override(monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)


def test_terminal_bar_shows_count_rate_and_eta():
    stream, clock = Tty(), Clock()
    bar = Progress("images", total=10, unit="hashed", stream=stream, clock=clock)
    assert bar.mode == "bar"
    for _ in range(4):
        clock.now += 0.5
        bar.update()
    # 4 items in 2 s: 2.0/s, so the last 6 take 3 s more.
    words = bar.describe().split()
    assert words[0] == "images" and words[1].startswith("━")  # The bar.
    assert words[2:] == ["4/10", "hashed", "2.0/s", "ETA", "00:03"]
    assert bar.done == 4
    for _ in range(6):
        clock.now += 0.5
        bar.update()
    bar.close()
    assert CONTROL.sub("", stream.getvalue()).endswith("\n")
    last = last_draw(stream)
    assert "10/10 hashed" in last and "done in  0:00:05" in last
    assert "ETA" not in last


def test_redraws_are_throttled():
    # Rich's thread redraws at most 1 / REDRAW_S times a second, however
    # often update() is called; the closing line is one more.
    stream, clock = Tty(), Clock()
    start = time.monotonic()
    with Progress("captions", total=100_000, stream=stream, clock=clock) as bar:
        for _ in range(100_000):
            clock.now += 1e-5
            bar.update()
    seconds = time.monotonic() - start
    assert 1 <= stream.getvalue().count("\r") <= seconds / progress.REDRAW_S + 3
    assert "100,000/100,000" in last_draw(stream)


def test_unknown_total_has_no_bar_and_no_eta():
    stream, clock = Tty(), Clock()
    with Progress("captions", unit="read", stream=stream, clock=clock) as bar:
        clock.now += 2
        bar.update(25, note="page 3")
        clock.now += 2
        bar.update(50)
        # 50 items in the 2 s between the two updates: 25.0/s.
        assert bar.describe().split() == [
            "captions",
            "75",
            "read",
            "page",
            "3",
            "25.0/s",
        ]
    assert "━" not in stream.getvalue() and "ETA" not in stream.getvalue()


def test_not_a_terminal_prints_nothing_per_item():
    stream, clock = io.StringIO(), Clock()
    assert progress_mode(stream) == "plain"
    with Progress("cleaning", total=1000, stream=stream, clock=clock) as bar:
        for _ in range(1000):
            clock.now += 0.001
            bar.update()
    assert stream.getvalue() == ""  # A one-second stage leaves no trace in a log.


def test_long_stage_off_a_terminal_gets_occasional_lines():
    stream, clock = io.StringIO(), Clock()
    with Progress("images", total=800, stream=stream, clock=clock) as bar:
        for _ in range(800):
            clock.now += 0.125  # 100 s in all: a line every 30 s, then the end.
            bar.update()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and "\r" not in stream.getvalue()
    assert "\x1b" not in stream.getvalue()  # No colours or cursor codes in a log.
    assert "━" not in stream.getvalue()  # A bar without colour says nothing.
    assert "ETA" in lines[0] and "done in  0:01:40" in lines[-1]


def test_environment_overrides_the_terminal_check(monkeypatch):
    monkeypatch.setenv(progress.ENV, "off")
    stream = Tty()
    assert list(track(range(5), "x", stream=stream)) == [0, 1, 2, 3, 4]
    assert stream.getvalue() == ""
    monkeypatch.setenv(progress.ENV, "bar")
    assert progress_mode(io.StringIO()) == "bar"
    with pytest.raises(ValueError, match="progress mode"):
        Progress("x", mode="loud")


def test_track_counts_and_closes_on_break():
    stream = Tty()
    for item in track(["a", "b", "c"], "letters", stream=stream):
        if item == "b":
            break
    assert "1/3" in last_draw(stream) and last_draw(stream).endswith("\n")


def test_data_build_shows_progress_on_a_terminal(tiny_source, tmp_path, monkeypatch):
    from dank.data.build import build_dataset

    stream = Tty()
    monkeypatch.setattr("sys.stderr", stream)
    build_dataset(tiny_source, tmp_path / "build")
    lines = CONTROL.sub("", stream.getvalue()).splitlines()
    finished = {line.split("\r")[-1].split("  ")[0]: line for line in lines}
    for stage in ("captions", "images", "cleaning", "train records"):
        assert "done in" in finished[stage], stage
    assert "6/6 hashed" in finished["images"]
    assert "245 read" in finished["captions"]


def test_steps_show_their_stage_and_errors_say_stopped():
    stream, clock = Tty(), Clock()
    bar = Progress("export", 3, "steps", stream=stream, clock=clock)
    with pytest.raises(RuntimeError), bar:
        with bar.step("first"):
            clock.now += 1
        with bar.step("second"):
            clock.now += 1
            assert "1/3 steps  second" in bar.describe()
            raise RuntimeError("conversion failed")
    last = last_draw(stream)
    assert "1/3 steps" in last and "stopped after  0:00:02" in last
