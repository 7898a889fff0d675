"""ResNet50 training under XLA matches graph mode (slow: XLA compiles it)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dank.models.vision.model import build_model


@pytest.mark.slow
def test_loss_and_gradients_under_xla_match_graph_mode():
    # A randomly initialised ResNet50's gradient is large (norm ~2,400 here), so
    # whole training trajectories part after a step or two from float noise
    # alone; the loss and the gradient of one step are what must agree.
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (8, 64, 64, 3)).astype("float32")
    y = np.eye(6, dtype="float32")[[0, 1, 2, 3, 4, 5, 0, 1]]
    keras.utils.set_random_seed(0)
    model = build_model(6, 64, 0.0)
    train = keras.Model(model.inputs, model.get_layer("logits").output)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, train(x, training=True))
        return loss, tape.gradient(loss, train.trainable_variables)

    results = {}
    for jit in (False, True):
        loss, grads = tf.function(step, jit_compile=jit)()
        results[jit] = float(loss), np.concatenate([g.numpy().ravel() for g in grads])
    (loss, graph), (xla_loss, xla) = results[False], results[True]
    np.testing.assert_allclose(xla_loss, loss, rtol=1e-4)
    cosine = graph @ xla / np.linalg.norm(graph) / np.linalg.norm(xla)
    assert cosine > 0.999
    assert np.linalg.norm(graph - xla) / np.linalg.norm(graph) < 0.05


def test_mirror_model_inference_under_xla_matches_graph_mode():
    """The mirror layers (concatenate, flip, split, where) compile under XLA."""
    keras.utils.set_random_seed(0)
    model = build_model(6, 32, 0.0, mirror=True)
    x = np.random.default_rng(1).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    outputs = {
        jit: tf.function(lambda x: model(x, training=False), jit_compile=jit)(x)
        for jit in (False, True)
    }
    assert outputs[True]["logits"].shape == (4, 6)
    for key in ("logits", "embedding"):
        np.testing.assert_allclose(
            outputs[True][key], outputs[False][key], rtol=1e-3, atol=1e-3
        )
