import keras
import numpy as np
import pytest
import tensorflow as tf

from dank.core.errors import DankError
from dank.models.vision.model import (
    IMAGENET_BGR_MEAN,
    MIRROR_MARGIN,
    MirrorChoice,
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


def test_mirror_choice_takes_the_mirror_image_only_when_much_surer_of_it():
    def logits(top):  # Two classes: log-probabilities with class 0 at ``top``.
        return np.log([[t, 1.0 - t] for t in top]).astype("float32")

    pictures = logits([0.4, 0.5, 0.9])
    mirrored = logits([0.9, 0.7, 0.95])  # Surer by 0.5, 0.2 and 0.05.
    embedding = np.arange(6, dtype="float32").reshape(6, 1)  # Rows 0-2, 3-5.
    layer = MirrorChoice(margin=0.3)
    both = [np.concatenate([pictures, mirrored]), embedding]
    chosen, chosen_embedding = layer(both, training=False)
    np.testing.assert_allclose(chosen, [mirrored[0], pictures[1], pictures[2]])
    np.testing.assert_array_equal(np.asarray(chosen_embedding)[:, 0], [3, 1, 2])
    trained, _ = layer(both, training=True)  # Training: as they are.
    assert trained.shape == (6, 2)
    assert MirrorChoice.from_config(layer.get_config()).margin == 0.3


def test_a_mirror_model_answers_for_the_picture_or_a_much_surer_mirror(tmp_path):
    """Inference gives the plain model's logits and embedding of each picture,
    or of its mirror image where ``MIRROR_MARGIN`` says so; a training step sees
    the picture alone; it saves and loads."""
    keras.utils.set_random_seed(0)
    plain = build_model(4, 32, 0.0)
    mirror = build_model(4, 32, 0.0, mirror=True)
    mirror.set_weights(plain.get_weights())  # No weights of its own.
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 255, (6, 32, 32, 3)).astype("float32")
    out = mirror(x, training=False)
    assert out["logits"].shape == (6, 4) and out["embedding"].shape == (6, 2048)
    a, b = plain(x, training=False), plain(x[:, :, ::-1], training=False)
    top = [np.max(keras.ops.softmax(o["logits"]), axis=-1) for o in (a, b)]
    keep = (top[1] <= top[0] + MIRROR_MARGIN)[:, None]
    for key in ("logits", "embedding"):
        expected = np.where(keep, np.asarray(a[key]), np.asarray(b[key]))
        np.testing.assert_allclose(out[key], expected, rtol=1e-5, atol=1e-5)
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
