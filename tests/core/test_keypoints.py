"""dank.core.keypoints: one picture found inside another by SIFT keypoints."""

import numpy as np
from PIL import Image, ImageOps

from dank.core import keypoints


def test_a_rescaled_crop_is_found_and_another_picture_is_not(busy_photo):
    photo = busy_photo(3)
    crop = photo.crop((40, 30, 280, 210)).resize((360, 270))  # 1.5x.
    found = keypoints.match(keypoints.features(photo), keypoints.features(crop))
    assert found.inliers >= 50
    # 1.5x, seen in pictures shrunk to SIDE: 320 -> 256 and 360 -> 256 px.
    expected = 1.5 * (keypoints.SIDE / 360) / (keypoints.SIDE / 320)
    assert abs(found.scale - expected) < 0.03 and abs(found.rotation) < 1.0
    other = keypoints.match(keypoints.features(busy_photo(4)), keypoints.features(crop))
    assert other.inliers < 10


def test_features_shrink_big_pictures_and_accept_arrays(busy_photo):
    big = busy_photo(3, size=(1200, 900))
    features = keypoints.features(np.asarray(big))
    assert max(features.size) == keypoints.SIDE
    assert features.points.shape[1] == 2
    assert len(features.points) == len(features.descriptors) > 0


def test_flat_or_tiny_pictures_match_nothing_without_failing(busy_photo):
    flat = keypoints.features(Image.new("RGB", (200, 100), (90, 90, 90)))
    assert len(flat.descriptors) == 0
    tiny = keypoints.features(Image.new("RGB", (1, 1)))
    photo = keypoints.features(busy_photo(3))
    for a, b in ((flat, photo), (photo, flat), (tiny, tiny)):
        found = keypoints.match(a, b)
        assert found.inliers == 0 and found.transform is None and found.scale == 0


def test_aligned_cuts_out_the_overlap(busy_photo):
    photo = busy_photo(3)
    framed = ImageOps.expand(photo.resize((240, 180)), border=30, fill=(0, 0, 0))
    a, b = np.asarray(photo), np.asarray(framed)
    fa, fb = keypoints.features(photo), keypoints.features(framed)
    found = keypoints.match(fa, fb)
    part_a, part_b, cover_a, cover_b = keypoints.aligned(a, b, fa, fb, found)
    assert part_a.shape == part_b.shape
    assert abs(part_a.shape[0] - 180) <= 3 and abs(part_a.shape[1] - 240) <= 3
    assert cover_a > 0.95 and abs(cover_b - (240 * 180) / (300 * 240)) < 0.03
    assert np.abs(part_a.astype(int) - part_b.astype(int)).mean() < 12


def test_agreement_is_the_share_of_the_overlap_in_the_same_colours(busy_photo):
    photo = busy_photo(3)
    small = keypoints.shrunk(photo, keypoints.AGREE_SIDE, "RGB")
    assert max(small.shape[:2]) == keypoints.AGREE_SIDE and small.shape[2] == 3
    features = keypoints.features(photo)
    meme = np.asarray(photo.resize((480, 360)))  # A bigger, sharper copy.
    half = meme.copy()
    half[:, 240:] = 255  # Its right half painted over.
    shares = []
    for pixels in (meme, half):
        found = keypoints.match(keypoints.features(pixels), features)
        shares.append(
            keypoints.agreement(
                pixels, small, keypoints.features(pixels), features, found
            )
        )
    assert shares[0] > 0.85 and 0.3 < shares[1] < 0.6
    # No transform, or an implausible one: nothing agrees.
    nothing = keypoints.Match(0, 0, None)
    assert keypoints.agreement(meme, small, features, features, nothing) == 0.0
    tiny = keypoints.Match(30, 30, np.array([[0.01, 0, 0], [0, 0.01, 0]]))
    assert keypoints.agreement(meme, small, features, features, tiny) == 0.0
