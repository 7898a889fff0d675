"""Pieces every decoder shares: the result type, token masks, state tiling,
length normalisation and a counter-based random stream.

The random stream is a hand-written integer hash rather than
``tf.random.stateless_*``: TensorFlow's stateless kernels give different bits
under XLA than on the CPU kernel, and the decoders promise the same captions
for the same seed whether they run eagerly, as a graph or compiled.
"""

import functools
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from dank.core import constants

NEG_INF = float("-inf")


class Decoded(NamedTuple):
    """Captions for a batch; N = ``config.num_return``, L = ``config.max_len``.

    Attributes:
        tokens: int32 [B, N, L] generated ids (no ``<s>``), ``</s>`` included
            when emitted, PAD after it. Best caption first.
        scores: float32 [B, N], the ranking score
            ``logprob / length ** length_penalty`` (-inf: no caption found).
        lengths: int32 [B, N] generated tokens, ``</s>`` included.
    """

    tokens: tf.Tensor
    scores: tf.Tensor
    lengths: tf.Tensor


def batch_size_of(initial_state, batch_size=None):
    """The batch size B: given, else the leading dim of the state's first leaf."""
    if batch_size is not None:
        return batch_size
    leaves = tf.nest.flatten(initial_state)
    if not leaves:
        raise ValueError("initial_state is empty; pass batch_size explicitly")
    first = tf.convert_to_tensor(leaves[0])
    static = first.shape[0] if first.shape.rank else None
    return static if static is not None else tf.shape(first)[0]


def repeat_state(state, times):
    """Tiles each leaf ``times`` along axis 0: row b becomes rows b*times+i."""
    return tf.nest.map_structure(lambda s: tf.repeat(s, times, axis=0), state)


def gather_state(state, rows):
    """Reorders each leaf's rows (beam reordering after a step)."""
    return tf.nest.map_structure(lambda s: tf.gather(s, rows, axis=0), state)


def prepare_step(step_fn):
    """``step_fn`` with the work that is the same at every step done once,
    here, before the loop: a bound ``step`` method whose object has
    ``prepare_step() -> kwargs`` (``CaptionModel``: its projection's weights,
    cast to bfloat16 once per search rather than at each step), or a function
    with a ``prepare`` attribute of that kind. Other step functions pass."""
    owner = getattr(step_fn, "__self__", None)
    prepare = getattr(owner, "prepare_step", None) or getattr(step_fn, "prepare", None)
    if prepare is None:
        return step_fn
    return functools.partial(step_fn, **prepare())


def log_probs(logits):
    """float32 log-softmax of the step's logits."""
    return tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)


def banned_mask(vocab_size, suppress_unk):
    """Bool [V]: tokens a decoder may never emit (PAD, <s>, maybe <unk>)."""
    ids = tf.range(vocab_size)
    banned = tf.constant(banned_ids(suppress_unk))
    return tf.reduce_any(ids[:, None] == banned[None, :], axis=-1)


def banned_ids(suppress_unk):
    """The ids ``banned_mask`` bans, as a list."""
    return [constants.PAD_ID, constants.START_ID] + (
        [constants.UNK_ID] if suppress_unk else []
    )


# top_k_masked splits the vocabulary into chunks of a power of two, at least
# this wide, with at least CHUNKS_PER_K * k chunks; narrower vocabularies take
# tf.math.top_k whole.
MIN_CHUNK, CHUNKS_PER_K = 16, 8


def _chunk_width(vocab, k):
    if vocab is None:
        return None
    width = MIN_CHUNK
    while vocab // (2 * width) >= CHUNKS_PER_K * k:
        width *= 2
    return width if vocab // width >= CHUNKS_PER_K * k else None


