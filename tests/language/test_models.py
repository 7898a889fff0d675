"""CaptionModel variants: the decoding contract, save/load, XLA, conditioning."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dank.core.constants import START_ID
from dank.models.language.config import PRESETS, VARIANTS
from dank.models.language.models import CaptionModel

V, N = 40, 5
LABELS = [[7, 8], [9], [], [10, 11, 12, 13, 14, 15], [16]]
INPUTS = {
    "tokens": np.array([[2, 7, 8, 4, 5], [2, 9, 4, 0, 0], [2, 20, 21, 4, 22]], "int32"),
    "label": np.array([1, 3, 2], "int32"),
}


def _model(variant, **changes):
    config = PRESETS["tiny"].replace(variant=variant, image_dim=12, **changes)
    model = CaptionModel(config, V, N, label_tokens=LABELS)
    if variant != "template":
        rng = np.random.default_rng(0)
        model.set_template_images(rng.normal(size=(N, 12)).astype("float32"))
    return model


@pytest.mark.parametrize("variant", VARIANTS)
def test_step_reproduces_teacher_forcing(variant):
    model = _model(variant)
    logits = np.asarray(model(INPUTS))
    assert logits.shape == (3, 5, V)
    state = model.initial_state(model.condition_for_labels(INPUTS["label"]))
    assert all(s.shape[0] == 3 for s in state)
    for t in range(5):
        step_logits, new_state = model.step(INPUTS["tokens"][:, t], state)
        assert [s.shape for s in new_state] == [s.shape for s in state]
        state = new_state
        valid = INPUTS["tokens"][:, t] != 0
        np.testing.assert_allclose(
            np.asarray(step_logits)[valid], logits[valid, t], rtol=1e-4, atol=1e-5
        )


@pytest.mark.parametrize("variant", VARIANTS)
def test_save_load_and_config(variant, tmp_path):
    model = _model(variant)
    expected = np.asarray(model(INPUTS))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        np.asarray(loaded(INPUTS)), expected, rtol=1e-5, atol=1e-6
    )
    assert loaded.get_config()["config"] == model.get_config()["config"]
    if variant != "template":  # The image table travels with the model.
        np.testing.assert_array_equal(
            np.asarray(loaded.template_images), np.asarray(model.template_images)
        )


@pytest.mark.parametrize("variant", ["template", "attention"])
def test_tied_embeddings_score_against_the_word_embedding(variant, tmp_path):
    model = _model(variant, tie_embeddings=True)
    untied = _model(variant)
    assert not hasattr(model, "projection")
    assert model.count_params() < untied.count_params()
    logits = np.asarray(model(INPUTS))
    hidden = np.asarray(model.output_embedding.kernel)
    table = np.asarray(model.word_embedding.embeddings)
    assert hidden.shape == (model.config.units, model.config.embedding_dim)
    # Moving word 5's embedding moves its logit and only its logit wherever 5
    # has not been read yet (it is the last input of the first caption only).
    delta = np.zeros_like(table)
    delta[5] = 3.0
    model.word_embedding.embeddings.assign(table + delta)
    moved = (np.asarray(model(INPUTS)) - logits)[:, :4]
    changed = np.flatnonzero(np.abs(moved).max(axis=(0, 1)) > 1e-6)
    assert changed.tolist() == [5]
    model.save(tmp_path / "tied.keras")
    loaded = keras.saving.load_model(tmp_path / "tied.keras")
    np.testing.assert_allclose(
        np.asarray(loaded(INPUTS)), np.asarray(model(INPUTS)), rtol=1e-5, atol=1e-6
    )
    state = model.initial_state(model.condition_for_labels(INPUTS["label"]))
    step_logits, _ = model.step(INPUTS["tokens"][:, 0], state)
    np.testing.assert_allclose(
        np.asarray(step_logits), np.asarray(model(INPUTS))[:, 0], rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("variant", ["template", "attention"])
def test_jit_compiled_decoding_step(variant):
    model = _model(variant)
    labels = tf.constant([0, 4], tf.int32)

    @tf.function(jit_compile=True)
    def two_steps():
        state = model.initial_state(model.condition_for_labels(labels))
        logits, state = model.step(tf.fill([2], START_ID), state)
        # Beams are reordered by gathering every state tensor on axis 0.
        state = tuple(keras.ops.take(s, tf.constant([1, 1]), axis=0) for s in state)
        logits2, _ = model.step(tf.argmax(logits, -1, output_type=tf.int32), state)
        return logits, logits2

    logits, logits2 = two_steps()
    assert logits.shape == (2, V) and logits2.shape == (2, V)
    assert np.all(np.isfinite(np.asarray(logits2)))


def test_template_mixing_is_linear_in_the_template_embedding():
    model = _model("template", conditioning="input")
    one_hot = np.eye(N, dtype="float32")
    mixed = {"template": np.array([[0.5, 0.5, 0, 0, 0]], "float32")}
    state = model.initial_state(mixed)
    a = model.initial_state({"template": one_hot[:1]})
    b = model.initial_state({"template": one_hot[1:2]})
    # "input" conditioning carries the condition's gate term: linear in weights.
    np.testing.assert_allclose(
        np.asarray(state[-1]),
        0.5 * (np.asarray(a[-1]) + np.asarray(b[-1])),
        rtol=1e-5,
        atol=1e-6,
    )
    logits = [np.asarray(model.step(np.array([START_ID]), s)[0]) for s in (a, b)]
    assert not np.allclose(logits[0], logits[1])  # The template changes the output.


def test_image_variants_read_the_image_features():
    model = _model("image")
    template = np.eye(N, dtype="float32")[:1]
    zeros, ones = np.zeros((1, 12), "float32"), np.ones((1, 12), "float32")
    a = model.initial_state({"template": template, "image": zeros})
    b = model.initial_state({"template": template, "image": ones})
    assert not np.allclose(np.asarray(a[0]), np.asarray(b[0]))


def test_label_variants_need_label_tokens():
    with pytest.raises(ValueError, match="label_tokens"):
        CaptionModel(PRESETS["tiny"].replace(variant="attention"), V, N)


def test_config_validation():
    with pytest.raises(ValueError, match="variant"):
        PRESETS["tiny"].replace(variant="gpt")
    assert PRESETS["paper"].learning_rate == 2.0 and PRESETS["paper"].units == 512
    assert PRESETS["paper"].embedding_dim == 300 and PRESETS["paper"].batch_size == 32


@pytest.mark.parametrize("tied", [False, True])
def test_bfloat16_logits_stay_close_and_train(tied):
    """logits_dtype="bfloat16" rounds the projection once: float32 logits within
    bfloat16's precision of the float32 model's, save/load keeps the setting,
    and gradients reach every weight, the word embedding included."""
    exact = _model("template", tie_embeddings=tied)
    model = _model("template", tie_embeddings=tied, logits_dtype="bfloat16")
    model.set_weights(exact.get_weights())
    assert model.logits_dtype == "bfloat16" and exact.logits_dtype == "float32"
    logits = model(INPUTS)
    assert logits.dtype == "float32"
    reference = np.asarray(exact(INPUTS))
    scale = np.abs(reference).max()
    np.testing.assert_allclose(np.asarray(logits), reference, atol=scale / 64)
    assert not np.array_equal(np.asarray(logits), reference)  # Really bf16.
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(INPUTS) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None and g.dtype == tf.float32 for g in grads)
    assert all(v.dtype == "float32" for v in model.trainable_variables)


def test_logits_dtype_auto_follows_the_machine(monkeypatch):
    from dank.core import machine
    from dank.models.language import models

    for flags, expected in (("avx2 avx512_bf16", "bfloat16"), ("avx2", "float32")):
        monkeypatch.setattr(machine, "read_cpuinfo", lambda f=flags: f"flags : {f}\n")
        monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: [])
        assert models.resolve_logits_dtype("auto") == expected
        assert _model("template", logits_dtype="auto").logits_dtype == expected
    assert models.resolve_logits_dtype("float32") == "float32"
    with pytest.raises(ValueError, match="logits_dtype"):
        PRESETS["tiny"].replace(logits_dtype="float16")
    assert PRESETS["full"].logits_dtype == "auto"
    assert PRESETS["cpu"].logits_dtype == "float32"  # Perplexity first (config.py).
    assert PRESETS["paper"].logits_dtype == "float32"  # As the paper trained.
