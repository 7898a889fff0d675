"""Finding templates that show the same picture.

Two stages, each a cheap candidate search over all pairs followed by a strict
check of the candidates only, so that 3,469 images take well under a minute:

1. Near-exact copies (``check_exact``). Candidates: perceptual hashes
   (imagehash pHash and dHash, 64 bits each) of every image; the Hamming
   distances of all pairs are computed with numpy (XOR + popcount over a
   chunked n x n matrix). A pair is a candidate when both hashes are within
   ``Thresholds.hash_bits``. Check: the 32x32 grayscale thumbnails (zero-mean,
   unit-norm) must correlate; the 16x16 colour thumbnails must agree on
   average (mean absolute difference) and nearly everywhere (98th percentile of
   the per-cell difference), and the aspect ratios must match. Colour matters:
   many memegenerator.net templates put a different animal on the same rays
   background, which grayscale structure and hashes alone cannot tell apart;
   the per-cell test catches a small added object (a Santa hat on Forever
   Alone).
2. Re-crops, re-scales with borders, lower-quality and mirrored copies
   (``check_cropped``). Uniform borders are trimmed first (``trim_box``).
   Candidates: pairs whose 16x16 grayscale views (the whole trimmed picture,
   centre crops of it, its mirror image) correlate with the other's whole view,
   one matrix product for all pairs. Check: crops of one picture (several
   scales and offsets, refined around the best) are searched against the
   other, mirrored or not, at 32x32; the best placement must correlate, its
   worst block (4x4 blocks of the standardised thumbnails, mean absolute
   difference) must agree, and so must the colours of the aligned crops. The
   block test keeps look-alikes apart: the same background with a different
   face differs strongly in the face's blocks however alike the rest is.
3. Anything the thumbnails could not line up: coloured side bars, a crop far
   off centre, a frame of other pictures (``check_keypoints``). Candidates:
   the pairs stages 1 and 2 rejected, the pairs whose names match, and the
   pairs whose views correlate above ``Thresholds.keypoint_candidate``.
   Check: SIFT keypoints of the two pictures (``dank.core.keypoints``) must
   agree on one scale-and-shift with enough inliers; one picture must lie
   mostly inside the other; laid over each other by that transform, the
   overlap must correlate, agree in every block and in colour, under bars
   stricter than stage 2's because the alignment is exact. The same
   photograph on another background (advice animals on different colour
   wheels, the same owl on two colours) fails the colour and block bars.

Matching names (normalised name / alt names / id slug) are a hint only: they
relax the bars slightly (``Thresholds.hint_*``) but never merge on their own.
Confirmed pairs are joined transitively (union-find) into groups; every
confirmed pair and every rejected candidate comes back with its evidence, for
the build's merge report (``merge_report``).
"""

import collections
import dataclasses
import functools

import imagehash
import numpy as np
from PIL import Image, ImageOps

from dank.core import keypoints

