"""The training filter drops or down-weights flagged captions and blocked templates."""

import csv
from pathlib import Path

import pytest

from dank.data.catalogue import Template
from dank.errors import DankError
from dank.safety.filter import SafetyFilter
from dank.safety.training import (
    BLOCKED_TEMPLATE,
    TrainingFilter,
    blocked_templates,
    filter_captions,
    load_blocklist,
)

SHARED_TEMPLATES = Path("/work/shared/data/memes/templates.csv")


@pytest.fixture()
def safety():
    # Invented terms keep real slurs out of the test file.
    return SafetyFilter([("slur", "zorp"), ("profanity", "blarg"), ("sexual", "snoo")])


@pytest.fixture()
def blocklist(tmp_path):
    path = tmp_path / "block.txt"
    path.write_text("# a comment\nbad-template  # why\n\n", encoding="utf-8")
    return str(path)


def rows():
    return [
        {"template_id": "t1", "top": "hello there", "bottom": "general"},
        {"template_id": "t1", "top": "BLARG", "bottom": "again"},  # profanity
        {"template_id": "t2", "top": "zorp and blarg", "bottom": ""},  # slur first
        {"template_id": "t2", "top": "sn", "bottom": "oo"},  # split across boxes
        {"template_id": "bad-template", "top": "harmless", "bottom": "words"},
        {"template_id": "t3", "top": "zorpulent", "bottom": "snooker"},  # substrings
    ]


def test_drop_counts_each_caption_once_by_severity(safety, blocklist):
    kept, counts = filter_captions(rows(), TrainingFilter(blocklist=blocklist), safety)
    assert [r["top"] for r in kept] == ["hello there", "zorpulent"]
    assert dict(counts) == {"profanity": 1, "slur": 1, "sexual": 1, BLOCKED_TEMPLATE: 1}
    assert all("weight" not in r for r in kept)


def test_downweight_keeps_flagged_with_weight(safety, blocklist):
    original = rows()
    config = TrainingFilter(mode="downweight", weight=0.25, blocklist=blocklist)
    kept, counts = filter_captions(original, config, safety)
    assert [r.get("weight", 1.0) for r in kept] == [1.0, 0.25, 0.25, 0.25, 1.0]
    assert all(r["template_id"] != "bad-template" for r in kept)  # Still dropped.
    assert dict(counts) == {"profanity": 1, "slur": 1, "sexual": 1, BLOCKED_TEMPLATE: 1}
    assert all("weight" not in r for r in original)  # Input rows not modified.


def test_categories_limit_what_counts(safety, blocklist):
    config = TrainingFilter(categories=("slur",), blocklist=blocklist)
    kept, counts = filter_captions(rows(), config, safety)
    assert len(kept) == 4
    assert dict(counts) == {"slur": 1, BLOCKED_TEMPLATE: 1}


def test_disabled_keeps_everything(safety):
    kept, counts = filter_captions(rows(), TrainingFilter(enabled=False), safety)
    assert kept == rows() and not counts


def test_default_filter_and_blocklist():
    kept, counts = filter_captions(
        [
            {
                "template_id": "imgflip-Success-Kid",
                "top": "what the fuuuck",
                "bottom": "",
            },
            {
                "template_id": "imgflip-Success-Kid",
                "top": "first class",
                "bottom": "problems",
            },
            {"template_id": "mgnet-advice-hitler", "top": "nice", "bottom": "day"},
        ]
    )
    assert [r["top"] for r in kept] == ["first class"]
    assert dict(counts) == {"profanity": 1, BLOCKED_TEMPLATE: 1}


@pytest.mark.parametrize(
    "kwargs", [{"mode": "hide"}, {"weight": 1.5}, {"categories": ("rude",)}]
)
def test_bad_config_raises(kwargs):
    with pytest.raises(ValueError):
        TrainingFilter(**kwargs)


def test_blocked_templates_accepts_ids_rows_and_catalogue(blocklist):
    assert blocked_templates(["a", "bad-template"], blocklist) == {"bad-template"}
    assert blocked_templates(
        [{"template_id": "bad-template", "name": "x"}], blocklist
    ) == {"bad-template"}
    merged = Template(label=0, id="imgflip-X", name="X", aliases=("bad-template", "X"))
    clean = Template(label=1, id="imgflip-Y", name="Y")
    assert blocked_templates([merged, clean], blocklist) == {"imgflip-X"}


def test_missing_blocklist_is_a_user_error(tmp_path):
    with pytest.raises(DankError, match="blocklist"):
        load_blocklist(tmp_path / "nope.txt")


def test_bundled_blocklist_is_well_formed():
    ids = load_blocklist()
    assert "mgnet-advice-hitler" in ids and "mgnet-kkk" in ids
    assert "mgnet-grammar-nazi" not in ids  # Figurative use, by the criterion.
    assert all(" " not in i and "-" in i for i in ids)


@pytest.mark.skipif(not SHARED_TEMPLATES.is_file(), reason="shared data not present")
def test_bundled_blocklist_names_real_templates():
    with open(SHARED_TEMPLATES, encoding="utf-8", newline="") as f:
        known = {row["template_id"] for row in csv.DictReader(f)}
    assert load_blocklist() <= known
