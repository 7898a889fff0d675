"""The strong real-vs-generated detector on real captions of the starter set."""

import csv
import gzip
import itertools
from pathlib import Path

import pytest

from dank.core.errors import DankError
from dank.metrics.detector import (
    balanced_pairs,
    caption_text,
    detector_accuracy,
    wilson_interval,
)

STARTER = Path(__file__).resolve().parents[2] / "data" / "starter" / "captions.csv.gz"
TEMPLATES, PER_TEMPLATE = 8, 40


@pytest.fixture(scope="module")
def real():
    """``{template: [text, ...]}``: 40 real captions of each of 8 templates."""
    out = {}
    with gzip.open(STARTER, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            rows = out.setdefault(row["template_id"], [])
            if len(out) > TEMPLATES:
                del out[row["template_id"]]
                break
            if len(rows) < PER_TEMPLATE:
                rows.append(caption_text(row["top"], row["bottom"]))
    assert len(out) == TEMPLATES
    return out


def test_tells_a_clearly_different_source_apart(real):
    # One fixed caption per template, as a collapsed decoder would write.
    one = caption_text("when you", "the thing")
    fixed = {t: [one] * len(v) for t, v in real.items()}
    result = detector_accuracy(real, fixed, seed=0)
    assert result["accuracy"] > 0.9
    assert result["n"] == 2 * TEMPLATES * PER_TEMPLATE and result["folds"] == 10
    assert result["ci_low"] <= result["accuracy"] <= result["ci_high"]


def test_real_against_real_is_chance(real):
    # Disjoint halves of the same templates (alternate captions: the CSV is in
    # score order, so a first/second-half split would differ in popularity).
    a = {t: v[0::2] for t, v in real.items()}
    b = {t: v[1::2] for t, v in real.items()}
    result = detector_accuracy(a, b, seed=0)
    assert 0.35 <= result["accuracy"] <= 0.65
    assert result["ci_low"] < 0.5 < result["ci_high"]
    # Deterministic under the seed (checked on two templates, to stay fast).
    few = sorted(a)[:2]
    small = ({t: a[t] for t in few}, {t: b[t] for t in few})
    assert detector_accuracy(*small, seed=1) == detector_accuracy(*small, seed=1)


def test_balanced_pairs_match_templates_and_counts():
    real = {"x": ["r1", "r2", "r3"], "y": ["r4"], "only_real": ["r5"]}
    generated = {"x": ["g1", "g2"], "y": ["g3", "g4"], "only_gen": ["g5"]}
    a, b = balanced_pairs(real, generated, seed=0)
    assert len(a) == len(b) == 3
    assert set(b) <= {"g1", "g2", "g3", "g4"} and "r5" not in a and "g5" not in b
    assert "r4" in a and sorted(x for x in b if x in ("g1", "g2")) == ["g1", "g2"]


def test_too_few_captions_and_wilson_bounds():
    with pytest.raises(DankError, match="at least 2 captions"):
        detector_accuracy({"x": ["a b"]}, {"x": ["c d"]})
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3)
    assert high == pytest.approx(0.5962, abs=1e-3)
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 10)[0] == pytest.approx(0.0)


def test_caption_text_ignores_detokeniser_spacing():
    assert caption_text("Wait...", "WHAT") == caption_text("wait . . .", "what")
    assert list(itertools.islice(caption_text("a", "").split(), 2)) == ["a", "<sep>"]
