"""The seeded fault fuzz of ``make faults`` (``tools/fuzz_faults.py``), small and full.

Asserts counts only: no traceback, no aborted batch, an output for every valid
picture, an error for every bad one, nothing half written.
"""

import io

import pytest

from tools import fuzz_faults


def _check(tallies):
    text = io.StringIO()
    ok = fuzz_faults.report(tallies, file=text)
    for command in ("classify", "generate"):
        t = tallies[command]
        assert t.tracebacks == 0 and t.aborts == 0, text.getvalue()
        assert t.valid and not t.valid_missing, text.getvalue()
        assert not t.invalid_passed and t.half_written == 0, text.getvalue()
        assert t.item_errors + t.outputs == t.tried
    return ok, text.getvalue()


def test_small_fuzz_has_no_traceback_and_no_abort(tiny_run, tmp_path):
    # One batch per command: each command loads the models once.
    tallies = fuzz_faults.fuzz(tmp_path, run=tiny_run, count=40, csv_count=0, batch=41)
    assert tallies["classify"].tried == 40 + 1  # With the mode-000 picture.
    ok, text = _check(tallies)
    assert ok, text


@pytest.mark.slow
def test_full_fuzz(tiny_run, tmp_path):
    tallies = fuzz_faults.fuzz(tmp_path, run=tiny_run, count=1000, csv_count=100)
    ok, text = _check(tallies)
    assert tallies["data build"].tracebacks == 0, text
    assert ok, text
