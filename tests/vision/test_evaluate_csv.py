"""``dank evaluate templates`` on a CSV with bad rows: counted, named, scored."""

import csv
from types import SimpleNamespace

import pytest

from dank.core.errors import DankError
from dank.models.vision import evaluate

ROWS = [
    ("good.jpg", "success-kid", ""),  # Top-1 right.
    ("also-good.jpg", "nobody", "x;sk"),  # Right through an alias.
    ("wrong.jpg", "grumpy-cat", ""),  # Decodes, predicted wrong.
    ("gone.jpg", "success-kid", ""),  # No such file.
    ("stranger.jpg", "not-in-the-run", "nor-this"),  # Template unknown to the run.
    ("corrupt.jpg", "grumpy-cat", ""),  # Fails to decode.
]


def _fake_classify(paths, classifier, top_k=5, second_look=None, views=False):
    """Stands in for ``predict.classify_files``: always says Success Kid."""
    for path in paths:
        if path.read_bytes() == b"corrupt":
            yield {"image": path.name, "error": f"{path.name}: not an image"}
        else:
            template = {"id": "success-kid", "name": "Success Kid", "prob": 0.9}
            yield {
                "image": path.name,
                "templates": [{**template, "aliases": ["sk"]}],
                "known": True,
            }


def _setup(tmp_path, monkeypatch):
    monkeypatch.setattr(evaluate, "classify_files", _fake_classify)
    images = tmp_path / "images"
    images.mkdir()
    for name in ("good.jpg", "also-good.jpg", "wrong.jpg", "stranger.jpg"):
        (images / name).write_bytes(b"fine")
    (images / "corrupt.jpg").write_bytes(b"corrupt")
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "template_id", "equivalent_template_ids"])
        writer.writerows(ROWS)
    catalogue = [
        SimpleNamespace(id="success-kid", aliases=("sk",)),
        SimpleNamespace(id="grumpy-cat", aliases=()),
    ]
    return SimpleNamespace(catalogue=catalogue), labels, images


def test_bad_rows_are_counted_named_and_stay_in_the_denominator(tmp_path, monkeypatch):
    classifier, labels, images = _setup(tmp_path, monkeypatch)
    result = evaluate.evaluate_templates(classifier, labels, images)
    assert result["n"] == 6
    assert result["top1"] == 2 / 6 and result["top5"] == 2 / 6
    assert result["ranked_by"] == "views"  # The default, as in `dank classify`.
    assert result["scored"] == 3
    assert result["top1_scored"] == 2 / 3 and result["top5_scored"] == 2 / 3
    assert result["bad_rows"] == {
        "missing_file": {"count": 1, "examples": ["gone.jpg"]},
        "unknown_template": {"count": 1, "examples": ["not-in-the-run"]},
        "unreadable_image": {"count": 1, "examples": ["corrupt.jpg"]},
    }
    assert result["per_template"]["success-kid"] == {"n": 2, "top1": 0.5, "top5": 0.5}
    assert result["per_template"]["grumpy-cat"]["n"] == 2
    assert result["per_template"]["not-in-the-run"]["top1"] == 0.0


def test_examples_are_capped_but_every_bad_row_counts(tmp_path):
    (tmp_path / "here.jpg").write_bytes(b"x")
    rows = [(f"missing-{k}.jpg", {"a"}, "a") for k in range(8)]
    rows.append(("here.jpg", {"zzz"}, "zzz"))
    rows.append(("here.jpg", {"a"}, "a"))
    to_classify, bad = evaluate.split_rows(rows, tmp_path, {"a"})
    assert to_classify == [("here.jpg", {"a"}, "a")]
    report = evaluate.bad_rows_report(bad)
    assert report["missing_file"]["count"] == 8
    assert report["missing_file"]["examples"] == [
        f"missing-{k}.jpg" for k in range(evaluate.BAD_EXAMPLES)
    ]
    assert report["unknown_template"] == {"count": 1, "examples": ["zzz"]}


def test_known_ids_are_ids_and_aliases_lower_case():
    catalogue = [SimpleNamespace(id="Success-Kid", aliases=("SK", "Winning Baby"))]
    assert evaluate.known_ids(catalogue) == {"success-kid", "sk", "winning baby"}


def test_short_and_blank_rows_count_as_bad_and_a_bom_is_read(tmp_path, monkeypatch):
    classifier, _, images = _setup(tmp_path, monkeypatch)
    labels = tmp_path / "excel.csv"
    # A spreadsheet's byte-order mark; a row cut short; blank cells.
    labels.write_bytes(
        b"\xef\xbb\xbffile,template_id\r\ngood.jpg,success-kid\r\nwrong.jpg\r\n"
        b",grumpy-cat\r\n"
    )
    result = evaluate.evaluate_templates(classifier, labels, images)
    assert result["n"] == 3 and result["top1"] == 1 / 3
    assert result["bad_rows"]["unknown_template"] == {
        "count": 1,
        "examples": ["(blank)"],
    }
    assert result["bad_rows"]["missing_file"] == {"count": 1, "examples": ["(blank)"]}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"file,template_id\nbad\xff.jpg,a\n", "not a UTF-8 CSV file"),
        (b"name,label\nx.jpg,a\n", "missing column"),
        (b"file,template_id\n", "no rows"),
    ],
)
def test_unreadable_label_files_get_a_clear_error(tmp_path, content, message):
    labels = tmp_path / "labels.csv"
    labels.write_bytes(content)
    with pytest.raises(DankError, match=message):
        evaluate.read_labels(labels)


def test_a_missing_images_folder_is_named(tmp_path, monkeypatch):
    classifier, labels, _ = _setup(tmp_path, monkeypatch)
    with pytest.raises(DankError, match="--images .*no such folder"):
        evaluate.evaluate_templates(classifier, labels, tmp_path / "nowhere")
