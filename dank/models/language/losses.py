"""Masked cross-entropy and perplexity over padded caption targets."""

import keras
from keras import ops

from dank.core.constants import PAD_ID


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
        # Each replica's share of the mean over all replicas' tokens: Keras sums
        # the replicas' gradients, so a step on N replicas equals a step on one
        # device with the same global batch, however the tokens fall.
        return ops.sum(nll) / ops.maximum(_sum_over_replicas(ops.sum(mask)), 1e-9)

    def call(self, y_true, y_pred):
        nll, mask = token_nll(y_true, y_pred)
        return ops.sum(nll, axis=-1) / ops.maximum(ops.sum(mask, axis=-1), 1e-9)


def _sum_over_replicas(value):
    """``value`` summed over the replicas in sync (itself on one device)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            return context.all_reduce("sum", value)
    return value


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
