"""The known/unknown decision: a threshold on the classifier's top probability.

``known = max_prob >= threshold``. The threshold maximises balanced accuracy
(mean of the share of validation memes kept as known and the share of unknown
pictures rejected) on the validation set; ties go to the lower threshold, so
fewer real memes are thrown away.
"""

import numpy as np

METHOD = "max_prob"
# With no unknown examples, keep this share of known validation memes.
FALLBACK_KNOWN_RECALL = 0.99


def choose_threshold(known_max_prob, unknown_max_prob, unknown_source="synthetic"):
    """Picks the threshold and reports how it does on the data it was chosen on.

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
    if unknown.size == 0:
        threshold = float(np.quantile(known, 1 - FALLBACK_KNOWN_RECALL))
    else:
        candidates = np.unique(np.concatenate([known, unknown, [0.0]]))
        kept = (known[None, :] >= candidates[:, None]).mean(axis=1)
        rejected = (unknown[None, :] < candidates[:, None]).mean(axis=1)
        score = (kept + rejected) / 2
        threshold = float(candidates[int(np.argmax(score))])
    return {
        "method": METHOD,
        "threshold": threshold,
        "known_recall": float((known >= threshold).mean()),
        "unknown_rejection": float((unknown < threshold).mean())
        if unknown.size
        else None,
        "n_known": int(known.size),
        "n_unknown": int(unknown.size),
        "unknown_source": unknown_source,
        "rule": "known = max softmax probability >= threshold",
    }


def is_known(max_prob, calibration):
    """Applies a calibration dict to top probabilities (array or scalar)."""
    return np.asarray(max_prob) >= calibration["threshold"]
