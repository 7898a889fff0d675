"""Finding one picture inside another by local features (OpenCV SIFT).

A meme is its template's picture scaled, cropped, framed, stamped and partly
covered by captions. Whatever of the picture is still visible keeps its
corners and blobs, so SIFT keypoints of the two match, and the matches that
agree on one similarity transform (scale, shift and a little rotation; RANSAC)
say how much of the picture is really there. Two different pictures rarely
share more than a handful of such *inliers*; the same picture shares dozens.

The build's merge uses it to confirm twins that the thumbnail stages missed
(``dank.data.dedupe``), and the classifier's second look to re-rank its top
candidates (``dank.models.vision.rerank``).
"""

import dataclasses

import numpy as np
from PIL import Image

SIDE = 256  # Longer side that pictures are shrunk to before SIFT, pixels.
MAX_FEATURES = 500  # Strongest SIFT keypoints kept per picture.
RATIO = 0.75  # Lowe's ratio test: best match distance / second best.
REPROJECTION = 3.0  # RANSAC inlier distance at SIDE, pixels.
MIN_MATCHES = 4  # Fewer ratio-tested matches than this: no transform is tried.
AGREE_SIDE = 64  # Longer side of the picture whose colours ``agreement`` compares.
AGREE_TOLERANCE = 15.0  # Mean absolute RGB difference (0-255) that still agrees.
SCALES = (0.2, 5.0)  # Transforms scaling beyond these are RANSAC's accidents.


@dataclasses.dataclass(frozen=True)
class Features:
    """SIFT keypoints of one picture, at most ``SIDE`` pixels on its longer side."""

    points: np.ndarray  # float32 [n, 2]: x, y in the shrunk picture.
    descriptors: np.ndarray  # uint8 [n, 128]: SIFT's are whole numbers 0-255.
    size: tuple  # (width, height) of the shrunk picture.


@dataclasses.dataclass(frozen=True)
class Match:
    """How much of one picture was found in another."""

    inliers: int  # Matches that agree on the transform.
    matches: int  # Matches that passed the ratio test.
    transform: np.ndarray | None  # float64 [2, 3]: a's points to b's, or None.

    @property
    def scale(self):
        """How much bigger b shows a's picture than a does (0 without one)."""
        if self.transform is None:
            return 0.0
        return float(np.hypot(*self.transform[:, 0]))

    @property
    def rotation(self):
        """The transform's rotation, degrees (0 without one)."""
        if self.transform is None:
            return 0.0
        return float(np.degrees(np.arctan2(self.transform[1, 0], self.transform[0, 0])))


def _cv2():
    import cv2  # Imported on first use: it loads OpenCV's native libraries.

    return cv2


def shrunk(picture, side=SIDE, mode="L"):
    """``picture`` (PIL image or uint8 [H, W, 3 or 1] array) as a uint8 array
    in ``mode`` ("L": grayscale [H, W]; "RGB": [H, W, 3]) whose longer side is
    at most ``side``."""
    if not isinstance(picture, Image.Image):
        pixels = np.asarray(picture, np.uint8)
        if pixels.ndim == 3 and pixels.shape[2] == 1:
            pixels = pixels[..., 0]
        picture = Image.fromarray(pixels)
    picture = picture.convert(mode)
    if max(picture.size) > side:
        picture = picture.copy()
        picture.thumbnail((side, side), Image.Resampling.BOX)
    return np.asarray(picture)


def features(picture, side=SIDE):
    """The ``Features`` of ``picture`` (PIL image or uint8 array), shrunk to
    grayscale at most ``side`` pixels on its longer side (``shrunk``)."""
    pixels = shrunk(picture, side)
    sift = _cv2().SIFT_create(nfeatures=MAX_FEATURES)  # Cheap; not shared by threads.
    keypoints, descriptors = sift.detectAndCompute(pixels, None)
    if descriptors is None:
        descriptors = np.zeros((0, 128), np.float32)
    points = np.float32([k.pt for k in keypoints]).reshape(-1, 2)
    # A quarter of float32's memory: the second look keeps every template's.
    descriptors = np.clip(np.rint(descriptors), 0, 255).astype(np.uint8)
    return Features(points, descriptors, (pixels.shape[1], pixels.shape[0]))


