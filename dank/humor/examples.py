"""Training examples: build records joined with upvotes and views from the source.

Caption records carry the upvote percentile (``caption/score``) but not the
views, which the exposure-corrected targets need. So the upvotes and views are
read from the build's source CSV (``dank.data.sources``) and joined on the
template label and the normalised caption text (``dank.data.text``), exactly as
the build keyed its duplicates. Captions named in a holdout file (the crowd
humour ratings) are removed here, whatever their template.
"""

import logging
import math
from pathlib import Path

import numpy as np

from dank import constants
from dank.data import sources, text
from dank.errors import DankError
from dank.io import read_json

log = logging.getLogger(__name__)

UPVOTES = "imgflip_upvotes"  # The only score type that comes with views.


def _number(value):
    try:
        x = float(value)
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def build_source(data_dir):
    """The source folder a build was made from (its ``summary.json``), or ``None``."""
    path = Path(data_dir) / "summary.json"
    if not path.is_file():
        return None
    source = read_json(path, what="build summary").get("source")
    return Path(source) if source and Path(source).is_dir() else None


def source_votes(source, catalogue):
    """Upvotes and views of every upvoted caption of ``source`` in ``catalogue``.

    Returns:
        A dict ``(label, caption_key) -> (upvotes, views)``; the first row of a
        duplicated caption wins, as in the build.
    """
    votes = {}
    for row in sources.read_captions(source):
        if row.get("score_type") != UPVOTES:
            continue
        try:
            label = catalogue.label_of(row["template_id"])
        except DankError:
            continue
        u, v = _number(row["score"]), _number(row.get("views"))
        if math.isnan(u) or math.isnan(v):
            continue
        top, bottom = text.normalize(row["top"]), text.normalize(row["bottom"])
        votes.setdefault((label, text.caption_key(top, bottom)), (u, v))
    return votes


def holdout_keys(path):
    """Normalised caption texts of a holdout CSV (never trained on).

    The CSV has ``top``/``bottom`` or ``uppercaption``/``lowercaption`` columns
    (the crowd-rating file uses the latter).
    """
    import csv

    path = Path(path)
    if not path.is_file():
        raise DankError(f"holdout file {path} not found; pass an existing CSV")
    keys = set()
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        cols = set(reader.fieldnames or ())
        if {"top", "bottom"} <= cols:
            top, bottom = "top", "bottom"
        elif {"uppercaption", "lowercaption"} <= cols:
            top, bottom = "uppercaption", "lowercaption"
        else:
            raise DankError(
                f"{path} needs top/bottom or uppercaption/lowercaption columns"
            )
        for row in reader:
            keys.add(text.caption_key(row[top] or "", row[bottom] or ""))
    return keys


def pad(token_lists, max_len):
    """Token id lists -> int32 ``[n, max_len]``, cut and padded with ``PAD_ID``."""
    out = np.full((len(token_lists), max_len), constants.PAD_ID, dtype=np.int32)
    for i, ids in enumerate(token_lists):
        ids = list(ids)[:max_len]
        out[i, : len(ids)] = ids
    return out


def load_examples(data_dir, split, votes=None, exclude=frozenset()):
    """The scored captions of one split, as arrays.

    Args:
        data_dir: a data build.
        split: ``"train"``, ``"val"`` or ``"test"``.
        votes: ``source_votes`` output; ``None`` keeps only the records' upvote
            percentile (then only the ``percentile`` target can be computed).
        exclude: normalised caption texts to leave out (``holdout_keys``).

    Returns:
        A dict of lists: ``tokens``, ``label``, ``top``, ``bottom``, ``score`` (the
        build's percentile), ``upvotes`` and ``views`` (NaN without ``votes``),
        plus the count of ``excluded`` captions.
    """
    from dank.data.pipeline import load_captions

    out = {
        k: [] for k in ("tokens", "label", "top", "bottom", "score", "upvotes", "views")
    }
    excluded = missing = 0
    for c in load_captions(data_dir, split):
        key = text.caption_key(c["top"], c["bottom"])
        if key in exclude:
            excluded += 1
            continue
        if votes is not None:
            hit = votes.get((c["label"], key))
            if hit is None:
                missing += 1
                continue
            u, v = hit
        elif c["score"] < 0:
            continue  # No votes in the source at all.
        else:
            u = v = math.nan
        for name, value in (
            ("tokens", c["tokens"]),
            ("label", c["label"]),
            ("top", c["top"]),
            ("bottom", c["bottom"]),
            ("score", c["score"]),
            ("upvotes", u),
            ("views", v),
        ):
            out[name].append(value)
    if missing:
        log.info("%s: %d captions without upvotes and views skipped", split, missing)
    out["excluded"] = excluded
    return out
