"""The training filter drops or down-weights flagged captions and blocked templates."""

import csv
from pathlib import Path

import pytest

from dank.core.errors import DankError
from dank.data.catalogue import Template
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


@pytest.fixture(scope="module")
def downweighted_build(tiny_source, tmp_path_factory):
    """``tiny_source`` built in downweight mode, "pizza" standing in for a slur."""
    from dank.data.build import build_dataset

    out = tmp_path_factory.mktemp("downweighted") / "build"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "dank.safety.training.default_filter",
            lambda: SafetyFilter([("profanity", "pizza")]),
        )
        summary = build_dataset(
            tiny_source, out, safety=TrainingFilter(mode="downweight", weight=0.1)
        )
    return out, summary


def test_downweight_build_stores_weights(downweighted_build, tiny_data):
    from dank.core import constants
    from dank.data.pipeline import load_captions
    from dank.safety.training import is_downweighted

    out, summary = downweighted_build
    flagged = summary["safety_filter"]["downweighted"]["profanity"]
    assert flagged > 0 and summary["safety_filter"]["weight"] == 0.1
    assert summary["safety_filter"]["dropped"] == {}
    captions = [c for split in constants.SPLITS for c in load_captions(out, split)]
    assert len(captions) == summary["captions_kept"]  # Nothing dropped for it.
    for c in captions:
        want = 0.1 if "pizza" in c["top"] + c["bottom"] else 1.0
        assert c["weight"] == pytest.approx(want), c
    assert sum(c["weight"] < 1 for c in captions) <= flagged
    assert is_downweighted(out) and not is_downweighted(tiny_data)
    assert all(c["weight"] == 1.0 for c in load_captions(tiny_data, "train"))


def test_caption_training_uses_the_weights(downweighted_build, tiny_data):
    import numpy as np

    from dank.data.pipeline import load_vocab
    from dank.models.language.config import PRESETS
    from dank.models.language.train import caption_batches

    out, _ = downweighted_build
    config = PRESETS["tiny"].replace(batch_size=512)
    x, _, weight = next(iter(caption_batches(out, "train", config, shuffle=False)))
    pizza = load_vocab(out).encode(["pizza"])[0]
    flagged = (np.asarray(x["tokens"]) == pizza).any(axis=1)
    assert flagged.any() and not flagged.all()
    np.testing.assert_allclose(np.asarray(weight), np.where(flagged, 0.1, 1.0))
    # With upvote weights (0.5..1.5) too, the two multiply.
    upvotes = config.replace(weight_by_upvotes=True)
    _, _, both = next(iter(caption_batches(out, "train", upvotes, shuffle=False)))
    both = np.asarray(both)
    assert np.all(both[flagged] <= 0.15 + 1e-6) and np.all(both[flagged] >= 0.05)
    assert np.all(both[~flagged] >= 0.5 - 1e-6)
    # A build made in the default drop mode has no weights to apply.
    assert len(next(iter(caption_batches(tiny_data, "train", config)))) == 2
