"""Checking the humour model against people: crowd best-worst-scaling ratings.

The ratings file (``captions_humor_bws.csv`` in the shared data; never trained
on) has ``template_id``, ``uppercaption``, ``lowercaption``, ``upvote``,
``views`` and ``bws_score`` per caption. ``evaluate_ratings`` reports the
Spearman correlation with ``bws_score`` of the humour model's score, next to
raw upvotes, the upvote rate, and (given a run with a caption model) the
caption model's mean log-likelihood per token.
"""

import csv
import logging
import math
from pathlib import Path

import numpy as np

from dank.core import constants
from dank.core.errors import DankError
from dank.core.io import read_json, write_json
from dank.data import text
from dank.models.humor.config import HUMOR_DIR
from dank.models.humor.metrics import bootstrap_interval, spearman

log = logging.getLogger(__name__)
RATINGS_FILE = "ratings.json"  # Written into the run's humor/ folder.


def load_ratings(path):
    """The rated captions of ``path``: dicts with template_id, top, bottom,
    upvotes, views, bws (floats; NaN when absent)."""
    path = Path(path)
    if not path.is_file():
        raise DankError(f"ratings file {path} not found (captions_humor_bws.csv)")
    need = (
        "template_id",
        "uppercaption",
        "lowercaption",
        "upvote",
        "views",
        "bws_score",
    )
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in need if c not in (reader.fieldnames or ())]
        if missing:
            raise DankError(f"{path} lacks the column(s) {', '.join(missing)}")
        for row in reader:

            def num(name, row=row):
                try:
                    return float(row[name])
                except ValueError:
                    return math.nan

            out.append(
                {
                    "template_id": row["template_id"],
                    "top": row["uppercaption"],
                    "bottom": row["lowercaption"],
                    "upvotes": num("upvote"),
                    "views": num("views"),
                    "bws": num("bws_score"),
                }
            )
    return out


def _entry(pred, truth):
    lo, hi = bootstrap_interval(pred, truth)
    return {"spearman": spearman(pred, truth), "ci95": [lo, hi], "n": len(truth)}


def caption_loglik(caption_run, rows):
    """Mean log-likelihood per token of each caption under a run's caption model.

    Templates are looked up in the caption run's own catalogue.

    Args:
        caption_run: a ``dank.models.run.Run`` with a caption model.
        rows: rated captions (``load_ratings``).

    Returns:
        ``(loglik, known)``: float64 values for the captions whose template the
        caption model knows, and the boolean mask of those captions.
    """
    from dank.models.language.perplexity import caption_nll

    model, vocab = caption_run.captioner(), caption_run.vocab
    catalogue = caption_run.catalogue
    known, captions = [], []
    for r in rows:
        try:
            label = catalogue.label_of(r["template_id"])
        except DankError:
            known.append(False)
            continue
        known.append(True)
        ids = vocab.encode(text.caption_tokens(r["top"], r["bottom"]))
        captions.append({"label": label, "tokens": ids})
    known = np.array(known, dtype=bool)
    if not captions:
        return np.zeros(0), known
    nll, tokens = caption_nll(model, captions)
    return -np.asarray(nll) / np.maximum(np.asarray(tokens), 1), known


def evaluate_ratings(run, ratings_path, caption_run=None):
    """Spearman correlations with the crowd ratings; also writes humor/ratings.json.

    Args:
        run: a ``dank.models.run.Run`` with a humour model.
        ratings_path: the ratings CSV.
        caption_run: a ``Run`` with a caption model (default ``run`` if it has
            one); its catalogue must match.

    Returns:
        A dict of ``{"spearman", "ci95", "n"}`` entries by scorer, with counts.
    """
    rows = [r for r in load_ratings(ratings_path) if not math.isnan(r["bws"])]
    scorer, catalogue = run.humor, run.catalogue
    labels = []
    for r in rows:
        try:
            labels.append(catalogue.label_of(r["template_id"]))
        except DankError:
            labels.append(None)
    captions = [(r["top"], r["bottom"]) for r in rows]
    bws = np.array([r["bws"] for r in rows])
    upvotes = np.array([r["upvotes"] for r in rows])
    views = np.array([r["views"] for r in rows])
    model = scorer.score(captions, labels)
    free = scorer.score(captions, None)
    known = np.array([lab is not None for lab in labels])
    trained = read_json(run.layout.metrics_file(HUMOR_DIR), what="humour metrics")
    from dank.models.humor.train import file_digest

    result = {
        "ratings": str(ratings_path),
        "trained_without_these_ratings": trained.get("holdout_sha256")
        == file_digest(ratings_path),
        "target": trained.get("target"),
        "captions": len(rows),
        "known_templates": int(known.sum()),
        "humor_model": _entry(model, bws),
        "humor_model_template_free": _entry(free, bws),
        "humor_model_known_templates": _entry(model[known], bws[known]),
        "raw_upvotes": _entry(upvotes, bws),
        "upvote_rate": _entry(upvotes / np.maximum(views, 1.0), bws),
    }
    lo, hi = bootstrap_interval(model, bws, baseline=upvotes)
    result["humor_model_minus_raw_upvotes"] = {
        "spearman": result["humor_model"]["spearman"]
        - result["raw_upvotes"]["spearman"],
        "ci95": [lo, hi],
        "n": len(bws),
    }
    if not result["trained_without_these_ratings"]:
        log.warning(
            "the humour model was not trained with --holdout %s: ratings of "
            "captions it saw in training may inflate the numbers",
            ratings_path,
        )
    if caption_run is None and run.has(constants.LANGUAGE_DIR):
        caption_run = run
    if caption_run is not None:
        ll, with_model = caption_loglik(caption_run, rows)
        if with_model.any():
            result["caption_loglik"] = _entry(ll, bws[with_model])
            result["humor_model_same_captions"] = _entry(
                model[with_model], bws[with_model]
            )
            result["raw_upvotes_same_captions"] = _entry(
                upvotes[with_model], bws[with_model]
            )
    write_json(run.layout.component_dir(HUMOR_DIR) / RATINGS_FILE, result)
    return result