THUMB_SIDE = 32  # Grayscale thumbnail side for the stage-1 correlation, pixels.
COLOUR_SIDE = 16  # Colour thumbnail side for the difference tests, pixels.
TRIM_SIDE = 128  # Longest side of the copy that borders are looked for in.
TRIM_TOLERANCE = 24  # A border pixel is within this many levels of the edge colour.
TRIM_FRACTION = 0.8  # A row or column is border when this share of it is.
MAX_TRIM = 0.5  # At most this share of the height or width goes from each edge.
CROP_SIDE = 96  # Side of the square, trimmed picture that stage 2 crops, pixels.
VIEW_SIDE = 16  # Side of the stage-2 candidate views, pixels.
VIEW_CROPS = (0.85, 0.7)  # Centre crops among the candidate views, share of side.
ALIGN_SIDE = 32  # Side of the grayscale crops searched in the stage-2 alignment.
SOURCE_SIDE = 48  # Side of the trimmed picture those crops are sampled from.
DETAIL_SIDE = 48  # Side of the aligned grayscale crops in the structure test.
BLOCKS = 6  # Blocks per side of the structure test.
SHIFT = 1  # Pixels each point may shift in the structure test (alignment slack).
SCALES = (1.0, 0.9, 0.8, 0.7, 0.6)  # Crop sides searched in stage 2, share of side.
REFINE_STEPS = (0.04, 0.02, 0.01)  # Position and size steps of the refinement rounds.
# The stage that confirmed or rejected a pair.
EXACT, CROPPED, KEYPOINTS = "exact", "cropped", "keypoints"
STAGES = (EXACT, CROPPED, KEYPOINTS)


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """When two images count as the same picture."""

    hash_bits: int = 12  # Max pHash and dHash Hamming distance (of 64) for a candidate.
    min_correlation: float = 0.90  # Min grayscale thumbnail correlation.
    max_colour_diff: float = 8.0  # Max mean abs colour difference, 0..255 levels.
    max_local_diff: float = 60.0  # Max 98th-percentile per-cell colour difference.
    max_aspect_ratio: float = 1.12  # Max ratio between the two width/height ratios.
    hint_hash_bits: int = 16  # The same bars, relaxed when the names match.
    hint_min_correlation: float = 0.85
    hint_max_colour_diff: float = 12.0
    hint_max_local_diff: float = 100.0
    hint_max_aspect_ratio: float = 1.25
    # Stage 2 (crop-tolerant).
    crop_candidate: float = 0.80  # Min 16x16 view correlation for a candidate.
    crop_min_correlation: float = 0.90  # Min 32x32 correlation after alignment.
    crop_max_block_diff: float = 0.30  # Max worst-block mean abs diff, in std units.
    crop_max_colour_diff: float = 12.0  # Max mean abs colour diff, 0..255 levels.
    crop_max_local_diff: float = 40.0  # Max 98th-percentile per-cell colour diff.
    hint_crop_min_correlation: float = 0.88
    hint_crop_max_block_diff: float = 0.42
    hint_crop_max_colour_diff: float = 20.0
    hint_crop_max_local_diff: float = 90.0
    # Stage 3 (keypoints).
    keypoint_candidate: float = 0.70  # Min 16x16 view correlation for a candidate.
    keypoint_min_inliers: int = 20  # Min SIFT matches that agree on the transform.
    keypoint_max_scale: float = 3.0  # Max size ratio of the two pictures' content.
    keypoint_max_rotation: float = 3.0  # Max rotation of the transform, degrees.
    keypoint_min_cover: float = 0.75  # Min share of the smaller one in the overlap.
    keypoint_min_overlap: float = 0.25  # Min share of the larger one in it.
    keypoint_min_correlation: float = 0.97  # Min 48x48 correlation of the overlap.
    keypoint_max_block_diff: float = 0.10  # Max worst-block diff, in std units.
    keypoint_max_colour_diff: float = 6.0  # Max mean abs colour diff, 0..255.
    keypoint_max_local_diff: float = 25.0  # Max 98th-percentile per-cell diff.
    hint_keypoint_min_correlation: float = 0.95
    hint_keypoint_max_block_diff: float = 0.14
    hint_keypoint_max_colour_diff: float = 10.0
    hint_keypoint_max_local_diff: float = 40.0


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    """What the merge compares of one image."""

    phash: int  # 64-bit perceptual hash.
    dhash: int  # 64-bit difference hash.
    thumb: np.ndarray  # float32 [THUMB_SIDE**2], zero mean, unit norm.
    colour: np.ndarray  # float32 [COLOUR_SIDE, COLOUR_SIDE, 3], 0..255.
    aspect: float  # width / height.
    trim: tuple  # Share of the side trimmed as border: (left, top, right, bottom).
    trimmed_aspect: float  # width / height after trimming.
    gray: Image.Image  # The trimmed picture, "L", CROP_SIDE square (stretched).
    rgb: Image.Image  # The trimmed picture, "RGB", CROP_SIDE square (stretched).
    align: np.ndarray  # float32 [SOURCE_SIDE, SOURCE_SIDE]: the trimmed picture.
    views: np.ndarray  # float32 [2 + len(VIEW_CROPS), VIEW_SIDE**2], unit norm:
    # the whole trimmed picture, its centre crops, its mirror image.
    features: keypoints.Features  # SIFT keypoints of the whole picture.
    picture: np.ndarray  # uint8 [h, w, 3]: the whole picture, TRIM_SIDE long.


