import numpy as np
import tensorflow as tf

from dank.models.vision import augment, data
from dank.models.vision.captions import caption_bank, render_caption


def test_caption_layer_has_white_text_with_black_stroke():
    layer = np.asarray(
        render_caption("one does not simply", "walk into mordor", 300, 240)
    )
    alpha = layer[..., 3] > 0
    assert alpha[:80].any() and alpha[-80:].any()  # Text at top and bottom.
    assert not alpha[100:140].any()  # Middle left clear.
    drawn = layer[alpha]
    assert (drawn[:, :3] > 240).all(axis=1).any() and (drawn[:, :3] < 20).all(
        axis=1
    ).any()


def test_caption_bank_shapes():
    bank = caption_bank([{"top": "such wow", "bottom": "much doge"}], 3, 40, seed=0)
    assert bank.shape == (3, 40, 40, 4) and bank.dtype == np.uint8
    assert (bank[..., 3] > 0).any()


def test_a_bank_at_another_canvas_lays_out_no_caption_again(monkeypatch):
    """The progressive-resizing phases render the same captions at two canvas
    sizes: the second bank reuses the first one's layouts."""
    from dank.models.vision import captions

    captions._layout.cache_clear()
    fitted = []
    real = captions.fit_text
    monkeypatch.setattr(
        captions, "fit_text", lambda *a, **k: fitted.append(a[0]) or real(*a, **k)
    )
    rows = [{"top": f"caption number {i}", "bottom": f"bottom {i}"} for i in range(9)]
    small = caption_bank(rows, 6, 40, seed=3)
    n = len(fitted)
    assert n > 0
    large = caption_bank(rows, 6, 60, seed=3)
    assert len(fitted) == n  # No caption fitted twice.
    assert (small[..., 3] > 0).any() and (large[..., 3] > 0).any()
    # A fresh layout gives the same pixels as the remembered one.
    captions._layout.cache_clear()
    np.testing.assert_array_equal(caption_bank(rows, 6, 60, seed=3), large)
    captions._layout.cache_clear()


def test_caption_is_visibly_drawn():
    template = tf.fill((96, 96, 3), 128.0)
    layer = np.asarray(render_caption("top text here", "bottom text", 96, 96))
    out = augment.composite(template, layer).numpy()
    changed = np.abs(out - 128.0).max(axis=-1) > 50
    assert changed.mean() > 0.05  # A real share of pixels turned white or black.
    assert (out > 250).all(axis=-1).any() and (out < 5).all(axis=-1).any()


def test_meme_augment_shape_dtype_range():
    template = tf.random.uniform((40, 40, 3), 0, 255)
    layer = caption_bank([{"top": "hello", "bottom": "world"}], 1, 40, seed=0)[0]
    for i in range(4):
        out = augment.meme_augment(
            template, layer, tf.constant([1, i]), 32, 0.5, (30, 95)
        )
        assert out.shape == (32, 32, 3) and out.dtype == tf.float32
        assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 255.0
    a = augment.meme_augment(template, layer, tf.constant([1, 2]), 32, 0.5, (30, 95))
    b = augment.meme_augment(template, layer, tf.constant([1, 2]), 32, 0.5, (30, 95))
    np.testing.assert_array_equal(a.numpy(), b.numpy())  # Seeded: reproducible.


def test_pipelines(tiny_data, tiny_config):
    images, labels = next(iter(data.train_dataset(tiny_data, tiny_config)))
    assert images.shape == (tiny_config.batch_size, 32, 32, 3)
    assert labels.dtype == tf.int32
    x1, y1 = data.validation_arrays(tiny_data, tiny_config)
    x2, y2 = data.validation_arrays(tiny_data, tiny_config)
    assert len(x1) == 6 * tiny_config.val_per_template and x1.dtype == np.uint8
    np.testing.assert_array_equal(x1, x2)  # Fixed seed: a fixed validation set.
    np.testing.assert_array_equal(y1, y2)
    unknown = np.concatenate([u.numpy() for u in data.unknown_dataset(tiny_config)])
    assert unknown.shape == (tiny_config.val_unknown, 32, 32, 3)
    assert unknown.std() > 5  # Not a blank picture.


def test_training_mirrors_the_configured_share_of_memes(tiny_data, tiny_config):
    """``flip_prob`` mirrors training memes (same seeds: the same memes, left
    to right up to the per-pixel noise); validation keeps ``FLIP_PROB``."""

    def batch(flip_prob):
        config = tiny_config.replace(flip_prob=flip_prob)
        return next(iter(data.train_dataset(tiny_data, config)))[0].numpy()

    plain, mirrored = batch(0.0), batch(1.0)
    unmirrored = np.abs(plain[:, :, ::-1] - mirrored).mean()
    assert unmirrored < np.abs(plain - mirrored).mean() / 3
    x1, _ = data.validation_arrays(tiny_data, tiny_config)
    x2, _ = data.validation_arrays(tiny_data, tiny_config.replace(flip_prob=1.0))
    np.testing.assert_array_equal(x1, x2)


