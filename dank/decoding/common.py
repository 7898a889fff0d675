"""Pieces every decoder shares: the result type, token masks, state tiling,
length normalisation and a counter-based random stream.

The random stream is a hand-written integer hash rather than
``tf.random.stateless_*``: TensorFlow's stateless kernels give different bits
under XLA than on the CPU kernel, and the decoders promise the same captions
for the same seed whether they run eagerly, as a graph or compiled.
"""

from typing import NamedTuple

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


def log_probs(logits):
    """float32 log-softmax of the step's logits."""
    return tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)


def banned_mask(vocab_size, suppress_unk):
    """Bool [V]: tokens a decoder may never emit (PAD, <s>, maybe <unk>)."""
    banned = [constants.PAD_ID, constants.START_ID]
    if suppress_unk:
        banned.append(constants.UNK_ID)
    ids = tf.range(vocab_size)
    return tf.reduce_any(ids[:, None] == tf.constant(banned)[None, :], axis=-1)


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