def fingerprint(image):
    """Computes the ``Fingerprint`` of an RGB PIL image."""
    image = image.convert("RGB")
    gray = image.convert("L")
    small = image.copy()
    small.thumbnail((TRIM_SIDE, TRIM_SIDE), Image.Resampling.BOX)
    box = trim_box(np.asarray(small))
    trimmed = small.crop(box)
    crop_rgb = trimmed.resize((CROP_SIDE, CROP_SIDE), Image.Resampling.BOX)
    crop_gray = crop_rgb.convert("L")
    views = [_norm(crop_gray.resize((VIEW_SIDE, VIEW_SIDE), Image.Resampling.BOX))]
    for share in VIEW_CROPS:
        edge = (1 - share) / 2 * CROP_SIDE
        views.append(
            _norm(
                _crop(
                    crop_gray,
                    (edge, edge, CROP_SIDE - edge, CROP_SIDE - edge),
                    VIEW_SIDE,
                )
            )
        )
    views.append(_mirror(views[0], VIEW_SIDE))
    return Fingerprint(
        phash=_to_int(imagehash.phash(gray)),
        dhash=_to_int(imagehash.dhash(gray)),
        thumb=_norm(gray.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX)),
        colour=np.asarray(
            image.resize((COLOUR_SIDE, COLOUR_SIDE), Image.Resampling.BOX),
            dtype=np.float32,
        ),
        aspect=image.width / max(1, image.height),
        trim=(
            round(box[0] / small.width, 3),
            round(box[1] / small.height, 3),
            round(1 - box[2] / small.width, 3),
            round(1 - box[3] / small.height, 3),
        ),
        trimmed_aspect=trimmed.width / max(1, trimmed.height),
        gray=crop_gray,
        rgb=crop_rgb,
        align=np.asarray(
            crop_gray.resize((SOURCE_SIDE, SOURCE_SIDE), Image.Resampling.BOX),
            dtype=np.float32,
        ),
        views=np.stack(views),
        features=keypoints.features(image),
        picture=np.asarray(small),
    )


def trim_box(pixels):
    """The box ``(left, top, right, bottom)`` of ``pixels`` [H, W, 3] inside
    uniform borders.

    An edge row (column) is border while ``TRIM_FRACTION`` of its pixels are
    within ``TRIM_TOLERANCE`` of the colour of the outermost one, so a small
    watermark on a border does not stop the trim; at most ``MAX_TRIM`` of a side
    goes from each edge.
    """
    a = pixels.astype(np.int16)
    h, w = a.shape[:2]

    def depth(lines):  # lines [n, m, 3], outermost first.
        lines = lines[: int(MAX_TRIM * len(lines))]
        if not len(lines):
            return 0
        ref = np.median(lines[0], axis=0)
        close = (np.abs(lines - ref).max(axis=2) <= TRIM_TOLERANCE).mean(axis=1)
        border = close >= TRIM_FRACTION
        return int(np.argmin(border)) if not border.all() else len(border)

    columns = a.transpose(1, 0, 2)
    return (
        depth(columns),
        depth(a),
        w - depth(columns[::-1]),
        h - depth(a[::-1]),
    )


def _norm(image):
    """Pixels of a grayscale image as a float32 vector, zero mean, unit norm."""
    v = np.asarray(image, dtype=np.float32).ravel()
    v = v - v.mean()
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-6 else v


def _mirror(vector, side):
    return np.ascontiguousarray(vector.reshape(side, side)[:, ::-1].ravel())


def _crop(image, box, side):
    box = [min(max(0.0, v), limit) for v, limit in zip(box, image.size * 2)]
    return image.resize((side, side), Image.Resampling.BILINEAR, box=box)


def _to_int(image_hash):
    bits = image_hash.hash.ravel()
    return int("".join("1" if b else "0" for b in bits), 2)


def hamming_pairs(hashes, max_bits, chunk=512):
    """All pairs ``i < j`` whose 64-bit hashes differ in at most ``max_bits`` bits.

    Args:
        hashes: a sequence of ints below 2**64.
        max_bits: the largest Hamming distance kept.
        chunk: rows per block, to bound memory at ``chunk * n`` distances.

    Returns:
        ``(i, j, distance)`` int arrays.
    """
    h = np.asarray([int(x) for x in hashes], dtype=np.uint64)
    rows, cols, dists = [], [], []
    for start in range(0, len(h), chunk):
        block = np.bitwise_count(h[start : start + chunk, None] ^ h[None, :])
        i, j = np.nonzero(block <= max_bits)
        i += start
        keep = i < j
        rows.append(i[keep])
        cols.append(j[keep])
        dists.append(block[i[keep] - start, j[keep]])
    if not rows:
        return (np.zeros(0, int),) * 3
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(dists).astype(int)


