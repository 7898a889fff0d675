"""FusedBatchNorm: TensorFlow's fused training kernel behind Keras' layer."""

import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from dank.models.vision.model import FusedBatchNorm, backbone, build_model


def _pair():
    keras_bn = layers.BatchNormalization(momentum=0.9, epsilon=1.001e-5)
    fused = FusedBatchNorm(momentum=0.9, epsilon=1.001e-5)
    for layer in (keras_bn, fused):
        layer.build((4, 5, 5, 6))
        layer.gamma.assign(np.linspace(0.5, 2.0, 6))
        layer.beta.assign(np.linspace(-1.0, 1.0, 6))
    return keras_bn, fused


def _step(layer, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        weights = np.random.RandomState(3).normal(size=x.shape)
        loss = tf.reduce_sum(y * tf.constant(weights, "float32"))
    return y, tape.gradient(loss, [x, layer.gamma, layer.beta])


def test_training_step_matches_keras():
    x = tf.constant(np.random.RandomState(0).normal(3, 2, (4, 5, 5, 6)), "float32")
    keras_bn, fused = _pair()
    y_keras, grads_keras = _step(keras_bn, x)
    y_fused, grads_fused = _step(fused, x)
    np.testing.assert_allclose(y_fused, y_keras, atol=1e-5)
    for got, want in zip(grads_fused, grads_keras):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    # The moving statistics move the same way (Keras' biased batch variance).
    np.testing.assert_allclose(fused.moving_mean, keras_bn.moving_mean, atol=1e-6)
    np.testing.assert_allclose(
        fused.moving_variance, keras_bn.moving_variance, rtol=1e-5
    )
    assert not np.allclose(fused.moving_variance, 1.0)
    np.testing.assert_allclose(fused(x), keras_bn(x), atol=1e-5)


def test_the_fused_kernel_runs():
    x = tf.zeros((2, 3, 3, 4))
    layer = FusedBatchNorm()
    graph = tf.function(lambda v: layer(v, training=True)).get_concrete_function(x)
    ops = {op.type for op in graph.graph.get_operations()}
    assert "FusedBatchNormV3" in ops
    inference = tf.function(lambda v: layer(v, training=False))
    ops = {op.type for op in inference.get_concrete_function(x).graph.get_operations()}
    assert "FusedBatchNormV3" not in ops


@pytest.mark.parametrize("shape", [(2, 6), (2, 3, 6)])
def test_other_ranks_use_keras(shape):
    layer = FusedBatchNorm()
    x = tf.constant(np.random.RandomState(1).normal(size=shape), "float32")
    reference = layers.BatchNormalization()
    np.testing.assert_allclose(
        layer(x, training=True), reference(x, training=True), atol=1e-5
    )


def test_frozen_layers_use_moving_statistics():
    _, fused = _pair()
    fused.trainable = False
    x = tf.ones((2, 3, 3, 6)) * 5.0
    expected = (5.0 - 0.0) / np.sqrt(1.0 + 1.001e-5) * np.linspace(
        0.5, 2.0, 6
    ) + np.linspace(-1.0, 1.0, 6)
    np.testing.assert_allclose(fused(x, training=True)[0, 0, 0], expected, rtol=1e-5)


def test_the_classifier_uses_it_and_saves(tmp_path):
    model = build_model(3, 32)
    norms = [layer for layer in backbone(model).layers if "_bn" in layer.name]
    assert norms and all(isinstance(layer, FusedBatchNorm) for layer in norms)
    path = tmp_path / "m.keras"
    model.save(path)
    import keras

    loaded = keras.saving.load_model(path, compile=False)
    x = np.random.RandomState(2).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        loaded(x)["logits"], model(x)["logits"], rtol=1e-5, atol=1e-5
    )
    assert isinstance(backbone(loaded).get_layer("conv1_bn"), FusedBatchNorm)
