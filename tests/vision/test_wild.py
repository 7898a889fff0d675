"""dank.models.vision.wild: the effects of memes in the wild."""

import random

import numpy as np
from PIL import Image

from dank.models.vision import wild


def _alpha(layer):
    return np.asarray(layer)[..., 3] > 0


def test_imgflip_watermark_is_small_and_bottom_left():
    alpha = _alpha(wild.watermark_layer((500, 400), random.Random(0)))
    rows, cols = np.nonzero(alpha)
    assert rows.min() > 400 * 0.8 and cols.min() < 10 and cols.max() < 250
    assert alpha.mean() < 0.05


def test_cover_box_spans_the_middle():
    layer = wild.cover_layer("when the wifi drops", (300, 300), random.Random(1))
    covered = _alpha(layer).mean(axis=1) > 0.5
    span = np.flatnonzero(covered)
    assert 0.3 * 300 <= len(span) <= 0.6 * 300 + 1
    assert span.min() > 0 and span.max() < 299


def test_caption_layer_draws_top_and_bottom():
    for seed in range(6):  # Every style draws both bands, the middle stays clear.
        alpha = _alpha(
            wild.caption_layer("top", "bottom", (320, 320), random.Random(seed))
        )
        assert alpha[:80].any() and alpha[-80:].any() and not alpha[130:190].any()


def test_screenshot_frame_leaves_a_smaller_window():
    layer, (left, top, right, bottom) = wild.screenshot_frame(
        (200, 150), random.Random(2)
    )
    alpha = np.asarray(layer)[..., 3]
    assert (right - left, bottom - top) == (200, 150)
    assert layer.width > 200 and layer.height > 150
    assert (alpha[top:bottom, left:right] == 0).all() and (alpha[:top] == 255).all()
    framed = wild.frame(Image.new("RGB", (200, 150), (255, 0, 0)), random.Random(2))
    assert framed.size == layer.size


def test_geometry_effects():
    image = Image.new("RGB", (400, 300), (10, 200, 30))
    rng = random.Random(3)
    for _ in range(20):
        cropped = wild.crop(image, rng)
        assert cropped.width * cropped.height >= 0.69 * 400 * 300
    padded = wild.pad(image, rng)
    assert padded.width > 400 and padded.height > 300
    stacked = wild.stack(image, Image.new("RGB", (100, 400)), rng)
    assert stacked.width == 400 and 300 < stacked.height <= 300 + 150 + 10


def test_banks_are_seeded_and_fit_the_canvas():
    a = wild.layer_bank("watermark", 4, 48, seed=1)
    assert a.shape == (4, 48, 48, 4) and a.dtype == np.uint8 and (a[..., 3] > 0).any()
    np.testing.assert_array_equal(a, wild.layer_bank("watermark", 4, 48, seed=1))
    layers, boxes = wild.frame_bank(5, 48, seed=1)
    assert layers.shape == (5, 48, 48, 4) and boxes.shape == (5, 4)
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] >= 1).all()
    assert (boxes[:, 0] + boxes[:, 2] <= 48).all() and (
        boxes[:, 1] + boxes[:, 3] <= 48
    ).all()
