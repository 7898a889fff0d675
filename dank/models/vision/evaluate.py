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
from dank.models.vision.predict import classify_files, load_classifier

TOP_K = 5


def read_labels(csv_path):
    """Reads the evaluation CSV into ``[(file, {ids}, template_id)]``."""
    path = Path(csv_path)
    if not path.is_file():
        raise DankError(f"--csv {path}: no such file")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"file", "template_id"} - set(reader.fieldnames or ())
        if missing:
            raise DankError(
                f"--csv {path}: missing column(s) {', '.join(sorted(missing))}; need "
                "file, template_id and optionally equivalent_template_ids"
            )
        rows = []
        for row in reader:
            ids = {row["template_id"].strip().lower()}
            ids |= {
                x.strip().lower()
                for x in (row.get("equivalent_template_ids") or "").split(";")
                if x.strip()
            }
            rows.append((row["file"], ids, row["template_id"].strip()))
    if not rows:
        raise DankError(f"--csv {path}: no rows")
    return rows


def _matches(template, ids):
    return bool(
        {template["id"].lower(), *(a.lower() for a in template["aliases"])} & ids
    )


def evaluate_templates(run_dir, csv_path, images_dir, classifier=None):
    """Classifies every listed image and scores it.

    Returns:
        ``{"n", "top1", "top5", "known_rate", "errors": [...], "per_template":
        {template_id: {"n", "top1", "top5"}}}``; files that cannot be read are
        listed under ``errors`` and left out of ``n``.
    """
    rows = read_labels(csv_path)
    classifier = classifier or load_classifier(run_dir)
    paths = [Path(images_dir) / file for file, _, _ in rows]
    per = defaultdict(lambda: {"n": 0, "top1": 0, "top5": 0})
    errors, known, n, hits1, hits5 = [], 0, 0, 0, 0
    results = track(
        classify_files(paths, run_dir, top_k=TOP_K, classifier=classifier),
        "templates",
        total=len(paths),
        unit="images",
    )
    # The tracked generator goes first, so it runs to its end and says "done".
    for result, (_, ids, template_id) in zip(results, rows):
        if "error" in result:
            errors.append(result)
            continue
        hit = [_matches(t, ids) for t in result["templates"]]
        n += 1
        hits1 += hit[0]
        hits5 += any(hit)
        known += result["known"]
        per[template_id]["n"] += 1
        per[template_id]["top1"] += hit[0]
        per[template_id]["top5"] += any(hit)
    per_template = {
        tid: {"n": v["n"], "top1": v["top1"] / v["n"], "top5": v["top5"] / v["n"]}
        for tid, v in sorted(per.items())
    }
    return {
        "n": n,
        "top1": hits1 / n if n else None,
        "top5": hits5 / n if n else None,
        "known_rate": known / n if n else None,
        "errors": errors,
        "per_template": per_template,
    }
