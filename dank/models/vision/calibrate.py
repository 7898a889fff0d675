"""The known/unknown decision: a threshold on the classifier's top probability.

``known = max_prob >= threshold``. The threshold maximises balanced accuracy
(mean of the share of validation memes kept as known and the share of unknown
pictures rejected) on the validation set; ties go to the lower threshold, so
fewer real memes are thrown away.

The rates written beside it are measured on a held-out half (every other
example, known and unknown alike), not on the half the threshold was chosen
on, so they are not flattered by the choice. ``error_rates`` reports a
threshold on any other set (``experiments/vision/standins.py`` reports on
the wild stand-in and on memes outside the catalogue).
"""

import numpy as np

METHOD = "max_prob"
# With no unknown examples, keep this share of known validation memes.
FALLBACK_KNOWN_RECALL = 0.99


def _pick(known, unknown):
    if unknown.size == 0:
        return float(np.quantile(known, 1 - FALLBACK_KNOWN_RECALL))
    candidates = np.unique(np.concatenate([known, unknown, [0.0]]))
    kept = (known[None, :] >= candidates[:, None]).mean(axis=1)
    rejected = (unknown[None, :] < candidates[:, None]).mean(axis=1)
    return float(candidates[int(np.argmax((kept + rejected) / 2))])


def error_rates(threshold, known_max_prob, unknown_max_prob):
    """``{"false_reject", "false_accept", "n_known", "n_unknown"}`` of a
    threshold: the share of known memes called unknown and of unknown pictures
    called known (None where there are none)."""
    known = np.asarray(known_max_prob, np.float64)
    unknown = np.asarray(unknown_max_prob, np.float64)
    return {
        "false_reject": float((known < threshold).mean()) if known.size else None,
        "false_accept": float((unknown >= threshold).mean()) if unknown.size else None,
        "n_known": int(known.size),
        "n_unknown": int(unknown.size),
    }


def choose_threshold(known_max_prob, unknown_max_prob, unknown_source="synthetic"):
    """Picks the threshold on one half of the examples and reports on the other.

    With fewer than two examples on a side, both halves are the whole set.

    Args:
        known_max_prob: top probability for each validation meme of a catalogue
            template.
        unknown_max_prob: top probability for each picture of no template.
        unknown_source: a note on where the unknown pictures came from.

    Returns:
        The calibration dict written to ``calibration.json``.
    """
    known = np.asarray(known_max_prob, np.float64)
    unknown = np.asarray(unknown_max_prob, np.float64)
    if known.size == 0:
        raise ValueError("choose_threshold needs at least one known example")
    fit_known, held_known = _halves(known)
    fit_unknown, held_unknown = _halves(unknown)
    threshold = _pick(fit_known, fit_unknown)
    rates = error_rates(threshold, held_known, held_unknown)
    rejected = rates["false_accept"]
    return {
        "method": METHOD,
        "threshold": threshold,
        "known_recall": 1.0 - rates["false_reject"],
        "unknown_rejection": None if rejected is None else 1.0 - rejected,
        "n_known": int(known.size),
        "n_unknown": int(unknown.size),
        "unknown_source": unknown_source,
        "rule": "known = max softmax probability >= threshold",
        "reported_on": "held-out half" if held_known is not known else "all",
    }


def _halves(values):
    """(even-indexed, odd-indexed) examples; the whole set twice if under 2."""
    if values.size < 2:
        return values, values
    return values[0::2], values[1::2]


def is_known(max_prob, calibration):
    """Applies a calibration dict to top probabilities (array or scalar)."""
    return np.asarray(max_prob) >= calibration["threshold"]
