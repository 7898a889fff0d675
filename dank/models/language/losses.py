"""Masked cross-entropy and perplexity over padded caption targets, and the
sampled softmax that training may use instead of the full one."""

import math

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
        return masked_mean(*token_nll(y_true, y_pred), sample_weight)

    def call(self, y_true, y_pred):
        nll, mask = token_nll(y_true, y_pred)
        return ops.sum(nll, axis=-1) / ops.maximum(ops.sum(mask, axis=-1), 1e-9)


def masked_mean(nll, mask, sample_weight=None):
    """The loss of a batch: the mean of ``nll [B, T]`` over the ``mask``ed
    tokens, each caption weighted by ``sample_weight [B]`` (optional)."""
    if sample_weight is not None:
        weight = ops.reshape(ops.cast(sample_weight, nll.dtype), (-1, 1))
        nll, mask = nll * weight, mask * weight
    # Each replica's share of the mean over all replicas' tokens: Keras sums
    # the replicas' gradients, so a step on N replicas equals a step on one
    # device with the same global batch, however the tokens fall.
    return ops.sum(nll) / ops.maximum(_sum_over_replicas(ops.sum(mask)), 1e-9)


def sampled_token_nll(h, targets, kernel, bias, num_sampled, seed, project):
    """Per-token NLL ``[B, T]`` and target mask under a sampled softmax.

    Instead of scoring all ``V`` words, each batch scores its targets and
    ``num_sampled`` words drawn (with replacement) from a log-uniform
    distribution over the ids, ``P(k) = log((k + 2) / (k + 1)) / log(V + 1)``,
    which follows Zipf's law because the vocabulary is sorted by frequency.
    Every logit is corrected by the log of its expected count among the
    samples, and a sampled word equal to the target is left out (Jean et al.
    2015; ``tf.nn.sampled_softmax_loss`` with the log-uniform sampler and
    ``remove_accidental_hits``). Written with ``keras.ops`` and
    ``keras.random`` so that XLA compiles it. Training only: evaluation
    scores the full vocabulary.

    Args:
        h: ``[B, T, d]`` inputs of the output layer.
        targets: int ``[B, T]`` target ids (``PAD_ID`` where padded).
        kernel, bias: the output layer, ``[d, V]`` and ``[V]``.
        num_sampled: words drawn per batch.
        seed: a ``keras.random.SeedGenerator``.
        project: ``(h, kernel, bias) -> logits``, the model's matmul.
    """
    vocab = kernel.shape[-1]
    sampled = log_uniform_sample(vocab, num_sampled, seed)

    def log_expected(ids):
        return ops.log(num_sampled * log_uniform_probability(ids, vocab))

    targets = ops.cast(targets, "int32")
    rows = ops.take(ops.transpose(kernel), targets, axis=0)  # [B, T, d]
    true = ops.sum(ops.cast(h, "float32") * rows, axis=-1) + ops.take(bias, targets)
    true = true - log_expected(targets)
    others = project(h, ops.take(kernel, sampled, axis=1), ops.take(bias, sampled))
    others = others - log_expected(sampled)
    hit = ops.equal(ops.expand_dims(targets, -1), sampled)
    others = ops.where(hit, -1e9, others)
    scores = ops.concatenate([ops.expand_dims(true, -1), others], axis=-1)
    nll = ops.logsumexp(scores, axis=-1) - true
    mask = ops.cast(ops.not_equal(targets, PAD_ID), nll.dtype)
    return nll * mask, mask


def log_uniform_sample(vocab, n, seed):
    """``n`` ids in ``[0, vocab)`` drawn with replacement with probability
    ``log_uniform_probability`` (inverse CDF of one uniform draw each)."""
    u = keras.random.uniform((n,), seed=seed)
    draw = ops.floor(ops.exp(u * math.log(vocab + 1.0)))
    return ops.clip(ops.cast(draw, "int32") - 1, 0, vocab - 1)


def log_uniform_probability(ids, vocab):
    """``P(k) = log((k + 2) / (k + 1)) / log(vocab + 1)`` (float32)."""
    ids = ops.cast(ids, "float32")
    return (ops.log(ids + 2.0) - ops.log(ids + 1.0)) / math.log(vocab + 1.0)


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
        self.add(*token_nll(y_true, y_pred))

    def add(self, nll, mask):
        """Adds token NLLs ``nll`` (zero where padded) and their ``mask``."""
        self.total_nll.assign_add(ops.sum(nll))
        self.tokens.assign_add(ops.sum(mask))

    def result(self):
        return ops.exp(self.total_nll / ops.maximum(self.tokens, 1.0))

    def reset_state(self):
        self.total_nll.assign(0.0)
        self.tokens.assign(0.0)