def view_pairs(fingerprints, min_correlation, chunk=256):
    """Stage-2 candidates: pairs ``i < j`` where a view of one correlates with
    the whole of the other at least ``min_correlation``.

    Returns:
        ``{(i, j): best view correlation}``.
    """
    views = np.stack([f.views for f in fingerprints])  # [n, v, d]
    whole = views[:, 0]
    found = {}
    for start in range(0, len(views), chunk):
        rows = views[start : start + chunk]
        best = (
            (rows.reshape(-1, rows.shape[2]) @ whole.T)
            .reshape(len(rows), rows.shape[1], -1)
            .max(axis=1)
        )  # [chunk, n]: the best view of each row against each whole.
        for i, j in zip(*np.nonzero(best >= min_correlation)):
            i = int(i) + start
            if i != j:
                key = (min(i, int(j)), max(i, int(j)))
                found[key] = max(found.get(key, -1.0), float(best[i - start, j]))
    return found


def _bars(t, hint, stage):
    """The thresholds of one stage without prefixes, those a name hint relaxes
    replaced by their ``hint_`` values."""
    stage_prefix = {CROPPED: "crop_", KEYPOINTS: "keypoint_"}.get(stage, "")
    values = dataclasses.asdict(t)
    bars = {}
    for prefix in (stage_prefix, "hint_" + stage_prefix)[: 1 + hint]:
        bars.update(
            {
                n.removeprefix(prefix): v
                for n, v in values.items()
                if n.startswith(prefix)
            }
        )
    return bars


def _colour_diffs(a, b):
    diff = np.abs(a - b)
    return round(float(diff.mean()), 2), round(
        float(np.percentile(diff.max(axis=2), 98)), 2
    )


def check_exact(a, b, hint, thresholds=Thresholds()):
    """The stage-1 test of one candidate pair of ``Fingerprint``s.

    Returns:
        ``(evidence, why_not)``: the measures as a dict, and ``None`` when the
        pair is the same picture, else the first bar it failed.
    """
    bars = _bars(thresholds, hint, EXACT)
    ratio = max(a.aspect, b.aspect) / max(1e-6, min(a.aspect, b.aspect))
    colour, local = _colour_diffs(a.colour, b.colour)
    evidence = {
        "aspect_ratio": round(ratio, 3),
        "correlation": round(float(a.thumb @ b.thumb), 4),
        "colour_diff": colour,
        "local_diff": local,
    }
    return evidence, _why_not(evidence, bars)


def _why_not(evidence, bars):
    tests = (
        ("inliers", "min_inliers", -1),
        ("scale_ratio", "max_scale", 1),
        ("rotation", "max_rotation", 1),
        ("cover", "min_cover", -1),
        ("overlap", "min_overlap", -1),
        ("aspect_ratio", "max_aspect_ratio", 1),
        ("correlation", "min_correlation", -1),
        ("block_diff", "max_block_diff", 1),
        ("colour_diff", "max_colour_diff", 1),
        ("local_diff", "max_local_diff", 1),
    )
    for key, bar, sign in tests:
        if key in evidence and bar in bars and sign * evidence[key] > sign * bars[bar]:
            return f"{key} {evidence[key]} {'>' if sign > 0 else '<'} {bars[bar]}"
    return None


def same_picture(a, b, hint, thresholds=Thresholds()):
    """Whether stage 1 judges two ``Fingerprint``s to be the same picture."""
    return check_exact(a, b, hint, thresholds)[1] is None


