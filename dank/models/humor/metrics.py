"""Rank correlation with a bootstrap interval (numpy only; no scipy in the deps)."""

import numpy as np

from dank.data.splits import percentiles


def spearman(a, b):
    """Spearman's rho of two equal-length sequences (ties get mean ranks).

    Returns NaN when either side is constant or shorter than 2.
    """
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if len(a) != len(b):
        raise ValueError(f"spearman of sequences of {len(a)} and {len(b)} values")
    if len(a) < 2:
        return float("nan")
    ra, rb = percentiles(a), percentiles(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = np.sqrt((ra @ ra) * (rb @ rb))
    return float(ra @ rb / denom) if denom > 0 else float("nan")


def bootstrap_interval(a, b, n=1000, seed=0, level=0.95, baseline=None):
    """A percentile bootstrap interval of ``spearman(a, b)`` (resampling pairs).

    With ``baseline`` (scores of another method for the same items), the
    interval is of ``spearman(a, b) - spearman(baseline, b)`` on the same
    resamples: a paired test of whether ``a`` beats the baseline.
    """
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    base = None if baseline is None else np.asarray(baseline, np.float64).ravel()
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n):
        idx = rng.integers(0, len(a), len(a))
        value = spearman(a[idx], b[idx])
        if base is not None:
            value -= spearman(base[idx], b[idx])
        values.append(value)
    lo, hi = np.nanquantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)
