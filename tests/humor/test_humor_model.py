"""The humour model's custom layer: config round trip, save/load, XLA forward."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from dank.models.humor.config import PRESETS  # noqa: E402
from dank.models.humor.model import MaskedPooling, build_humor_model  # noqa: E402

TOKENS = np.array([[2, 7, 8, 3, 0, 0], [2, 9, 3, 0, 0, 0]], dtype="int32")


def _features():
    return np.random.default_rng(0).normal(size=(2, 6, 4)).astype("float32")


def test_pooling_ignores_padding():
    features = _features()
    out = np.asarray(MaskedPooling()(features, TOKENS))
    np.testing.assert_allclose(out[0, :4], features[0, :4].mean(0), rtol=1e-5)
    np.testing.assert_allclose(out[1, 4:], features[1, :3].max(0), rtol=1e-5)
    empty = np.asarray(MaskedPooling()(features, np.zeros_like(TOKENS)))
    np.testing.assert_allclose(empty, 0.0)


def test_pooling_config_round_trip():
    layer = MaskedPooling(name="pool")
    again = MaskedPooling.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()


def test_model_save_load(tmp_path):
    config = PRESETS["tiny"]
    model = build_humor_model(config, vocab_size=20, n_templates=3)
    x = {
        "tokens": np.pad(TOKENS, ((0, 0), (0, config.max_len - 6))),
        "label": np.array([0, 3], dtype="int32"),
    }
    before = np.asarray(model(x))
    assert before.shape == (2,)
    path = tmp_path / "model.keras"
    model.save(path)
    after = np.asarray(keras.saving.load_model(path)(x))
    np.testing.assert_allclose(before, after, rtol=1e-6)


def test_pooling_jit_compile_forward():
    import tensorflow as tf

    layer = MaskedPooling()
    run = tf.function(lambda f, t: layer(f, t), jit_compile=True)
    features = _features()
    np.testing.assert_allclose(
        np.asarray(run(features, TOKENS)),
        np.asarray(layer(features, TOKENS)),
        rtol=1e-5,
    )
