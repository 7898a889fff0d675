import gzip
import json
import shutil

import numpy as np
import pytest

from dank.core import constants
from dank.data import pipeline, splits
from dank.data.build import build_dataset
from dank.data.catalogue import Catalogue
from dank.data.synthetic import make_source
from dank.core.errors import DankError


def test_tiny_data_layout(tiny_data):
    for name in (
        constants.CATALOGUE_FILE,
        constants.VOCAB_FILE,
        constants.CARD_FILE,
        "summary.json",
        "caption_lengths.png",
        "upvotes.png",
    ):
        assert (tiny_data / name).is_file(), name
    catalogue = pipeline.load_catalogue(tiny_data)
    assert len(catalogue) == 6
    assert all((tiny_data / "templates" / t.image).is_file() for t in catalogue)
    summary = json.loads((tiny_data / "summary.json").read_text())
    assert summary["captions_kept"] == 240
    dropped = summary["captions_dropped"]
    assert (
        dropped["empty"],
        dropped["too_long"],
        dropped["non_english"],
        dropped["duplicate"],
    ) == (2, 1, 1, 1)


def test_records_round_trip(tiny_data):
    vocab = pipeline.load_vocab(tiny_data)
    images = list(pipeline.image_dataset(tiny_data).as_numpy_iterator())
    assert sorted(int(x["label"]) for x in images) == list(range(6))
    assert all(x["image"].ndim == 3 and x["image"].shape[2] == 3 for x in images)
    rows = {s: pipeline.load_captions(tiny_data, s) for s in constants.SPLITS}
    assert sum(map(len, rows.values())) == 240
    for row in rows["train"][:20]:
        tokens = vocab.decode(row["tokens"])
        assert tokens[0] == constants.START and tokens[-1] == constants.END
        assert 0.0 <= row["score"] <= 1.0
    texts = {s: {(r["top"], r["bottom"]) for r in rs} for s, rs in rows.items()}
    assert not texts["train"] & texts["val"] and not texts["train"] & texts["test"]
    assert {r["label"] for r in rows["val"]} == set(range(6))  # Stratified.


def test_caption_batches(tiny_data):
    batch = next(iter(pipeline.caption_dataset(tiny_data, "train", 16, max_len=12)))
    assert batch["tokens"].shape == (16, 12)
    assert batch["tokens"].dtype.name == "int32" and batch["label"].shape == (16,)
    first = [
        b["label"].numpy().tolist()
        for b in pipeline.caption_dataset(tiny_data, "train", 8, seed=3).take(2)
    ]
    again = [
        b["label"].numpy().tolist()
        for b in pipeline.caption_dataset(tiny_data, "train", 8, seed=3).take(2)
    ]
    assert first == again
    for b in pipeline.caption_dataset(tiny_data, "val", 8, shuffle=False, bucket=True):
        assert int((b["tokens"][:, 0] == constants.START_ID).numpy().sum()) == len(
            b["label"]
        )


def test_merge_and_max_templates(tmp_path):
    source = make_source(
        tmp_path / "src", n_templates=4, captions_per_template=20, duplicate=True
    )
    summary = build_dataset(
        source, tmp_path / "out", max_templates=2, max_captions_per_template=10
    )
    assert summary["templates_after_merge"] == 4
    assert summary["merged_groups"] == [["imgflip-Proud-Toddler", "memegenlink-proud"]]
    catalogue = Catalogue.load(tmp_path / "out")
    assert len(catalogue) == 2
    assert catalogue.find("memegenlink-proud").id == "imgflip-Proud-Toddler"
    assert summary["captions_dropped"]["over_cap"] > 0
    assert all(t.n_captions <= 10 for t in catalogue)


def test_bad_inputs_are_skipped_or_refused(tmp_path):
    source = make_source(tmp_path / "src", n_templates=3, captions_per_template=10)
    images = sorted((source / "templates").glob("*.png"))
    images[0].write_bytes(images[0].read_bytes()[:200])  # Truncated.
    images[1].write_text("not an image")
    summary = build_dataset(source, tmp_path / "out")
    assert len(summary["images_skipped"]) == 2
    assert summary["templates"] == 1
    assert summary["captions_dropped"]["no_template"] > 0


def test_missing_source_and_column(tmp_path):
    with pytest.raises(DankError, match="not found"):
        build_dataset(tmp_path / "nope", tmp_path / "out")
    source = make_source(tmp_path / "src", n_templates=2, captions_per_template=5)
    with gzip.open(source / "captions.csv.gz", "rt", encoding="utf-8") as f:
        lines = f.read().replace("score_type", "kind", 1)
    with gzip.open(source / "captions.csv.gz", "wt", encoding="utf-8") as f:
        f.write(lines)
    with pytest.raises(DankError, match="score_type"):
        build_dataset(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_failed_rebuild_keeps_old_build_and_refuses_foreign_dir(tiny_data, tmp_path):
    out = tmp_path / "build"
    shutil.copytree(tiny_data, out)
    before = (out / constants.CATALOGUE_FILE).read_bytes()
    with pytest.raises(DankError):
        build_dataset(tmp_path / "nope", out)
    assert (out / constants.CATALOGUE_FILE).read_bytes() == before
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DankError, match="refusing"):
        build_dataset(tmp_path / "nope", foreign)


def test_splits_and_percentiles():
    keys = [f"k{i}" for i in range(100)] + ["shared", "shared"]
    groups = [i % 2 for i in range(100)] + [0, 1]
    out = splits.assign_splits(groups, keys, seed=1)
    assert out == splits.assign_splits(groups, keys, seed=1)
    assert out[-1] == out[-2]
    assert 70 <= out.count("train") <= 90
    assert splits.percentiles([5, 1, 5, 9]).tolist() == [0.5, 0.0, 0.5, 1.0]


def test_load_captions_matches_the_record_by_record_parse(tiny_data):
    """``load_captions`` parses whole batches at once (``records.parse_captions``):
    the same rows, in file order, as parsing each record on its own."""
    import tensorflow as tf

    from dank.data import records

    for split in constants.SPLITS:
        files = pipeline.caption_files(tiny_data, split)
        one_by_one = list(
            tf.data.TFRecordDataset(files).map(records.parse_caption).as_numpy_iterator()
        )
        rows = pipeline.load_captions(tiny_data, split)
        assert len(rows) == len(one_by_one) > 0
        for row, parsed in zip(rows, one_by_one):
            assert row["tokens"] == parsed["tokens"].tolist()
            assert row["label"] == int(parsed["label"])
            assert row["top"] == parsed["top"].decode("utf-8")
            assert row["bottom"] == parsed["bottom"].decode("utf-8")
            for key in ("score", "weight", "upvotes", "views"):
                np.testing.assert_equal(row[key], parsed[key])


def test_records_are_the_same_bytes_in_every_process():
    """Two processes serialise the same records to the same bytes (protobuf
    writes a map's entries in a per-process order unless told not to), so two
    builds of one source are byte-identical."""
    import subprocess
    import sys

    code = (
        "import hashlib\n"
        "from dank.data import records\n"
        "data = [records.caption_example(i, [1, 2, 3], 0.5, 'top', 'bottom')"
        " for i in range(20)]\n"
        "data.append(records.image_example(b'jpeg', 'some-template', 3))\n"
        "print(hashlib.sha256(b''.join(data)).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout.strip()
        for _ in range(3)
    }
    assert len(digests) == 1, digests
