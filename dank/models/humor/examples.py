"""Training examples: build records joined with their upvotes and views.

The exposure-corrected targets need each caption's raw upvotes and views. Builds
store them in the caption records (``caption/upvotes``, ``caption/views``), read
once with the rest of the source (``votes=RECORDS``). Builds made before those
keys existed have only the upvote percentile, so for them the upvotes and views
are read again from the build's source CSV (``source_votes``) and joined on the
template label and the normalised caption text (``dank.data.text``), exactly as
the build keyed its duplicates. Captions named in a holdout file (the crowd
humour ratings) are removed here, whatever their template.
"""

import logging
import math
from pathlib import Path

import numpy as np

from dank.core import constants
from dank.core.errors import DankError
from dank.core.io import read_json
from dank.data import records, sources, text

log = logging.getLogger(__name__)

UPVOTES = records.UPVOTES  # The only score type that comes with views.
RECORDS = "records"  # load_examples(votes=RECORDS): the records' own votes.


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


def stores_votes(data_dir):
    """True when the build's records carry upvotes and views (``summary.json``
    counts them), so ``load_examples(..., votes=RECORDS)`` needs no source."""
    path = Path(data_dir) / "summary.json"
    if not path.is_file():
        return False
    return "captions_with_votes" in read_json(path, what="build summary")


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
        votes: ``RECORDS`` (the upvotes and views stored in the records, see
            ``stores_votes``), or ``source_votes`` output; ``None`` keeps only the
            records' upvote percentile (then only the ``percentile`` target can
            be computed).
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
    joined = votes is not None and votes != RECORDS
    for c in load_captions(data_dir, split):
        key = text.caption_key(c["top"], c["bottom"]) if exclude or joined else None
        if exclude and key in exclude:
            excluded += 1
            continue
        if votes is not None:
            hit = votes.get((c["label"], key)) if joined else (c["upvotes"], c["views"])
            if hit is None or math.isnan(hit[0]) or math.isnan(hit[1]):
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
