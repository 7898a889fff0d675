"""An adaptive softmax over the vocabulary (Grave et al. 2017, "Efficient
softmax approximation for GPUs"), for training that scores most tokens
against a small head instead of the whole vocabulary.

The vocabulary is sorted by frequency, so ``cutoffs`` ``(c_1, ..., c_n)`` split
it into a head ``[0, c_1)`` and tail clusters ``[c_i, c_{i+1})`` (the last one
ends at ``V``). The model is a two-level distribution::

    p(w) = p_head(w)                           w in the head
    p(w) = p_head(cluster i) * p_i(w)           w in tail cluster i

``p_head`` is a softmax over the head words and one logit per cluster;
``p_i`` a softmax over the words of cluster i. Every word keeps its own logit
from the model's usual projection (``h @ kernel + bias``; with tied
embeddings its embedding row), so the parameters are those of the full
softmax plus a ``[d, n_clusters]`` kernel and bias for the cluster logits.

It is an exact, normalised distribution, not an approximation of the full
softmax: training, validation and perplexity score it exactly. A training
batch computes the head for every token and each cluster only for the tokens
whose target lies in it (on the starter build 86% of the target tokens are in
the 1,000 most frequent words), so it computes about a seventh of the full
softmax's logits. Decoding needs every word's probability and computes them
all (``log_probs``), at the cost of the full projection.
"""

from keras import ops

from dank.core.constants import PAD_ID


def clusters(cutoffs, vocab):
    """``[(start, end), ...]`` of the tail clusters."""
    bounds = [*cutoffs, vocab]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def log_probs(logits, cluster_logits, cutoffs):
    """Log-probabilities ``[..., V]`` of every word.

    Args:
        logits: ``[..., V]`` every word's logit (``h @ kernel + bias``).
        cluster_logits: ``[..., n_clusters]`` the head's cluster logits.
        cutoffs: the head's size and the tail clusters' starts.
    """
    vocab = logits.shape[-1]
    head = ops.log_softmax(
        ops.concatenate([logits[..., : cutoffs[0]], cluster_logits], axis=-1), axis=-1
    )
    parts = [head[..., : cutoffs[0]]]
    for i, (start, end) in enumerate(clusters(cutoffs, vocab)):
        tail = ops.log_softmax(logits[..., start:end], axis=-1)
        parts.append(tail + head[..., cutoffs[0] + i : cutoffs[0] + i + 1])
    return ops.concatenate(parts, axis=-1)


def token_nll(h, targets, kernel, bias, cluster_kernel, cluster_bias, cutoffs, project):
    """Per-token NLL ``[B, T]`` (zero where padded) and target mask ``[B, T]``.

    Args:
        h: ``[B, T, d]`` inputs of the output layer.
        targets: int ``[B, T]`` target ids (``PAD_ID`` where padded).
        kernel, bias: ``[d, V]`` and ``[V]``, every word's projection.
        cluster_kernel, cluster_bias: ``[d, n]`` and ``[n]``, the cluster logits.
        cutoffs: the head's size and the tail clusters' starts.
        project: ``(h, kernel, bias) -> logits``, the model's matmul.

    Each tail cluster is scored only at the tokens whose target lies in it
    (``tf.where`` and gathers: dynamic shapes, so not for XLA; see
    ``token_nll_static``).
    """
    import tensorflow as tf

    head_size, vocab = cutoffs[0], kernel.shape[-1]
    targets = ops.cast(targets, "int32")
    mask = ops.cast(ops.not_equal(targets, PAD_ID), "float32")
    head_logits = ops.concatenate(
        [
            project(h, kernel[:, :head_size], bias[:head_size]),
            project(h, cluster_kernel, cluster_bias),
        ],
        axis=-1,
    )
    head_target = targets
    nll = 0.0
    for i, (start, end) in enumerate(clusters(cutoffs, vocab)):
        inside = ops.logical_and(
            ops.greater_equal(targets, start), ops.less(targets, end)
        )
        head_target = ops.where(inside, head_size + i, head_target)
        where = tf.where(inside)  # [n, 2] positions of this cluster's targets.
        rows = tf.gather_nd(h, where)
        tail = ops.log_softmax(
            project(rows, kernel[:, start:end], bias[start:end]), axis=-1
        )
        picked = ops.take_along_axis(
            tail, ops.expand_dims(tf.gather_nd(targets, where) - start, -1), axis=-1
        )[:, 0]
        nll = nll - tf.scatter_nd(where, picked, tf.shape(targets, out_type=tf.int64))
    head = ops.log_softmax(head_logits, axis=-1)
    picked = ops.take_along_axis(head, ops.expand_dims(head_target, -1), axis=-1)
    return (nll - picked[..., 0]) * mask, mask


def token_nll_static(
    h, targets, kernel, bias, cluster_kernel, cluster_bias, cutoffs, project
):
    """``token_nll`` with static shapes (XLA): every cluster is scored at every
    token, which costs what the full softmax costs. Same arguments, same
    result."""
    targets = ops.cast(targets, "int32")
    mask = ops.cast(ops.not_equal(targets, PAD_ID), "float32")
    every = log_probs(
        project(h, kernel, bias), project(h, cluster_kernel, cluster_bias), cutoffs
    )
    picked = ops.take_along_axis(every, ops.expand_dims(targets, -1), axis=-1)
    return -picked[..., 0] * mask, mask
