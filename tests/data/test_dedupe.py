from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dank.data import dedupe
from dank.data.synthetic import _picture

REAL = Path("/work/shared/data/memes/templates")


def _fp(image):
    return dedupe.fingerprint(image)


def test_hamming_pairs_matches_brute_force():
    rng = np.random.default_rng(0)
    hashes = [int(x) for x in rng.integers(0, 2**63, 50, dtype=np.int64)]
    hashes[7] = hashes[3] ^ 0b101  # Two bits apart.
    i, j, d = dedupe.hamming_pairs(hashes, 2, chunk=8)
    assert (3, 7, 2) in set(zip(i.tolist(), j.tolist(), d.tolist()))
    brute = {
        (a, b)
        for a in range(50)
        for b in range(a + 1, 50)
        if bin(hashes[a] ^ hashes[b]).count("1") <= 2
    }
    assert set(zip(i.tolist(), j.tolist())) == brute


def test_resized_copy_merges_distinct_pictures_do_not():
    rng = np.random.default_rng(1)
    pictures = [_picture(k, rng, (240, 260)) for k in range(8)]
    copy = pictures[2].resize((390, 360)).resize((260, 240))
    fps = [_fp(p) for p in pictures] + [_fp(copy)]
    groups, pairs = dedupe.find_groups(fps, [set() for _ in fps])
    assert [2, 8] in groups
    assert len(groups) == 8


def test_name_hint_alone_never_merges():
    rng = np.random.default_rng(2)
    a, b = _picture(0, rng, (200, 200)), _picture(1, rng, (200, 200))
    groups, _ = dedupe.find_groups([_fp(a), _fp(b)], [{"successkid"}, {"successkid"}])
    assert groups == [[0], [1]]


def test_small_added_object_is_a_different_template():
    base = Image.new("RGB", (200, 200), (20, 30, 60))
    hat = base.copy()
    hat.paste((220, 20, 20), (80, 20, 120, 50))
    groups, _ = dedupe.find_groups([_fp(base), _fp(hat)], [set(), set()])
    assert groups == [[0], [1]]


@pytest.mark.skipif(not REAL.is_dir(), reason="real data not present")
def test_real_success_kid_merges_and_lookalikes_do_not():
    from dank.core.images import open_image

    ids = [
        "imgflip-Success-Kid",
        "mgnet-success-kid",
        "memegenlink-success",
        "mgnet-mental-illness-mouse",
        "mgnet-typical-emergency",
        "imgflip-Forever-Alone",
        "imgflip-Forever-Alone-Christmas",
        "imgflip-Third-World-Success-Kid",
    ]
    fps = [_fp(open_image(next(REAL.glob(f"{i}.*")))) for i in ids]
    keys = [
        {"successkid"},
        {"successkid"},
        {"successkid"},
        set(),
        set(),
        {"foreveralone"},
        {"foreveralone"},
        set(),
    ]
    groups, _ = dedupe.find_groups(fps, keys)
    assert [0, 1, 2] in groups
    assert len(groups) == 6
