"""A second look at the classifier's top candidates, at a higher resolution.

The classifier sees a meme at its input size (64 px for the full catalogue),
where look-alike templates (advice animals on the same colour wheel, Drake and
other two-panel pictures) blur together, and a caption box over the subject
hides most of what it learned. The second look finds each of the top
``TOP_K`` candidates' pictures in the meme by SIFT keypoints at
``keypoints.SIDE`` pixels (``dank.core.keypoints``): whatever part of the
picture is still visible, cropped, framed, stacked or re-compressed, matches
under one scale-and-shift, and the number of such inliers says how much of
the candidate is there. The candidates are re-ordered by

    log p(template) + weight * inliers

with ``weight`` fitted on a validation set rendered from the *val* split
(``experiments/vision/standins.py``), never on the test-split stand-in. Only
the order of the top ``TOP_K`` changes; their probabilities and the ``known``
decision stay the classifier's.
"""

import logging
from pathlib import Path

import numpy as np

from dank.core import keypoints
from dank.core.errors import DankError

log = logging.getLogger(__name__)

TOP_K = 30  # Candidates looked at again.
# Templates whose features are kept (about 40 kB each), oldest dropped first:
# more than the full catalogue's 2,980, whose top 30s soon visit them all (a
# cache of 512 was re-filled for every meme: 4.9 images/s instead of 23).
CACHE = 4096
TRIM_STD = 6.0  # Edge rows/columns flatter than this (pixel std) are a border.
# Weights of inliers x agreement and of agreement against log-probability;
# fitted by experiments/vision/standins.py on the full run's val-split wild
# memes (vision-full-agreement-2026-12-05.json); for the model trained with
# heavier memes they tie for the best with 0.1 and 10 (97.2% on val,
# vision-full-heavier-2026-12-05.json).
WEIGHT = 0.3
AGREE = 5.0


def trim_borders(array, std=TRIM_STD):
    """Drops uniform rows and columns (borders, padding) at the edges of
    ``array`` [H, W, C]; keeps it whole when that would leave too little."""
    gray = array.mean(axis=2)
    rows = np.flatnonzero(gray.std(axis=1) > std)
    cols = np.flatnonzero(gray.std(axis=0) > std)
    if rows.size < 8 or cols.size < 8:
        return array
    return array[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def combine(probs, evidence, weight=WEIGHT, agree=AGREE):
    """The second look's score of candidates with probabilities ``probs``
    [..., K] and evidence [..., K, 2] (``SecondLook.scores``: inliers and their
    colour agreement); higher is better."""
    inliers, agreement = evidence[..., 0], evidence[..., 1]
    return np.log(np.maximum(probs, 1e-12)) + (weight * inliers + agree) * agreement


def ranking(probs, evidence, weight=WEIGHT, agree=AGREE):
    """All labels of ``probs`` [C], best first: the top ``len(evidence)`` by
    probability re-ordered by ``combine``, then the rest by probability."""
    ranked = np.argsort(-probs, kind="stable")
    top = ranked[: len(evidence)]
    combined = combine(probs[top], evidence, weight, agree)
    return np.concatenate(
        [top[np.argsort(-combined, kind="stable")], ranked[len(evidence) :]]
    )


class SecondLook:
    """Re-ranks a classifier's top candidates by finding their pictures.

    Args:
        picture_of: a function from a catalogue template to its PIL picture
            (e.g. ``dank.core.images.template_picture`` of the run's data build).
        weight: weight of inliers x agreement against the log-probability.
        agree: weight of the agreement against the log-probability.
        top_k: candidates looked at again.
    """

    def __init__(self, picture_of, weight=WEIGHT, agree=AGREE, top_k=TOP_K):
        self.picture_of = picture_of
        self.weight = float(weight)
        self.agree = float(agree)
        self.top_k = int(top_k)
        self._templates = {}

    def _template(self, template):
        if template.label not in self._templates:
            try:
                picture = self.picture_of(template)
            except DankError as e:  # A lost picture: that candidate scores 0.
                log.warning("second look: no picture of %s: %s", template.id, e)
                picture = np.zeros((1, 1, 3), np.uint8)
            if len(self._templates) >= CACHE:  # Bounded for a long-lived serve.
                self._templates.pop(next(iter(self._templates)))
            self._templates[template.label] = (
                keypoints.features(picture),
                keypoints.shrunk(picture, keypoints.AGREE_SIDE, "RGB"),
            )
        return self._templates[template.label]

    def scores(self, picture, labels, catalogue):
        """Evidence for each of ``labels`` in ``picture`` (PIL or uint8
        [H, W, 3] array): float64 [len(labels), 2] of its picture's inliers
        and their colour agreement."""
        colour = keypoints.shrunk(picture, keypoints.SIDE, "RGB")
        query = keypoints.features(colour)
        out = np.zeros((len(labels), 2))
        for row, label in enumerate(labels):
            features, small = self._template(catalogue[int(label)])
            found = keypoints.match(query, features)
            out[row, 0] = found.inliers
            out[row, 1] = keypoints.agreement(colour, small, query, features, found)
        return out

    def order(self, picture, probs, catalogue):
        """All labels, best first: the top ``top_k`` of ``probs`` re-ordered by
        the second look, then the rest by probability."""
        top = np.argsort(-probs, kind="stable")[: self.top_k]
        evidence = self.scores(picture, top, catalogue)
        return ranking(probs, evidence, self.weight, self.agree)

    def reordered(self, picture, probs, catalogue):
        """``probs`` with its top ``top_k`` values handed out in the second
        look's order: its argmax is the second look's choice, and a mix of the
        top templates (``--mix-top-k``) still mixes by the classifier's
        confidence."""
        top = self.order(picture, probs, catalogue)[: self.top_k]
        out = np.array(probs, copy=True)
        out[top] = np.sort(probs[top])[::-1]
        return out


def for_build(data_dir):
    """A ``SecondLook`` at the template pictures of the data build
    ``data_dir`` (``Run.data_dir``), or ``None`` with a warning when the build
    is gone: the classifier's ranking then stands alone."""
    from dank.core.images import open_image
    from dank.core.run import TEMPLATES_DIR, template_image_path

    if data_dir is None or not (Path(data_dir) / TEMPLATES_DIR).is_dir():
        log.warning(
            "no second look: the run's data build %s, whose template pictures "
            "it compares, is gone; rebuild it with `make data` (or pass "
            "--no-second-look)",
            data_dir,
        )
        return None
    return SecondLook(lambda t: open_image(template_image_path(data_dir, t)))
