"""tools/render_eval_memes.py: the imgflip-style labelled set for evaluation."""

import csv

import pytest
import render_eval_memes  # tools/, on the path through setup.cfg's pythonpath

from dank.core.images import open_image
from dank.data.pipeline import load_catalogue
from dank.models.vision.evaluate import read_labels


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
