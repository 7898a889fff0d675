"""Finding templates that show the same picture.

Two-stage test, so that 3,469 images take seconds, not hours:

1. Candidates: perceptual hashes (imagehash pHash and dHash, 64 bits each) of
   every image; the Hamming distances of all pairs are computed with numpy
   (XOR + popcount over a chunked n x n matrix). A pair is a candidate when both
   hashes are within ``Thresholds.hash_bits``.
2. Confirmation: a stricter comparison of thumbnails. The 32x32 grayscale
   thumbnails (zero-mean, unit-norm) must correlate; the 16x16 colour
   thumbnails must agree on average (mean absolute difference) and nearly
   everywhere (98th percentile of the per-cell difference), and the aspect
   ratios must match. Colour matters: many memegenerator.net templates put a
   different animal on the same rays background, which grayscale structure and
   hashes alone cannot tell apart; the per-cell test catches a small added
   object (a Santa hat on Forever Alone).

Matching names (normalised name / alt names / id slug) are a hint only: they
relax both bars slightly (``Thresholds.hint_*``) but never merge on their own.
Confirmed pairs are joined transitively (union-find) into groups.
"""

import dataclasses

import imagehash
import numpy as np
from PIL import Image

THUMB_SIDE = 32  # Grayscale thumbnail side for the correlation, pixels.
COLOUR_SIDE = 16  # Colour thumbnail side for the difference tests, pixels.


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


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    """What the merge compares of one image."""

    phash: int  # 64-bit perceptual hash.
    dhash: int  # 64-bit difference hash.
    thumb: np.ndarray  # float32 [THUMB_SIDE**2], zero mean, unit norm.
    colour: np.ndarray  # float32 [COLOUR_SIDE, COLOUR_SIDE, 3], 0..255.
    aspect: float  # width / height.


def fingerprint(image):
    """Computes the ``Fingerprint`` of an RGB PIL image."""
    gray = image.convert("L")
    thumb = np.asarray(
        gray.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX), dtype=np.float32
    ).ravel()
    thumb = thumb - thumb.mean()
    norm = float(np.linalg.norm(thumb))
    thumb = thumb / norm if norm > 1e-6 else thumb
    return Fingerprint(
        phash=_to_int(imagehash.phash(gray)),
        dhash=_to_int(imagehash.dhash(gray)),
        thumb=thumb,
        colour=np.asarray(
            image.convert("RGB").resize(
                (COLOUR_SIDE, COLOUR_SIDE), Image.Resampling.BOX
            ),
            dtype=np.float32,
        ),
        aspect=image.width / max(1, image.height),
    )


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


def same_picture(a, b, hint, thresholds=Thresholds()):
    """The strict test of one candidate pair of ``Fingerprint``s."""
    t = thresholds
    ratio = max(a.aspect, b.aspect) / max(1e-6, min(a.aspect, b.aspect))
    if ratio > (t.hint_max_aspect_ratio if hint else t.max_aspect_ratio):
        return False
    if float(a.thumb @ b.thumb) < (
        t.hint_min_correlation if hint else t.min_correlation
    ):
        return False
    diff = np.abs(a.colour - b.colour)
    if float(diff.mean()) > (t.hint_max_colour_diff if hint else t.max_colour_diff):
        return False
    local = float(np.percentile(diff.max(axis=2), 98))
    return local <= (t.hint_max_local_diff if hint else t.max_local_diff)


def find_groups(fingerprints, name_keys, thresholds=Thresholds()):
    """Groups images that show the same picture.

    Args:
        fingerprints: one ``Fingerprint`` per template.
        name_keys: one set of normalised names per template (the hint).
        thresholds: the bars, see ``Thresholds``.

    Returns:
        ``(groups, pairs)``: groups as sorted index lists (every index in
        exactly one group, singletons included, ordered by first index), and the
        confirmed pairs as ``(i, j, hash_distance, correlation)`` tuples.
    """
    n = len(fingerprints)
    t = thresholds
    bits = max(t.hash_bits, t.hint_hash_bits)
    pi, pj, pd = hamming_pairs([f.phash for f in fingerprints], bits)
    dh = np.asarray([f.dhash for f in fingerprints], dtype=np.uint64)
    dd = np.bitwise_count(dh[pi] ^ dh[pj]).astype(int) if len(pi) else pd
    parent = list(range(n))

    def root(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    confirmed = []
    for i, j, d1, d2 in zip(pi.tolist(), pj.tolist(), pd.tolist(), dd.tolist()):
        hint = bool(name_keys[i] & name_keys[j])
        limit = t.hint_hash_bits if hint else t.hash_bits
        if max(d1, d2) > limit:
            continue
        if same_picture(fingerprints[i], fingerprints[j], hint, t):
            corr = float(fingerprints[i].thumb @ fingerprints[j].thumb)
            confirmed.append((i, j, max(d1, d2), round(corr, 4)))
            parent[root(i)] = root(j)
    groups = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0]), confirmed