def match(a, b):
    """The ``Match`` of ``Features`` ``a`` in ``Features`` ``b``."""
    if len(a.descriptors) < 2 or len(b.descriptors) < 2:
        return Match(0, 0, None)
    pairs = (
        _cv2()
        .BFMatcher()
        .knnMatch(np.float32(a.descriptors), np.float32(b.descriptors), k=2)
    )
    good = [
        p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance
    ]
    if len(good) < MIN_MATCHES:
        return Match(0, len(good), None)
    source = a.points[[g.queryIdx for g in good]]
    target = b.points[[g.trainIdx for g in good]]
    transform, inliers = _cv2().estimateAffinePartial2D(
        source, target, method=_cv2().RANSAC, ransacReprojThreshold=REPROJECTION
    )
    if transform is None:
        return Match(0, len(good), None)
    return Match(int(inliers.sum()), len(good), transform)


def aligned(a, b, a_features, b_features, found):
    """Lays picture ``a`` over picture ``b`` by ``found`` (the ``Match`` of
    ``a_features`` in ``b_features``) and cuts out where they overlap.

    Args:
        a, b: the pictures as uint8 [H, W, 3] arrays, at any size (the
            transform is rescaled from the features' sizes to theirs).

    Returns:
        ``(a_part, b_part, cover_a, cover_b)``: the two overlapping parts as
        arrays of b's size there (``None`` when they hardly overlap), and the
        share of each picture's area inside the overlap.
    """
    cv2 = _cv2()
    fa = a.shape[1] / a_features.size[0]
    fb = b.shape[1] / b_features.size[0]
    transform = found.transform.copy()
    transform[:, :2] *= fb / fa
    transform[:, 2] *= fb
    (hb, wb), (ha, wa) = b.shape[:2], a.shape[:2]
    warped = cv2.warpAffine(a, transform, (wb, hb), flags=cv2.INTER_AREA)
    inside = cv2.warpAffine(
        np.ones((ha, wa), np.uint8), transform, (wb, hb), flags=cv2.INTER_NEAREST
    )
    overlap = float(inside.sum())
    scale = np.hypot(*transform[:, 0])
    cover_a = min(1.0, overlap / max(1.0, wa * ha * scale**2))
    cover_b = overlap / (wb * hb)
    ys, xs = np.nonzero(inside)
    if len(ys) < 64:
        return None, None, cover_a, cover_b
    box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    return warped[box], b[box], cover_a, cover_b


def agreement(a, b, a_features, b_features, found, tolerance=AGREE_TOLERANCE):
    """How much of picture ``a``, laid over picture ``b`` by ``found`` (the
    ``Match`` of ``a_features`` in ``b_features``), has ``b``'s colours there.

    Geometry alone is fooled by look-alikes: advice animals share one colour
    wheel whose rays match under the same transform, whatever the colours and
    whoever sits in the middle. Colours are compared where the two overlap,
    at ``b``'s size (``b``: uint8 RGB [H, W, 3], e.g. ``shrunk(picture,
    AGREE_SIDE, "RGB")``); ``a`` (RGB, any size) is first shrunk to the scale
    it has there, so a sharp meme meets a small template alike.

    Returns:
        The share of the overlap whose mean absolute RGB difference is under
        ``tolerance`` (0 without a plausible transform or overlap): a caption
        box over the picture lowers it for every candidate alike; another
        picture on the same background lowers it for that one only.
    """
    if found.transform is None or not SCALES[0] <= found.scale <= SCALES[1]:
        return 0.0
    size = found.scale * b.shape[1] / b_features.size[0]  # b pixels per a-feature px.
    width = max(1, round(a_features.size[0] * size))
    height = max(1, round(a.shape[0] * width / a.shape[1]))
    small = np.asarray(Image.fromarray(a).resize((width, height), Image.Resampling.BOX))
    a_part, b_part, _, _ = aligned(small, b, a_features, b_features, found)
    if a_part is None:
        return 0.0
    diff = np.abs(a_part.astype(np.float32) - b_part.astype(np.float32)).mean(axis=2)
    return float((diff < tolerance).mean())