def _sample(pixels, boxes, side):
    """Bilinear crops of a grayscale array, all at once.

    Args:
        pixels: float32 [H, W].
        boxes: float [n, 4] ``(left, top, width, height)`` as shares of the side.
        side: the side of each crop, pixels.

    Returns:
        float32 [n, side**2], each row zero mean and unit norm.
    """
    boxes = np.asarray(boxes, dtype=np.float32)
    h, w = pixels.shape
    centres = (np.arange(side, dtype=np.float32) + 0.5) / side
    xs = (boxes[:, :1] + boxes[:, 2:3] * centres) * w - 0.5  # [n, side]
    ys = (boxes[:, 1:2] + boxes[:, 3:4] * centres) * h - 0.5
    x0 = np.clip(np.floor(xs), 0, w - 2).astype(int)
    y0 = np.clip(np.floor(ys), 0, h - 2).astype(int)
    fx = np.clip(xs - x0, 0, 1)[:, None, :]
    fy = np.clip(ys - y0, 0, 1)[:, :, None]
    rows, cols = y0[:, :, None], x0[:, None, :]
    top = pixels[rows, cols] * (1 - fx) + pixels[rows, cols + 1] * fx
    bottom = pixels[rows + 1, cols] * (1 - fx) + pixels[rows + 1, cols + 1] * fx
    crops = (top * (1 - fy) + bottom * fy).reshape(len(boxes), -1)
    crops -= crops.mean(axis=1, keepdims=True)
    return crops / np.maximum(np.linalg.norm(crops, axis=1, keepdims=True), 1e-6)


@functools.cache
def _coarse_boxes():
    """Every crop of ``SCALES`` x ``SCALES`` (width, height), at the corners,
    edge middles and centre: copies may be cropped and stretched."""
    boxes = {(0.0, 0.0, 1.0, 1.0)}
    for w in SCALES:
        for h in SCALES:
            for fx in (0.0, 0.5, 1.0):
                for fy in (0.0, 0.5, 1.0):
                    boxes.add((fx * (1 - w), fy * (1 - h), w, h))
    return sorted(boxes)


def _near_boxes(box, step):
    """``box`` and its neighbours ``step`` away in position, and in size."""
    x, y, w, h = box
    low = SCALES[-1] - step
    boxes = set()
    for d1 in (-step, 0, step):
        for d2 in (-step, 0, step):
            for nx, ny, nw, nh in ((x + d1, y + d2, w, h), (x, y, w + d1, h + d2)):
                nw, nh = min(1.0, max(low, nw)), min(1.0, max(low, nh))
                nx, ny = min(max(0.0, nx), 1 - nw), min(max(0.0, ny), 1 - nh)
                boxes.add((round(nx, 4), round(ny, 4), round(nw, 4), round(nh, 4)))
    return sorted(boxes)


def _targets(small, side=ALIGN_SIDE):
    """The whole of ``small`` and its mirror image, as columns [side**2, 2]."""
    whole = _sample(small.align, [(0.0, 0.0, 1.0, 1.0)], side)[0]
    return np.stack([whole, _mirror(whole, side)], axis=1)


def coarse_alignments(fingerprints, pairs):
    """The best coarse crop of each picture of ``pairs`` for the other, both
    ways round, at ``VIEW_SIDE``; each picture's crops are sampled once.

    Returns:
        ``{(big, small): box}`` for every ``(i, j)`` in ``pairs`` and ``(j, i)``.
    """
    partners = collections.defaultdict(set)
    for i, j in pairs:
        partners[i].add(j)
        partners[j].add(i)
    boxes = _coarse_boxes()
    found = {}
    for big, smalls in partners.items():
        smalls = sorted(smalls)
        crops = _sample(fingerprints[big].align, boxes, VIEW_SIDE)
        targets = np.concatenate(
            [_targets(fingerprints[s], VIEW_SIDE) for s in smalls], axis=1
        )
        scores = (crops @ targets).reshape(len(boxes), len(smalls), 2).max(axis=2)
        for k, small in enumerate(smalls):
            found[(big, small)] = boxes[int(np.argmax(scores[:, k]))]
    return found


def _align(big, small, start=None):
    """The crop of ``big`` that best matches the whole of ``small``, refined
    from ``start`` (by default the best of the coarse crops).

    Returns:
        ``(correlation, (left, top, width, height), mirrored)``.
    """
    targets = _targets(small)

    def best(boxes):
        scores = _sample(big.align, boxes, ALIGN_SIDE) @ targets  # [n, 2]
        k = int(np.argmax(scores.max(axis=1)))
        return boxes[k], scores[k]

    box, score = best([start] if start else _coarse_boxes())
    for step in REFINE_STEPS:
        box, score = best(_near_boxes(box, step))
    return float(score.max()), box, bool(score[1] > score[0])


