import keras
import numpy as np
import pytest
import tensorflow as tf

from dank.core.errors import DankError
from dank.models.vision.model import (
    IMAGENET_BGR_MEAN,
    ResNetPreprocess,
    build_model,
    load_pretrained,
)
from dank.models.vision.weights import resolve_weights


def test_preprocess_config_round_trip():
    layer = ResNetPreprocess(mean=(1.0, 2.0, 3.0), name="p")
    clone = ResNetPreprocess.from_config(layer.get_config())
    assert clone.mean == (1.0, 2.0, 3.0) and clone.name == "p"


def test_preprocess_flips_to_bgr_and_subtracts_mean():
    x = np.array([[[[10.0, 20.0, 30.0]]]], np.float32)
    y = ResNetPreprocess()(x)
    expected = np.array([30.0, 20.0, 10.0]) - np.array(IMAGENET_BGR_MEAN)
    np.testing.assert_allclose(np.asarray(y)[0, 0, 0], expected, rtol=1e-6)


def test_preprocess_save_load(tmp_path):
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, ResNetPreprocess()(inputs))
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x), model(x))


def test_preprocess_jit_forward():
    layer = ResNetPreprocess()
    x = tf.random.uniform((2, 4, 4, 3), 0, 255)
    np.testing.assert_allclose(
        tf.function(layer, jit_compile=True)(x), layer(x), atol=1e-4
    )


def test_model_outputs_and_save_reload_identical(tmp_path):
    model = build_model(5, 32)
    x = np.random.default_rng(1).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    out = model(x, training=False)
    assert out["logits"].shape == (3, 5) and out["embedding"].shape == (3, 2048)
    model.save(tmp_path / "v.keras")
    loaded = keras.saving.load_model(tmp_path / "v.keras")
    again = loaded(x, training=False)
    np.testing.assert_array_equal(
        np.asarray(again["logits"]), np.asarray(out["logits"])
    )
    np.testing.assert_array_equal(
        np.asarray(again["embedding"]), np.asarray(out["embedding"])
    )


def test_a_mirror_model_answers_a_picture_and_its_mirror_image_alike(tmp_path):
    """Inference averages the plain model's embeddings of a picture and of its
    mirror image; a training step sees the picture alone; it saves and loads."""
    plain = build_model(4, 32, 0.0)
    mirror = build_model(4, 32, 0.0, mirror=True)
    mirror.set_weights(plain.get_weights())  # No weights of its own.
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    flipped = x[:, :, ::-1]
    out = mirror(x, training=False)
    assert out["logits"].shape == (3, 4) and out["embedding"].shape == (3, 2048)
    both = (
        np.asarray(plain(x, training=False)["embedding"])
        + np.asarray(plain(flipped, training=False)["embedding"])
    ) / 2
    np.testing.assert_allclose(out["embedding"], both, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        out["logits"], mirror(flipped, training=False)["logits"], atol=1e-5
    )
    assert not np.allclose(
        plain(x, training=False)["logits"], plain(flipped, training=False)["logits"]
    )
    # BatchNorm statistics of one batch: the plain model's, not of a doubled one.
    trained = {
        name: np.asarray(model(x, training=True)["logits"])
        for name, model in (("plain", plain), ("mirror", mirror))
    }
    np.testing.assert_allclose(trained["mirror"], trained["plain"], atol=1e-5)
    mirror.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(
        np.asarray(loaded(x, training=False)["logits"]),
        np.asarray(mirror(x, training=False)["logits"]),
    )


def test_loss_falls_on_a_fixed_batch():
    """A few optimizer steps on one batch must lower its loss (training works)."""
    keras.utils.set_random_seed(0)
    model = build_model(4, 32)
    train = keras.Model(model.inputs, model.get_layer("logits").output)
    train.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    y = np.arange(8) % 4
    history = train.fit(x, y, batch_size=8, epochs=6, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] * 0.8, losses


def test_imagenet_weights_missing_fail_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(DankError, match="cache"):
        resolve_weights("imagenet")


def test_weights_file_missing(tmp_path):
    with pytest.raises(DankError, match="no such file"):
        resolve_weights(str(tmp_path / "nope.h5"))
    (tmp_path / "w.txt").write_text("x")
    with pytest.raises(DankError, match=".h5 or .keras"):
        resolve_weights(str(tmp_path / "w.txt"))


def test_weights_from_keras_file(tmp_path):
    source = build_model(3, 32)
    source.save(tmp_path / "src.keras")
    target = build_model(2, 32)
    load_pretrained(target, str(tmp_path / "src.keras"))
    a = source.get_layer("resnet50").get_weights()
    b = target.get_layer("resnet50").get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