def top_k_masked(logits, k, banned=()):
    """``tf.math.top_k`` of the last axis with the ``banned`` ids at -inf:
    ``(values, ids)``, largest first, ties to the lower id, exactly as
    ``tf.math.top_k(tf.where(mask, -inf, logits), k)`` gives them.

    TensorFlow's CPU top-k is slow over a wide axis: over the paper's 38,821
    words it costs about ten times a max over the same numbers. So the axis is
    cut into chunks (``_chunk_width``; the last one padded with -inf), each
    chunk's max is taken, the k chunks with the largest maxima are kept (they
    hold the top k: a chunk left out has k kept chunks whose maxima come before
    everything in it, ties included, since a tie goes to the lower chunk), and
    top-k runs over those k chunks alone, in id order. Banned ids must lie in
    the first chunk (the special tokens do); they are masked there only.
    Vocabularies too narrow to gain take ``tf.math.top_k`` directly.
    """
    logits = tf.convert_to_tensor(logits)
    vocab = logits.shape[-1]
    banned = sorted(set(banned))
    width = _chunk_width(vocab, k)
    if width is None or (banned and banned[-1] >= width):
        if banned:
            mask = tf.constant(np.isin(np.arange(vocab), banned))
            logits = tf.where(mask, tf.constant(NEG_INF, logits.dtype), logits)
        top = tf.math.top_k(logits, k=k, sorted=True)
        return top.values, top.indices
    lead = tf.shape(logits)[:-1]
    rows = tf.reshape(logits, [-1, vocab])
    n = -(-vocab // width)
    if n * width > vocab:
        pad = tf.fill([tf.shape(rows)[0], n * width - vocab], NEG_INF)
        rows = tf.concat([rows, tf.cast(pad, rows.dtype)], axis=1)
    chunks = tf.reshape(rows, [-1, n, width])
    first = chunks[:, 0]
    maxima = tf.reduce_max(chunks, axis=-1)
    if banned:
        mask = tf.constant(np.isin(np.arange(width), banned))
        first = tf.where(mask, tf.constant(NEG_INF, first.dtype), first)
        first_max = tf.reduce_max(first, axis=-1, keepdims=True)
        maxima = tf.concat([first_max, maxima[:, 1:]], axis=1)
    best = tf.sort(tf.math.top_k(maxima, k=k).indices, axis=-1)
    picked = tf.gather(chunks, best, batch_dims=1)
    if banned:
        picked = tf.where((best == 0)[:, :, None], first[:, None, :], picked)
    top = tf.math.top_k(tf.reshape(picked, [-1, k * width]), k=k, sorted=True)
    ids = tf.gather(best, top.indices // width, batch_dims=1) * width
    ids += top.indices % width
    shape = tf.concat([lead, [k]], axis=0)
    values, ids = tf.reshape(top.values, shape), tf.reshape(ids, shape)
    values.set_shape(logits.shape[:-1].concatenate([k]))
    ids.set_shape(values.shape)
    return values, ids


def mask_banned(logprobs, suppress_unk):
    """Sets the log-probability of banned tokens to -inf (probability 0)."""
    banned = banned_mask(tf.shape(logprobs)[-1], suppress_unk)
    return tf.where(banned, tf.constant(NEG_INF, logprobs.dtype), logprobs)


def length_normalise(logprob, length, alpha):
    """logprob / length**alpha (the paper's ranking of finished captions)."""
    if alpha == 0:
        return logprob
    return logprob / tf.pow(tf.cast(length, tf.float32), alpha)


def write_column(seqs, column, tokens):
    """Returns ``seqs`` [..., L] with ``seqs[..., column] = tokens`` (static shape)."""
    length = seqs.shape[-1]
    hit = tf.range(length) == column
    return tf.where(hit, tokens[..., None], seqs)


def as_seed(seed):
    """A seed as an int32 [2] tensor. None draws a fresh one per call."""
    if seed is None:
        return tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
    if isinstance(seed, int):
        return tf.constant([seed & 0x7FFFFFFF, (seed >> 31) & 0x7FFFFFFF], tf.int32)
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int32)
    if seed.shape.rank == 0:
        return tf.stack([seed, tf.zeros_like(seed)])
    if seed.shape.rank != 1 or seed.shape[0] != 2:
        raise ValueError(f"seed must be an int or a [2] int tensor, got {seed.shape}")
    return seed


def _hash32(x):
    """lowbias32 integer hash (Chris Wellons): uint32 -> uint32."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
    x = x * tf.constant(0x7FEB352D, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 15))
    x = x * tf.constant(0x846CA68B, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def gumbel_noise(shape, seed, step):
    """Standard Gumbel noise of static ``shape`` for one decoding step.

    Args:
        shape: the noise shape (a list of ints; the leading dim may be a tensor).
        seed: int32 [2] seed from ``as_seed``.
        step: the decoding step (int32 scalar), so every step draws fresh noise.
    """
    seed = tf.cast(seed, tf.uint32)
    key = _hash32(
        seed[0] ^ _hash32(seed[1] ^ _hash32(tf.cast(step, tf.uint32) + 0x9E3779B9))
    )
    count = tf.reduce_prod(tf.cast(shape, tf.int32))
    bits = _hash32(tf.cast(tf.range(count), tf.uint32) ^ key)
    bits = _hash32(bits + key)
    # 24 bits give floats exactly in (0, 1): never 0 or 1, so both logs are finite.
    u = (tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) + 0.5) * (2.0**-24)
    return tf.reshape(-tf.math.log(-tf.math.log(u)), shape)
