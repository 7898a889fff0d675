"""Training targets: how funny a caption was, fairly across templates and eras.

Every target is a mid-rank percentile (0..1) within the caption's template, so
a template whose memes all collect many votes does not dominate. They differ in
how views (exposure) enter:

* ``percentile``: of raw upvotes. Ignores exposure: a caption shown to few
  people cannot collect many votes, so this partly ranks luck.
* ``smoothed_rate``: of the upvote rate ``(u + a m) / (v + a)``, a Bayesian
  (beta-binomial style) shrinkage of ``u / v`` towards the template's mean rate
  ``m = sum u / sum v`` with a prior worth ``a`` views (default: the template's
  median views). Rates of rarely seen captions fall back to the norm.
* ``residual``: of the residual of ``log1p(u)`` after a least-squares line on
  ``log1p(v)`` within the template: votes beyond what the exposure predicts.

Example, one template, three captions (upvotes, views)::

    (10, 100), (10, 10000), (0, 50)
    percentile:     0.75, 0.75, 0.0    # ties share their mean rank
    residual:       caption 1 beats caption 2: same votes from less exposure
"""

import numpy as np

from dank.data.splits import percentiles
from dank.models.humor.config import TARGETS


def _groups(groups):
    """Index arrays of the members of each group, in first-seen order."""
    groups = np.asarray(groups)
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    order = np.argsort(first)
    members = [[] for _ in first]
    for i, g in enumerate(inverse.ravel()):
        members[g].append(i)
    return [np.asarray(members[g]) for g in order]


def _within(values, groups):
    out = np.zeros(len(values))
    for idx in _groups(groups):
        out[idx] = percentiles(values[idx])
    return out


def percentile_target(upvotes, groups):
    """Percentile of raw upvotes within each group (template)."""
    return _within(np.asarray(upvotes, dtype=np.float64), groups)


def smoothed_rates(upvotes, views, groups, prior_views=0.0):
    """Upvote rates shrunk towards each template's mean rate.

    Args:
        upvotes: upvotes per caption (>= 0).
        views: views per caption (>= 0; fewer views than upvotes are raised).
        groups: the template of each caption.
        prior_views: prior strength in views; 0 uses each template's median views.

    Returns:
        float64 rates, one per caption.
    """
    u = np.asarray(upvotes, dtype=np.float64)
    v = np.maximum(np.asarray(views, dtype=np.float64), u)
    out = np.zeros(len(u))
    for idx in _groups(groups):
        mean_rate = u[idx].sum() / max(v[idx].sum(), 1.0)
        a = prior_views if prior_views > 0 else max(float(np.median(v[idx])), 1.0)
        out[idx] = (u[idx] + a * mean_rate) / (v[idx] + a)
    return out


def vote_residuals(upvotes, views, groups):
    """Residuals of log1p(upvotes) on log1p(views), fitted within each template.

    A template with fewer than 3 captions or constant views gets residuals from
    its mean only (no slope can be fitted).
    """
    y = np.log1p(np.asarray(upvotes, dtype=np.float64))
    x = np.log1p(np.asarray(views, dtype=np.float64))
    out = np.zeros(len(y))
    for idx in _groups(groups):
        xi, yi = x[idx], y[idx]
        dx = xi - xi.mean()
        slope = (
            (dx @ (yi - yi.mean())) / (dx @ dx) if len(idx) >= 3 and dx @ dx > 0 else 0
        )
        out[idx] = yi - yi.mean() - slope * dx
    return out


def compute_target(name, upvotes, views, groups, prior_views=0.0):
    """The training target ``name`` (one of ``TARGETS``), in [0, 1] per caption.

    Raises:
        ValueError: unknown target, or mismatched lengths.
    """
    if name not in TARGETS:
        raise ValueError(f"unknown humour target {name!r}; choose one of {TARGETS}")
    if not len(upvotes) == len(views) == len(groups):
        raise ValueError(
            f"upvotes, views and groups differ in length: {len(upvotes)}, "
            f"{len(views)}, {len(groups)}"
        )
    if name == "percentile":
        return percentile_target(upvotes, groups)
    if name == "smoothed_rate":
        values = smoothed_rates(upvotes, views, groups, prior_views)
    else:
        values = vote_residuals(upvotes, views, groups)
    return _within(values, groups)
