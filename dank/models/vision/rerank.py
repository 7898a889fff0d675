"""A second look at the classifier's top candidates, at a higher resolution.

The classifier sees a meme at its input size (64 px for the full catalogue),
where look-alike templates (advice animals on the same colour wheel, Drake and
other two-panel pictures) blur together. The second look compares the meme at
``SIDE`` pixels, with its uniform borders trimmed, against the picture of each
of the top ``TOP_K`` candidates: the best normalised cross-correlation (NCC,
colour) of the template slid over the meme at a few scales, so crops, frames
and stacked panels still line up somewhere. The candidates are re-ordered by

    log p(template) + weight * NCC

with ``weight`` fitted on a validation set rendered from the *val* split
(``experiments/vision/standins.py``), never on the test-split stand-in. Only
the order of the top ``TOP_K`` changes; their probabilities and the ``known``
decision stay the classifier's.
"""

import numpy as np
from PIL import Image
from scipy.signal import fftconvolve

TOP_K = 5  # Candidates looked at again.
SIDE = 128  # Longer side of the meme at the second look, pixels.
SCALES = (1.0, 0.85, 0.7, 0.55)  # Template width as a share of the meme's.
TRIM_STD = 6.0  # Edge rows/columns flatter than this (pixel std) are a border.
# NCC weight against log-probability; fitted by experiments/vision/standins.py
# on the starter run's val-split wild memes (see its results file).
WEIGHT = 8.0


def trim_borders(array, std=TRIM_STD):
    """Drops uniform rows and columns (borders, padding) at the edges of
    ``array`` [H, W, C]; keeps it whole when that would leave too little."""
    gray = array.mean(axis=2)
    rows = np.flatnonzero(gray.std(axis=1) > std)
    cols = np.flatnonzero(gray.std(axis=0) > std)
    if rows.size < 8 or cols.size < 8:
        return array
    return array[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _as_array(picture, width, height):
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    resized = image.convert("RGB").resize(
        (max(1, width), max(1, height)), Image.Resampling.BILINEAR
    )
    return np.asarray(resized, np.float32)


def prepare(picture):
    """The meme as float32 [h, w, 3], borders trimmed, longer side ``SIDE``."""
    array = trim_borders(np.asarray(picture.convert("RGB"), np.float32))
    h, w = array.shape[:2]
    scale = SIDE / max(h, w)
    return _as_array(array.astype(np.uint8), round(w * scale), round(h * scale))


def _window_sum(a, h, w):
    c = np.pad(a, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    return c[h:, w:] - c[:-h, w:] - c[h:, :-w] + c[:-h, :-w]


def best_ncc(query, template):
    """The best NCC of ``template`` slid over ``query`` (both [h, w, 3] float),
    over ``SCALES``; a template taller or wider than the query is centre-cropped
    to it. 1 is a perfect match, around 0 no relation."""
    qh, qw = query.shape[:2]
    squares = (query**2).sum(axis=2)
    best = -1.0
    for scale in SCALES:
        tw = max(4, round(qw * scale))
        th = max(4, round(template.shape[0] * tw / template.shape[1]))
        kernel = _as_array(template.astype(np.uint8), tw, th)
        top, left = max(0, (th - qh) // 2), max(0, (tw - qw) // 2)
        kernel = kernel[top : top + qh, left : left + qw]
        h, w = kernel.shape[:2]
        kernel = kernel - kernel.mean(axis=(0, 1))
        norm = np.sqrt((kernel**2).sum())
        if norm < 1e-3:
            continue
        corr = sum(
            fftconvolve(query[..., c], kernel[::-1, ::-1, c], mode="valid")
            for c in range(3)
        )
        sums = [_window_sum(query[..., c], h, w) for c in range(3)]
        var = _window_sum(squares, h, w) - sum(s**2 for s in sums) / (h * w)
        ncc = corr / (norm * np.sqrt(np.maximum(var, 1e-3)))
        best = max(best, float(ncc.max()))
    return best


class SecondLook:
    """Re-ranks a classifier's top candidates by matching template pictures.

    Args:
        picture_of: a function from a catalogue template to its RGB PIL
            picture (``Run.template_image``).
        weight: NCC weight against the log-probability.
        top_k: candidates looked at again.
    """

    def __init__(self, picture_of, weight=WEIGHT, top_k=TOP_K):
        self.picture_of = picture_of
        self.weight = float(weight)
        self.top_k = int(top_k)
        self._templates = {}

    def _template(self, template):
        if template.label not in self._templates:
            picture = self.picture_of(template).copy()
            picture.thumbnail((2 * SIDE, 2 * SIDE))
            self._templates[template.label] = np.asarray(
                picture.convert("RGB"), np.float32
            )
        return self._templates[template.label]

    def scores(self, picture, labels, catalogue):
        """NCC of ``picture`` (PIL or uint8 array) against each of ``labels``."""
        if not isinstance(picture, Image.Image):
            picture = Image.fromarray(np.asarray(picture, np.uint8))
        query = prepare(picture)
        return np.array(
            [best_ncc(query, self._template(catalogue[int(i)])) for i in labels]
        )

    def order(self, picture, probs, catalogue, weight=None):
        """All labels, best first: the top ``top_k`` of ``probs`` re-ordered by
        the second look, then the rest by probability."""
        ranked = np.argsort(-probs, kind="stable")
        top = ranked[: self.top_k]
        weight = self.weight if weight is None else weight
        ncc = self.scores(picture, top, catalogue)
        combined = np.log(np.maximum(probs[top], 1e-12)) + weight * ncc
        return np.concatenate(
            [top[np.argsort(-combined, kind="stable")], ranked[self.top_k :]]
        )