def _block_diffs(a, b):
    """Mean absolute difference per block of two unit-norm square images, in
    units of their standard deviation, each point of ``a`` free to move
    ``SHIFT`` pixels: what is left is changed content, not alignment error."""
    side = a.shape[0]
    a, b = a * side, b * side  # Unit norm times the side: unit std.
    padded = np.pad(a, SHIFT, mode="edge")
    shifts = range(2 * SHIFT + 1)
    diff = np.min(
        [
            np.abs(padded[y : y + side, x : x + side] - b)
            for y in shifts
            for x in shifts
        ],
        axis=0,
    )
    cell = side // BLOCKS
    return diff.reshape(BLOCKS, cell, BLOCKS, cell).mean(axis=(1, 3))


def check_cropped(a, b, hint, thresholds=Thresholds(), starts=(None, None)):
    """The stage-2 test of one candidate pair of ``Fingerprint``s: whether one
    is a crop, re-scale or mirror image of the other (after trimming borders).

    Args:
        starts: where the search of a crop of ``a`` for ``b`` and of ``b`` for
            ``a`` starts (``coarse_alignments``); ``None`` searches the coarse
            crops here.

    Returns:
        ``(evidence, why_not)`` like ``check_exact``.
    """
    bars = _bars(thresholds, hint, CROPPED)
    (corr, box, mirrored), big, small = max(
        ((_align(a, b, starts[0]), a, b), (_align(b, a, starts[1]), b, a)),
        key=lambda r: r[0][0],
    )
    left, top, w, h = box
    pixels = (
        left * CROP_SIDE,
        top * CROP_SIDE,
        (left + w) * CROP_SIDE,
        (top + h) * CROP_SIDE,
    )
    gray = _norm(_crop(big.gray, pixels, DETAIL_SIDE)).reshape(DETAIL_SIDE, -1)
    target = small.gray.resize((DETAIL_SIDE, DETAIL_SIDE), Image.Resampling.BOX)
    colour = np.asarray(_crop(big.rgb, pixels, COLOUR_SIDE), dtype=np.float32)
    other = small.rgb.resize((COLOUR_SIDE, COLOUR_SIDE), Image.Resampling.BOX)
    if mirrored:
        target, other = ImageOps.mirror(target), ImageOps.mirror(other)
    blocks = _block_diffs(gray, _norm(target).reshape(DETAIL_SIDE, -1))
    colour_diff, local_diff = _colour_diffs(colour, np.asarray(other, np.float32))
    evidence = {
        "correlation": round(corr, 4),
        "block_diff": round(float(blocks.max()), 3),
        "colour_diff": colour_diff,
        "local_diff": local_diff,
        "crop": {
            "of": "a" if big is a else "b",
            "box": [round(v, 3) for v in box],
            "mirrored": mirrored,
        },
    }
    return evidence, _why_not(evidence, bars)


def check_keypoints(a, b, hint, thresholds=Thresholds()):
    """The stage-3 test of one candidate pair of ``Fingerprint``s: whether SIFT
    keypoints find one picture inside the other, and the two agree where they
    overlap.

    Returns:
        ``(evidence, why_not)`` like ``check_exact``.
    """
    bars = _bars(thresholds, hint, KEYPOINTS)
    found = keypoints.match(a.features, b.features)
    evidence = {"inliers": found.inliers}
    if found.transform is None or found.inliers < bars["min_inliers"]:
        return evidence, _why_not(evidence, bars)
    scale = max(found.scale, 1e-6)
    evidence["scale_ratio"] = round(max(scale, 1 / scale), 3)
    evidence["rotation"] = round(abs(found.rotation), 2)
    if _why_not(evidence, bars):
        return evidence, _why_not(evidence, bars)
    part_a, part_b, cover_a, cover_b = keypoints.aligned(
        a.picture, b.picture, a.features, b.features, found
    )
    evidence["cover"] = round(max(cover_a, cover_b), 3)
    evidence["overlap"] = round(min(cover_a, cover_b), 3)
    if part_a is None or _why_not(evidence, bars):
        return evidence, _why_not(evidence, bars) or "no overlap"
    parts = [Image.fromarray(p) for p in (part_a, part_b)]
    grays = [
        _norm(p.convert("L").resize((DETAIL_SIDE, DETAIL_SIDE), Image.Resampling.BOX))
        for p in parts
    ]
    cells = [
        np.asarray(
            p.resize((COLOUR_SIDE, COLOUR_SIDE), Image.Resampling.BOX), np.float32
        )
        for p in parts
    ]
    blocks = _block_diffs(*(g.reshape(DETAIL_SIDE, -1) for g in grays))
    colour_diff, local_diff = _colour_diffs(*cells)
    evidence.update(
        correlation=round(float(grays[0] @ grays[1]), 4),
        block_diff=round(float(blocks.max()), 3),
        colour_diff=colour_diff,
        local_diff=local_diff,
    )
    return evidence, _why_not(evidence, bars)


