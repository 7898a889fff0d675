"""The machine helpers that change how TensorFlow computes."""

import numpy as np
import pytest

from dank.core.machine import onednn_bfloat16, onednn_enabled

KEY = "auto_mixed_precision_onednn_bfloat16"


def _fit_once(seed=0):
    """One Keras training step of a small conv net; returns its new kernel."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            keras.layers.Conv2D(16, 3),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(4),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, 12, 12, 3)).astype("float32")
    y = rng.integers(0, 4, 8)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    kernel = model.layers[0].kernel
    assert kernel.dtype == "float32"  # The variables stay float32.
    return kernel.numpy()


@pytest.mark.skipif(not onednn_enabled(), reason="needs TensorFlow's oneDNN CPU ops")
def test_onednn_bfloat16_rounds_the_training_step_inside_the_block_only():
    import tensorflow as tf

    reference = _fit_once()
    with onednn_bfloat16():
        assert tf.config.optimizer.get_experimental_options()[KEY] is True
        rounded = _fit_once()
    assert not tf.config.optimizer.get_experimental_options().get(KEY, False)
    again = _fit_once()

    np.testing.assert_array_equal(again, reference)  # Untouched after the block.
    difference = np.abs(rounded - reference).max()
    # bfloat16 keeps 8 bits of mantissa: a step differs, but only by rounding.
    assert 0 < difference < 0.05 * np.abs(reference).max(), difference


def test_onednn_bfloat16_off_changes_nothing():
    import tensorflow as tf

    before = tf.config.optimizer.get_experimental_options()
    with onednn_bfloat16(False):
        assert tf.config.optimizer.get_experimental_options() == before
