"""Masked cross-entropy and perplexity over padded caption targets."""

import keras
from keras import ops

from dank.constants import PAD_ID


def token_nll(targets, logits):
    """Per-token negative log-likelihood ``[B, T]`` and target mask ``[B, T]``."""
    nll = keras.losses.sparse_categorical_crossentropy(
        targets, logits, from_logits=True
    )
    mask = ops.cast(ops.not_equal(targets, PAD_ID), nll.dtype)
    return nll * mask, mask


@keras.saving.register_keras_serializable(package="dank")
class MaskedCrossEntropy(keras.losses.Loss):
    """Mean cross-entropy over the non-PAD targets of a batch.

    ``sample_weight`` (``[B]``, optional) weights whole captions, e.g. by upvotes;
    the mean is then taken over the weighted token count, so weights change the
    mix of captions, not the loss scale.
    """

    def __init__(self, name="masked_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def __call__(self, y_true, y_pred, sample_weight=None):
        nll, mask = token_nll(y_true, y_pred)
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, nll.dtype), (-1, 1))
            nll, mask = nll * weight, mask * weight
        loss = ops.sum(nll) / ops.maximum(ops.sum(mask), 1e-9)
        # Keras sums the replicas' gradients: scale so that they average.
        return _scale_for_replicas(loss)

    def call(self, y_true, y_pred):
        nll, mask = token_nll(y_true, y_pred)
        return ops.sum(nll, axis=-1) / ops.maximum(ops.sum(mask, axis=-1), 1e-9)


def _scale_for_replicas(loss):
    """Divides by the replicas in sync, as Keras' own losses do under tf.distribute."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = loss / replicas
    return loss


@keras.saving.register_keras_serializable(package="dank")
class Perplexity(keras.metrics.Metric):
    """exp(total NLL / total non-PAD target tokens), accumulated over batches."""

    def __init__(self, name="perplexity", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total_nll = self.add_variable((), "zeros", name="total_nll")
        self.tokens = self.add_variable((), "zeros", name="tokens")

    def update_state(self, y_true, y_pred, sample_weight=None):
        nll, mask = token_nll(y_true, y_pred)
        self.total_nll.assign_add(ops.sum(nll))
        self.tokens.assign_add(ops.sum(mask))

    def result(self):
        return ops.exp(self.total_nll / ops.maximum(self.tokens, 1.0))

    def reset_state(self):
        self.total_nll.assign(0.0)
        self.tokens.assign(0.0)
