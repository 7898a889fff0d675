"""tools/render_eval_memes.py: the imgflip-style labelled set for evaluation."""

import csv
import hashlib
from pathlib import Path

import pytest

from dank.core.errors import DankError
from dank.core.images import open_image
from dank.data.pipeline import load_catalogue
from dank.models.vision.evaluate import read_labels
from tools import render_eval_memes


def test_renders_every_template_labelled_and_deterministic(tiny_data, tmp_path):
    n = render_eval_memes.render_set(tiny_data, tmp_path / "a", per_template=2)
    catalogue = load_catalogue(tiny_data)
    assert n == 2 * len(catalogue)
    rows = read_labels(tmp_path / "a" / "labels.csv")
    assert len(rows) == n
    ids = {t.id.lower() for t in catalogue}
    for file, row_ids, template_id in rows:
        assert template_id.lower() in ids and template_id.lower() in row_ids
        image = open_image(tmp_path / "a" / "images" / file)
        assert render_eval_memes.WIDTHS[0] <= image.width <= render_eval_memes.WIDTHS[1]
    render_eval_memes.render_set(tiny_data, tmp_path / "b", per_template=2)
    for file, _, _ in rows:
        a = (tmp_path / "a" / "images" / file).read_bytes()
        assert a == (tmp_path / "b" / "images" / file).read_bytes()


def test_aliases_are_the_equivalent_ids(tiny_data, tmp_path):
    render_eval_memes.render_set(tiny_data, tmp_path, per_template=1)
    catalogue = {t.id: t for t in load_catalogue(tiny_data)}
    with open(tmp_path / "labels.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            aliases = catalogue[row["template_id"]].aliases
            assert row["equivalent_template_ids"].split(";") == list(aliases) or (
                not aliases and row["equivalent_template_ids"] == ""
            )


def test_bad_flags_and_missing_build_fail_clearly(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        render_eval_memes.main(
            [str(tmp_path), "--out", str(tmp_path / "o"), "--per-template", "0"]
        )
    assert e.value.code == 2
    assert (
        render_eval_memes.main([str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
        == 2
    )
    assert "error:" in capsys.readouterr().err


STARTER = Path(__file__).resolve().parents[2] / "data" / "build" / "starter"
# sha256 of the clean style's output on the starter build (2 per template, seed
# 0), taken before the wild style was added: the default must not move.
CLEAN_STARTER = {
    "labels.csv": "7187a9d85c96386686bd95e0955ac426d2f2042802b8b4487a06fc0be011ec4b",
    "images/00000-0.jpg": (
        "906d1ab0d35d2256f5039aa434edff51a7a014ad603fa5bfc5bbf848ab2a2737"
    ),
    "images/00042-1.jpg": (
        "346c019e116c688094dd2d9d8391bc3a583ff96b35109b80b024a5c688074415"
    ),
    "images/00099-1.jpg": (
        "c1db632750355676e4303114f4a1cf98a115f633f7a69bec3f10429cd426fdf1"
    ),
}


@pytest.mark.slow
@pytest.mark.skipif(not STARTER.is_dir(), reason="no starter build (make data)")
def test_clean_style_is_unchanged_on_the_starter_build(tmp_path):
    render_eval_memes.render_set(STARTER, tmp_path, per_template=2)
    for name, digest in CLEAN_STARTER.items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest


def test_wild_style_is_deterministic_and_shows_every_effect(tiny_data, tmp_path):
    n = render_eval_memes.render_set(
        tiny_data, tmp_path / "a", per_template=10, style="wild"
    )
    rows = read_labels(tmp_path / "a" / "labels.csv")
    assert len(rows) == n == 10 * len(load_catalogue(tiny_data))
    with open(tmp_path / "a" / "effects.csv", newline="", encoding="utf-8") as f:
        effects = {r["file"]: r["effects"] for r in csv.DictReader(f)}
    assert set(effects) == {file for file, _, _ in rows}
    seen = {e for value in effects.values() for e in value.split(";") if e}
    assert seen == set(render_eval_memes.WILD_PROBS)
    low, high = render_eval_memes.WILD_WIDTHS
    for file, _, _ in rows:
        assert low <= open_image(tmp_path / "a" / "images" / file).width <= high
    render_eval_memes.render_set(
        tiny_data, tmp_path / "b", per_template=10, style="wild"
    )
    for file, _, _ in rows:
        a = (tmp_path / "a" / "images" / file).read_bytes()
        assert a == (tmp_path / "b" / "images" / file).read_bytes()
    effects_b = (tmp_path / "b" / "effects.csv").read_text()
    assert effects_b == (tmp_path / "a" / "effects.csv").read_text()


def test_unknown_style_fails_clearly(tiny_data, tmp_path):
    with pytest.raises(DankError, match="unknown style"):
        render_eval_memes.render_set(tiny_data, tmp_path, style="grungy")


BOXES = [  # memegen's text boxes, as the full build's catalogue holds them.
    {"style": "upper", "color": "white", "font": "thick", "anchor_x": 0.0}
    | {"anchor_y": y, "angle": 0.0, "scale_x": 1.0, "scale_y": 0.2}
    | {"align": "center", "start": 0.0, "stop": 1.0}
    for y in (0.0, 0.8)
]


@pytest.mark.parametrize("style", ["clean", "wild"])
def test_templates_with_text_boxes_render(tiny_data, tmp_path, monkeypatch, style):
    """Boxes are lists of dicts, so such a template is unhashable: the picture
    cache must not key on it (the full build crashed here)."""
    import dataclasses

    catalogue = load_catalogue(tiny_data)
    boxed = type(catalogue)([dataclasses.replace(t, boxes=BOXES) for t in catalogue])
    monkeypatch.setattr(render_eval_memes, "load_catalogue", lambda data: boxed)
    n = render_eval_memes.render_set(tiny_data, tmp_path, per_template=1, style=style)
    assert n == len(catalogue) == len(read_labels(tmp_path / "labels.csv"))
