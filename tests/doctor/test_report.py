"""The report: marks, causes and fixes in text, JSON, exit codes."""

import io
import json

import pytest

from dank.apps.doctor.report import (
    ASCII_MARKS,
    MARKS,
    Check,
    Report,
    fail,
    guarded,
    ok,
    terminal_marks,
    warn,
)
from dank.core.errors import DankError


def _report(*checks):
    report = Report()
    report.add("Section", checks)
    return report


def test_all_ok_exits_zero_and_says_so():
    report = _report(ok("a", "fine"), warn("b", "meh", "because", "do this"))
    assert report.exit_code() == 0
    text = report.render(MARKS)
    assert "✓ a: fine" in text
    assert "! b: meh" in text and "cause: because" in text and "fix:   do this" in text
    assert text.endswith("All good, with 1 warning (!).")


def test_a_failure_exits_one_and_is_counted():
    report = _report(ok("a", "fine"), fail("b", "broken", "why", "`dank fix`"))
    assert report.exit_code() == 1
    text = report.render(MARKS)
    assert "✗ b: broken" in text
    assert "1 problem to fix" in text
    data = json.loads(json.dumps(report.to_json()))
    assert data["ok"] is False
    assert data["counts"] == {"ok": 1, "warn": 0, "fail": 1, "skip": 0}
    assert data["sections"][0]["checks"][1]["fix"] == "`dank fix`"


def test_ascii_terminal_gets_ascii_marks():
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert terminal_marks(stream) == ASCII_MARKS
    text = _report(fail("b", "broken", "why", "fix")).render(ASCII_MARKS)
    assert "[FAIL] b: broken" in text
    text.encode("ascii")


def test_bad_status_is_refused():
    with pytest.raises(ValueError, match="status"):
        Check("x", "great", "msg")


def test_guarded_turns_crashes_into_failures():
    def crash():
        raise RuntimeError("traceback line\n\n  the real reason  ")

    def user_error():
        raise DankError("run dir not found; pass --run")

    (crashed,) = guarded("thing", crash)
    assert crashed.status == "fail"
    assert crashed.message == "the check crashed: RuntimeError: the real reason"
    (dank,) = guarded("thing", user_error)
    assert dank.status == "fail" and "pass --run" in dank.message
    assert guarded("thing", lambda: ok("thing", "fine"))[0].status == "ok"
