"""Deterministic train/val/test splits and within-template score percentiles.

Splits are stratified by template and leak-free:

* Within each template, captions are ordered by a seeded hash of their
  normalised text and cut at 80% / 90%, so every template with enough captions
  appears in every split in the same proportions.
* A text that occurs under several templates (exact duplicates within one
  template were dropped before) is then forced into the split its hash alone
  picks, so no caption text is shared between splits.
"""

import hashlib

import numpy as np

from dank.core import constants

FRACTIONS = (0.8, 0.1, 0.1)  # train, val, test.


def hash01(key, seed):
    """A uniform number in [0, 1) from ``key`` and ``seed``, stable across runs."""
    digest = hashlib.sha1(f"{seed}\x00{key}".encode()).hexdigest()
    return int(digest[:15], 16) / 16**15


def _split_at(position, fractions):
    edge = 0.0
    for name, fraction in zip(constants.SPLITS, fractions):
        edge += fraction
        if position < edge:
            return name
    return constants.SPLITS[-1]


def assign_splits(groups, keys, seed=0, fractions=FRACTIONS):
    """Assigns each caption to a split.

    Args:
        groups: the template (label or id) of each caption.
        keys: the normalised text of each caption (``text.caption_key``).
        seed: changes the assignment; the same seed gives the same splits.
        fractions: shares of train, val and test.

    Returns:
        A list with ``"train"``, ``"val"`` or ``"test"`` per caption.
    """
    hashes = [hash01(k, seed) for k in keys]
    by_group = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    out = [None] * len(keys)
    for members in by_group.values():
        members.sort(key=lambda i: (hashes[i], keys[i]))
        n = len(members)
        for rank, i in enumerate(members):
            out[i] = _split_at((rank + 0.5) / n, fractions)
    seen = {}
    for i, k in enumerate(keys):
        seen.setdefault(k, set()).add(out[i])
    for i, k in enumerate(keys):
        if len(seen[k]) > 1:
            out[i] = _split_at(hashes[i], fractions)
    return out


def percentiles(values):
    """The mid-rank percentile (0..1) of each value among ``values``.

    Ties share the mean of their ranks; a single value gets 0.5.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return np.zeros(0)
    if n == 1:
        return np.full(1, 0.5)
    ordered = np.sort(values)
    less = np.searchsorted(ordered, values, side="left")
    equal = np.searchsorted(ordered, values, side="right") - less
    return (less + (equal - 1) / 2) / (n - 1)
