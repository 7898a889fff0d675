"""The doctor and the summary on a really trained (tiny, so undertrained) run."""

import pytest

from dank.apps.doctor.runcheck import run_checks
from dank.apps.doctor.summary import render_summary, summarize_run

pytestmark = pytest.mark.slow


def test_doctor_examines_a_real_run(tiny_run, tiny_data):
    checks = {c.name: c for c in run_checks(tiny_run)}
    assert checks["run"].status == "ok"
    assert checks["run's data build"].status == "ok"
    assert checks["vision Keras version"].status == "ok"
    assert "val top-1" in checks["vision accuracy"].message
    assert checks["template sanity"].data["total"] == 6
    perplexity = checks["caption perplexity"]
    assert perplexity.status in ("ok", "warn", "fail")
    assert perplexity.data["perplexity"] > 1
    # Generation ran (no crash) and every symptom was looked at.
    assert checks["generation"].status == "ok", checks["generation"].message
    for name in (
        "identical captions",
        "repeated words",
        "unknown words",
        "copied from training",
        "empty bottom text",
        "rambling",
    ):
        assert name in checks


def test_summary_of_a_real_run(tiny_run):
    text = render_summary(summarize_run(tiny_run))
    assert "val top-1" in text and "test perplexity" in text