def _keypoint_candidates(name_keys, misses, close):
    """Stage 3's candidate pairs (i < j): stages 1 and 2's rejected pairs, the
    pairs whose names match and ``close`` (views correlating
    ``Thresholds.keypoint_candidate``)."""
    pairs = {(m["i"], m["j"]) for m in misses}
    by_name = collections.defaultdict(list)
    for i, keys in enumerate(name_keys):
        for key in keys:
            by_name[key].append(i)
    for members in by_name.values():
        pairs |= {(i, j) for k, i in enumerate(members) for j in members[k + 1 :]}
    pairs |= set(close)
    return sorted((min(p), max(p)) for p in pairs)


def find_groups(fingerprints, name_keys, thresholds=Thresholds()):
    """Groups images that show the same picture.

    Args:
        fingerprints: one ``Fingerprint`` per template.
        name_keys: one set of normalised names per template (the hint).
        thresholds: the bars, see ``Thresholds``.

    Returns:
        ``(groups, pairs, near_misses)``: groups as sorted index lists (every
        index in exactly one group, singletons included, ordered by first
        index); the confirmed pairs and the rejected candidates as dicts with
        ``i``, ``j``, ``stage``, ``names_match``, the measures of the check and
        (``near_misses`` only) ``why_not``.
    """
    n = len(fingerprints)
    t = thresholds
    parent = list(range(n))

    def root(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    pairs, misses = [], []

    def judge(i, j, stage, check, extra):
        hint = bool(name_keys[i] & name_keys[j])
        evidence, why_not = check(fingerprints[i], fingerprints[j], hint, t)
        record = {"i": i, "j": j, "stage": stage, "names_match": hint}
        record.update(extra)
        record.update(evidence)
        if why_not is None:
            pairs.append(record)
            parent[root(i)] = root(j)
        else:
            misses.append({**record, "why_not": why_not})

    bits = max(t.hash_bits, t.hint_hash_bits)
    pi, pj, pd = hamming_pairs([f.phash for f in fingerprints], bits)
    dh = np.asarray([f.dhash for f in fingerprints], dtype=np.uint64)
    dd = np.bitwise_count(dh[pi] ^ dh[pj]).astype(int) if len(pi) else pd
    for i, j, d1, d2 in zip(pi.tolist(), pj.tolist(), pd.tolist(), dd.tolist()):
        hint = bool(name_keys[i] & name_keys[j])
        if max(d1, d2) <= (t.hint_hash_bits if hint else t.hash_bits):
            judge(i, j, EXACT, check_exact, {"phash_bits": d1, "dhash_bits": d2})
    # One all-pairs view search at the lower of the two candidate bars.
    viewed = view_pairs(fingerprints, min(t.crop_candidate, t.keypoint_candidate))
    candidates = {p: v for p, v in viewed.items() if v >= t.crop_candidate}
    starts = coarse_alignments(
        fingerprints, [p for p in candidates if root(p[0]) != root(p[1])]
    )
    for (i, j), view in sorted(candidates.items(), key=lambda kv: -kv[1]):
        if root(i) != root(j):
            check = functools.partial(
                check_cropped, starts=(starts[(i, j)], starts[(j, i)])
            )
            judge(i, j, CROPPED, check, {"view_correlation": round(view, 4)})
    earlier = list(misses)
    close = [p for p, v in viewed.items() if v >= t.keypoint_candidate]
    for i, j in _keypoint_candidates(name_keys, earlier, close):
        if root(i) != root(j):
            judge(i, j, KEYPOINTS, check_keypoints, {})
    groups = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    # A pair one stage rejected but that ended up in one group is no near miss.
    # Stage-3 candidates without enough keypoints in common were never close.
    misses = [m for m in misses if root(m["i"]) != root(m["j"]) and "correlation" in m]
    return sorted(groups.values(), key=lambda g: g[0]), pairs, misses
