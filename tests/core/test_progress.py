"""``dank.core.progress``: a bar with an ETA on a terminal, (almost) nothing in logs."""

import io

import pytest

from dank.core import progress
from dank.core.progress import Progress, format_duration, progress_mode, track


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
    assert stream.getvalue().split("\r")[-1].split() == [
        "images",
        "[########------------]",
        "4/10",
        "hashed",
        "2.0/s",
        "ETA",
        "0:03",
    ]
    for _ in range(6):
        clock.now += 0.5
        bar.update()
    bar.close()
    last = stream.getvalue().split("\r")[-1]
    assert last.endswith("\n") and "10/10" in last and "done in 0:05" in last
    assert "ETA" not in last


def test_redraws_are_throttled():
    stream, clock = Tty(), Clock()
    with Progress("captions", total=100_000, stream=stream, clock=clock) as bar:
        for _ in range(100_000):
            clock.now += 1e-5  # One second in all: at most ten redraws.
            bar.update()
    assert 5 <= stream.getvalue().count("\r") <= 12


def test_unknown_total_has_no_bar_and_no_eta():
    stream, clock = Tty(), Clock()
    with Progress("captions", unit="read", stream=stream, clock=clock) as bar:
        clock.now += 2
        bar.update(50, note="page 3")
    text = stream.getvalue()
    assert "50 read" in text and "page 3" in text and "25.0/s" in text
    assert "[" not in text and "ETA" not in text


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
    with Progress("images", total=1000, stream=stream, clock=clock) as bar:
        for _ in range(1000):
            clock.now += 0.1  # 100 s in all: a line every 30 s, then the end.
            bar.update()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and "\r" not in stream.getvalue()
    assert "ETA" in lines[0] and "done in 1:40" in lines[-1]


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
    assert "1/3" in stream.getvalue() and stream.getvalue().endswith("\n")


def test_format_duration():
    assert [format_duration(s) for s in (0, 7.4, 754, 3723)] == [
        "0:00",
        "0:07",
        "12:34",
        "1:02:03",
    ]


def test_data_build_shows_progress_on_a_terminal(tiny_source, tmp_path, monkeypatch):
    from dank.data.build import build_dataset

    stream = Tty()
    monkeypatch.setattr("sys.stderr", stream)
    build_dataset(tiny_source, tmp_path / "build")
    lines = stream.getvalue().splitlines()
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
    last = stream.getvalue().split("\r")[-1]
    assert "1/3 steps" in last and "stopped after 0:02" in last