def test_a_stacked_picture_takes_a_fifth_to_a_third_above_or_below():
    main, other = tf.fill((40, 40, 3), 200.0), tf.zeros((40, 40, 3))
    sides = set()
    for i in range(12):
        out = augment._stack(main, other, tf.constant([i, 1])).numpy()
        assert out.shape == (40, 40, 3)
        dark = out.mean(axis=(1, 2)) < 100
        rows = int(dark.sum())
        assert 8 <= rows <= 14  # 0.2 to 1/3 of 40 rows, one row of blending.
        assert dark[0] or dark[-1]  # One band at one end, the rest the main.
        assert dark[:rows].all() or dark[-rows:].all()
        sides.add(bool(dark[0]))
    assert sides == {True, False}


def test_training_stacks_the_configured_share_of_memes(tiny_data, tiny_config):
    """``stack_prob`` stacks another template's picture on training memes;
    the fixed validation memes never change with it."""

    def batch(**shares):
        config = tiny_config.replace(**shares)
        return next(iter(data.train_dataset(tiny_data, config)))[0].numpy()

    plain, stacked = batch(), batch(stack_prob=1.0)
    assert np.abs(plain - stacked).mean() > 5
    np.testing.assert_array_equal(plain, batch(stack_prob=0.0))
    x1, _ = data.validation_arrays(tiny_data, tiny_config)
    x2, _ = data.validation_arrays(
        tiny_data, tiny_config.replace(stack_prob=1.0, cover_prob=1.0)
    )
    np.testing.assert_array_equal(x1, x2)


def test_wild_effects_are_seeded_and_change_the_meme(monkeypatch):
    template = tf.random.uniform((40, 40, 3), 0, 255, seed=1)
    layer = caption_bank([{"top": "hello", "bottom": "world"}], 1, 40, seed=0)[0]
    banks = augment.wild_banks(40)
    assert banks["frame"].shape == (augment.WILD_BANK, 40, 40, 4)
    assert banks["frame_boxes"].shape == (augment.WILD_BANK, 4)
    # Watermarks are a few pixels at this size, and a crop may cut them off.
    assert (banks["watermark"][..., 3] > 0).any()

    def meme():
        seed = tf.constant([5, 6])
        return augment.meme_augment(template, layer, seed, 32, 0.5, (30, 95)).numpy()

    for name in ("RESTYLE_PROB", "COVER_PROB", "WATERMARK_PROB", "FRAME_PROB"):
        monkeypatch.setattr(augment, name, 0.0)
    monkeypatch.setattr(augment, "LOW_JPEG_PROB", 0.0)
    plain = meme()
    for name in ("COVER_PROB", "FRAME_PROB", "LOW_JPEG_PROB"):
        monkeypatch.setattr(augment, name, 1.0)
        changed = meme()
        assert np.abs(changed - plain).mean() > 0.5, name
        np.testing.assert_array_equal(changed, meme())  # Still seeded.
        monkeypatch.setattr(augment, name, 0.0)
    # A config's shares override the module's.
    for name in ("cover", "screenshot"):
        shares = {name: 1.0}
        changed = augment.meme_augment(
            template, layer, tf.constant([5, 6]), 32, 0.5, (30, 95), shares=shares
        ).numpy()
        assert np.abs(changed - plain).mean() > 0.5, name


def test_light_memes_are_the_wild_ones_without_the_wild_effects(monkeypatch):
    template = tf.random.uniform((40, 40, 3), 0, 255, seed=2)
    layer = caption_bank([{"top": "hello", "bottom": "world"}], 1, 40, seed=0)[0]

    def meme(wild):
        seed = tf.constant([3, 9])
        return augment.meme_augment(
            template, layer, seed, 32, 0.5, (30, 95), wild=wild
        ).numpy()

    light = meme(False)
    for name in ("COVER_PROB", "FRAME_PROB", "LOW_JPEG_PROB"):
        monkeypatch.setattr(augment, name, 1.0)
    assert np.abs(meme(True) - light).mean() > 0.5  # The effects were drawn.
    for name in ("RESTYLE_PROB", "COVER_PROB", "WATERMARK_PROB", "FRAME_PROB"):
        monkeypatch.setattr(augment, name, 0.0)
    monkeypatch.setattr(augment, "LOW_JPEG_PROB", 0.0)
    np.testing.assert_allclose(meme(True), light, atol=1e-3)  # All else equal.


def test_pipelines_run_without_the_autotune_thread(tiny_data, tiny_config):
    """Deleting an iterator waits out tf.data's autotune thread (up to 60 s
    idle, the slow epochs of docs/performance.md): no pipeline that training
    or evaluation iterates starts one."""
    from dank.data.pipeline import caption_dataset
    from dank.models.language.config import PRESETS
    from dank.models.language.train import caption_batches

    pipelines = {
        "vision train": data.train_dataset(tiny_data, tiny_config),
        "vision val": data.val_dataset(tiny_data, tiny_config),
        "templates": data.template_images(tiny_data, tiny_config),
        "unknown": data.unknown_dataset(tiny_config),
        "captions": caption_dataset(tiny_data, "val", 8),
        # What Keras iterates: the captions mapped to (inputs, targets).
        "caption batches": caption_batches(tiny_data, "train", PRESETS["tiny"]),
    }
    for name, ds in pipelines.items():
        assert ds.options().autotune.enabled is False, name
