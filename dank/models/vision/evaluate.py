"""``dank evaluate templates``: top-1/top-5 on labelled real memes.

The CSV has columns ``file``, ``template_id`` and optionally
``equivalent_template_ids`` (``;``-separated). A prediction counts as correct
when the predicted template's id or any of its aliases is among the row's ids
(case-insensitive), since the same meme exists under several sites' ids.
"""

import csv
from collections import defaultdict
from pathlib import Path

from dank.core.errors import DankError
from dank.core.progress import track
from dank.models.vision.predict import classify_files

TOP_K = 5
BAD_EXAMPLES = 5  # Files or template ids named per kind of bad row.
# Kinds of bad row: counted, named, and scored as wrong (never left out of ``n``).
MISSING_FILE, UNKNOWN_TEMPLATE, UNREADABLE = (
    "missing_file",
    "unknown_template",
    "unreadable_image",
)


def read_labels(csv_path):
    """Reads the evaluation CSV into ``[(file, {ids}, template_id)]``.

    A row with a blank file or template id is kept (and later counted as a
    missing file or an unknown template), never dropped from the denominator.
    A byte-order mark, as spreadsheets write, is allowed.
    """
    path = Path(csv_path)
    if not path.is_file():
        raise DankError(f"--csv {path}: no such file")
    rows = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = {"file", "template_id"} - set(reader.fieldnames or ())
            if missing:
                raise DankError(
                    f"--csv {path}: missing column(s) {', '.join(sorted(missing))}; "
                    "need file, template_id and optionally equivalent_template_ids"
                )
            for row in reader:
                template_id = (row["template_id"] or "").strip()
                ids = {template_id.lower()} | {
                    x.strip().lower()
                    for x in (row.get("equivalent_template_ids") or "").split(";")
                    if x.strip()
                }
                rows.append(((row["file"] or "").strip(), ids, template_id))
    except (UnicodeDecodeError, csv.Error) as e:
        raise DankError(
            f"--csv {path}: not a UTF-8 CSV file ({e}); save it as CSV UTF-8"
        ) from e
    if not rows:
        raise DankError(f"--csv {path}: no rows")
    return rows


def _matches(template, ids):
    return bool(
        {template["id"].lower(), *(a.lower() for a in template["aliases"])} & ids
    )


def known_ids(catalogue):
    """Every template id and alias of ``catalogue``, lower case."""
    return {x.lower() for t in catalogue for x in (t.id, *t.aliases)}


def split_rows(rows, images_dir, known):
    """Sets aside the rows of ``read_labels`` that cannot be classified.

    Returns:
        ``(to_classify, bad)``: ``bad`` maps ``MISSING_FILE`` (no such file in
        ``images_dir``) and ``UNKNOWN_TEMPLATE`` (none of the row's ids is in
        ``known``) to their rows; a row is counted once, under the first.
    """
    to_classify, bad = [], {MISSING_FILE: [], UNKNOWN_TEMPLATE: []}
    for row in rows:
        file, ids, _ = row
        if not file or not (Path(images_dir) / file).is_file():
            bad[MISSING_FILE].append(row)
        elif not ids & known:
            bad[UNKNOWN_TEMPLATE].append(row)
        else:
            to_classify.append(row)
    return to_classify, bad


def bad_rows_report(bad):
    """``{kind: {"count", "examples"}}``: how many rows of each kind were bad,
    and the first ``BAD_EXAMPLES`` files (template ids for unknown templates)."""
    return {
        kind: {
            "count": len(rows),
            "examples": [
                (row[2] if kind == UNKNOWN_TEMPLATE else row[0]) or "(blank)"
                for row in rows[:BAD_EXAMPLES]
            ],
        }
        for kind, rows in bad.items()
    }


def evaluate_templates(classifier, csv_path, images_dir, second_look=None, views=True):
    """Classifies every listed image with ``classifier`` (``Run.classifier``)
    and scores it; ``views`` and ``second_look`` (a ``rerank.SecondLook``)
    re-order the candidates as in ``predict.classify_files``.

    Returns:
        ``{"n", "top1", "top5", "scored", "top1_scored", "top5_scored",
        "known_rate", "ranked_by", "bad_rows", "errors": [...], "per_template":
        {template_id: {"n", "top1", "top5"}}}``; ``ranked_by`` says how
        (``"whole picture"``, ``"views"``, plus ``"+ second look"``). ``n``
        counts every row: rows whose file is missing, whose template the run
        does not know, or whose image does not decode count as wrong, and
        ``bad_rows`` counts and names them (``bad_rows_report``); ``*_scored``
        and ``known_rate`` are over the ``scored`` rest. ``errors`` holds the
        decode errors.
    """
    all_rows = read_labels(csv_path)
    if not Path(images_dir).is_dir():
        raise DankError(f"--images {images_dir}: no such folder")
    rows, bad = split_rows(all_rows, images_dir, known_ids(classifier.catalogue))
    bad[UNREADABLE] = []
    paths = [Path(images_dir) / file for file, _, _ in rows]
    per = defaultdict(lambda: {"n": 0, "top1": 0, "top5": 0})
    errors, known, n, hits1, hits5 = [], 0, 0, 0, 0
    results = track(
        classify_files(
            paths, classifier, top_k=TOP_K, second_look=second_look, views=views
        ),
        "templates",
        total=len(paths),
        unit="images",
    )
    # The tracked generator goes first, so it runs to its end and says "done".
    for result, row in zip(results, rows):
        _, ids, template_id = row
        if "error" in result:
            errors.append(result)
            bad[UNREADABLE].append(row)
            continue
        hit = [_matches(t, ids) for t in result["templates"]]
        n += 1
        hits1 += hit[0]
        hits5 += any(hit)
        known += result["known"]
        per[template_id]["n"] += 1
        per[template_id]["top1"] += hit[0]
        per[template_id]["top5"] += any(hit)
    for kind_rows in bad.values():
        for _, _, template_id in kind_rows:
            per[template_id]["n"] += 1  # Scored as wrong.
    per_template = {
        tid: {"n": v["n"], "top1": v["top1"] / v["n"], "top5": v["top5"] / v["n"]}
        for tid, v in sorted(per.items())
    }
    return {
        "n": len(all_rows),
        "top1": hits1 / len(all_rows),
        "top5": hits5 / len(all_rows),
        "scored": n,
        "top1_scored": hits1 / n if n else None,
        "top5_scored": hits5 / n if n else None,
        "known_rate": known / n if n else None,
        "ranked_by": ("views" if views else "whole picture")
        + (" + second look" if second_look is not None else ""),
        "bad_rows": bad_rows_report(bad),
        "errors": errors,
        "per_template": per_template,
    }
