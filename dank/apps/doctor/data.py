"""Data checks: the committed starter set and a data build.

The starter set is checked against its own README (template and caption
counts), with every template image decoded. A data build is checked by reading
every TFRecord: counts against ``summary.json`` and the catalogue, labels inside
the catalogue, token ids inside the vocabulary.
"""

import collections
import csv
import gzip
import io
import re
from pathlib import Path

from dank.apps.doctor.report import fail, guarded, ok, skip, warn
from dank.core import constants
from dank.core.errors import DankError

STARTER_DIR = Path("data/starter")
DATA_DIR = Path("data/build/starter")
STARTER_FILES = ("README.txt", "templates.csv", "captions.csv.gz")
RESTORE_STARTER = "`git restore data/starter` (it is committed), then `make data`"
SPLITS_WITH_CAPTIONS = constants.SPLITS


def readme_counts(text):
    """``(templates, captions)`` promised by the starter README, None if absent."""
    templates = re.search(r"\b(\d+) templates\b", text)
    captions = re.search(r"\((\d+) captions\)", text)
    return (
        int(templates.group(1)) if templates else None,
        int(captions.group(1)) if captions else None,
    )


def count_csv_rows(path):
    """Rows of a (gzipped) CSV, counted with a CSV parser (fields hold newlines)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with (
        opener(path, "rb") as raw,
        io.TextIOWrapper(raw, encoding="utf-8", newline="") as f,
    ):
        return sum(1 for _ in csv.DictReader(f))


def check_starter(starter=STARTER_DIR):
    """The starter set is present, complete and matches its README."""
    from dank.core.images import open_image
    from dank.data.sources import read_templates

    starter = Path(starter)
    name = "starter set"
    if not starter.is_dir():
        return skip(
            name,
            f"{starter} not found (normal outside a dank checkout; pass --starter)",
        )
    missing = [f for f in STARTER_FILES if not (starter / f).is_file()]
    missing += [d for d in ("templates", "licenses") if not (starter / d).is_dir()]
    if missing:
        return fail(
            name,
            f"{starter} lacks {', '.join(missing)}",
            "files were deleted or the checkout is partial",
            RESTORE_STARTER,
        )
    want_templates, want_captions = readme_counts(
        (starter / "README.txt").read_text(encoding="utf-8", errors="replace")
    )
    try:
        rows = read_templates(starter)
        n_captions = count_csv_rows(starter / "captions.csv.gz")
    except (DankError, OSError, EOFError, csv.Error, UnicodeDecodeError) as e:
        return fail(
            name,
            f"cannot read it: {e}",
            "a file is truncated or corrupt",
            RESTORE_STARTER,
        )
    problems = []
    if want_templates is not None and len(rows) != want_templates:
        problems.append(f"{len(rows)} templates, README says {want_templates}")
    if want_captions is not None and n_captions != want_captions:
        problems.append(f"{n_captions} captions, README says {want_captions}")
    bad_images = []
    for row in rows:
        try:
            open_image(starter / row["image_file"])
        except DankError:
            bad_images.append(row["image_file"])
    if bad_images:
        problems.append(
            f"{len(bad_images)} missing or broken images (e.g. {bad_images[0]})"
        )
    if problems:
        return fail(
            name,
            "; ".join(problems),
            "files were edited, truncated or deleted",
            RESTORE_STARTER,
            templates=len(rows),
            captions=n_captions,
        )
    return ok(
        name,
        f"{len(rows)} templates, {n_captions} captions, all images readable",
        templates=len(rows),
        captions=n_captions,
    )


def _rebuild_fix(data_dir, source=None):
    if Path(data_dir) == DATA_DIR and source in (None, str(STARTER_DIR)):
        return (
            "`make data` (or `dank data build --source data/starter --out "
            "data/build/starter`)"
        )
    return f"`dank data build --source {source or 'SOURCE'} --out {data_dir}`"


def read_build(data_dir):
    """``(catalogue, vocab, summary)`` of a build; DankError when unusable."""
    from dank.core.io import read_json
    from dank.data.pipeline import load_catalogue, load_vocab

    catalogue, vocab = load_catalogue(data_dir), load_vocab(data_dir)
    summary_path = Path(data_dir) / "summary.json"
    summary = read_json(summary_path, "build summary") if summary_path.is_file() else {}
    return catalogue, vocab, summary


def check_build_files(data_dir):
    """catalogue.json and vocab.json load; the build is not older than its source.

    Returns:
        A list of ``Check``: the build, then its freshness when it is stale.
    """
    data_dir = Path(data_dir)
    if not (data_dir / constants.CATALOGUE_FILE).is_file():
        return [
            fail(
                "data build",
                f"{data_dir} is not a data build (no catalogue.json)",
                "the data was never built, or --data points elsewhere",
                _rebuild_fix(data_dir),
            )
        ]
    try:
        catalogue, vocab, summary = read_build(data_dir)
    except DankError as e:
        return [
            fail(
                "data build",
                str(e),
                "a build file is corrupt or from an older dank",
                _rebuild_fix(data_dir),
            )
        ]
    checks = [
        ok(
            "data build",
            f"{data_dir}: {len(catalogue)} templates, {len(vocab)} words",
            templates=len(catalogue),
            vocab=len(vocab),
        )
    ]
    source = summary.get("source")
    if source and Path(source).is_dir():
        built = (data_dir / constants.CATALOGUE_FILE).stat().st_mtime
        newer = [
            p.name
            for p in Path(source).iterdir()
            if p.is_file() and p.stat().st_mtime > built
        ]
        if newer:
            checks.append(
                warn(
                    "data build freshness",
                    f"{source} changed after {data_dir} was built "
                    f"({', '.join(sorted(newer))})",
                    "the source data was updated; the build is stale",
                    _rebuild_fix(data_dir, source),
                    newer=sorted(newer),
                )
            )
    return checks


def scan_records(data_dir):
    """Reads every record of a build: image labels and ids, caption counts per
    split, caption label counts, the largest token id."""
    import tensorflow as tf

    from dank.data import pipeline, records

    images = []
    for item in tf.data.TFRecordDataset(pipeline.image_files(data_dir)).map(
        records.parse_image
    ):
        images.append(
            (
                int(item["label"]),
                item["template_id"].numpy().decode(),
                tuple(item["image"].shape),
            )
        )
    splits, labels, max_token = {}, collections.Counter(), -1
    for split in SPLITS_WITH_CAPTIONS:
        try:
            files = pipeline.caption_files(data_dir, split)
        except DankError:
            splits[split] = 0
            continue
        ds = tf.data.TFRecordDataset(files).map(records.parse_caption)
        ds = ds.ragged_batch(4096)
        n = 0
        for batch in ds:
            n += int(batch["label"].shape[0])
            labels.update(batch["label"].numpy().tolist())
            flat = batch["tokens"].flat_values
            if flat.shape[0]:
                max_token = max(max_token, int(tf.reduce_max(flat)))
        splits[split] = n
    return {
        "images": images,
        "splits": splits,
        "labels": labels,
        "max_token": max_token,
    }


def check_records(data_dir):
    """TFRecords readable and consistent with the catalogue, vocabulary, summary."""
    import tensorflow as tf

    data_dir = Path(data_dir)
    try:
        catalogue, vocab, summary = read_build(data_dir)
    except DankError:
        return skip("TFRecords", "the build's catalogue or vocabulary is broken")
    fix = _rebuild_fix(data_dir, summary.get("source"))
    try:
        scan = scan_records(data_dir)
    except (tf.errors.OpError, DankError) as e:
        message = getattr(e, "message", None) or str(e)
        return fail(
            "TFRecords",
            f"cannot read them: {message.splitlines()[0][:200]}",
            "a record file is truncated or corrupt (an interrupted copy or build)",
            fix,
        )
    problems = []
    image_labels = {label: tid for label, tid, _ in scan["images"]}
    if len(scan["images"]) != len(catalogue):
        problems.append(
            f"{len(scan['images'])} template images for {len(catalogue)} templates"
        )
    wrong = [
        label
        for label, tid in image_labels.items()
        if label >= len(catalogue) or catalogue[label].id != tid
    ]
    if wrong:
        problems.append(
            f"{len(wrong)} image records name a template the catalogue puts at "
            "another label"
        )
    bad_labels = [label for label in scan["labels"] if not 0 <= label < len(catalogue)]
    if bad_labels:
        problems.append(f"caption labels outside 0..{len(catalogue) - 1}")
    if scan["max_token"] >= len(vocab):
        problems.append(
            f"token id {scan['max_token']} outside the {len(vocab)}-word vocabulary"
        )
    expected = summary.get("captions_per_split") or {}
    for split, n in expected.items():
        if scan["splits"].get(split) != n:
            problems.append(
                f"{scan['splits'].get(split)} {split} captions, summary.json says {n}"
            )
    counted = [
        t.id
        for t in catalogue
        if t.n_captions and scan["labels"].get(t.label, 0) != t.n_captions
    ]
    if counted:
        problems.append(
            f"{len(counted)} templates' caption counts differ from the catalogue "
            f"(e.g. {counted[0]})"
        )
    if not scan["splits"].get("train"):
        problems.append("no training captions")
    if problems:
        return fail(
            "TFRecords",
            "; ".join(problems),
            "the records, catalogue and vocabulary come from different builds, "
            "or a file was damaged",
            fix,
            splits=scan["splits"],
        )
    sizes = ", ".join(f"{n} {s}" for s, n in scan["splits"].items())
    return ok(
        "TFRecords",
        f"{len(scan['images'])} template images; captions: {sizes}; "
        "labels and token ids consistent",
        splits=scan["splits"],
    )


def data_checks(data_dir=DATA_DIR, starter=STARTER_DIR):
    """Every data check, in reading order."""
    checks = []
    checks += guarded("starter set", check_starter, starter)
    build = guarded("data build", check_build_files, data_dir)
    checks += build
    if all(c.status != "fail" for c in build):
        checks += guarded("TFRecords", check_records, data_dir)
    return checks
