"""Greedy decoding, and the one-token-per-row loop that sampling reuses."""

import tensorflow as tf

from dank.core import constants
from dank.decoding import common


def token_loop(step_fn, initial_state, batch_size, max_len, alpha, choose):
    """Runs ``step_fn`` one token per row until every row has emitted ``</s>``.

    One ``tf.while_loop`` over static shapes, so a surrounding ``tf.function``
    (with or without ``jit_compile``) compiles the whole generation.

    Args:
        step_fn: ``(tokens int32 [R], state) -> (logits [R, V], state)``.
        initial_state: nest of tensors with leading dim R = ``batch_size``.
        batch_size: R, the number of rows.
        max_len: most generated tokens per row, ``</s>`` included.
        alpha: length penalty for the returned score.
        choose: ``(logprobs float32 [R, V], step) -> tokens int32 [R]``.

    Returns:
        (tokens int32 [R, max_len], scores float32 [R], lengths int32 [R]);
        scores are the model's log-probabilities normalised by length**alpha.
    """
    step_fn = common.prepare_step(step_fn)
    tokens = tf.fill([batch_size], constants.START_ID)
    seqs = tf.fill([batch_size, max_len], constants.PAD_ID)
    logprob = tf.zeros([batch_size], tf.float32)
    lengths = tf.zeros([batch_size], tf.int32)
    done = tf.zeros([batch_size], tf.bool)

    def cond(t, tokens, state, seqs, logprob, lengths, done):
        return tf.logical_not(tf.reduce_all(done))

    def body(t, tokens, state, seqs, logprob, lengths, done):
        logits, state = step_fn(tokens, state)
        logprobs = common.log_probs(logits)
        nxt = tf.cast(choose(logprobs, t), tf.int32)
        nxt = tf.where(done, constants.PAD_ID, nxt)
        picked = tf.gather(logprobs, nxt, batch_dims=1)
        logprob += tf.where(done, 0.0, picked)
        lengths += tf.where(done, 0, 1)
        seqs = common.write_column(seqs, t, nxt)
        done = tf.logical_or(done, tf.equal(nxt, constants.END_ID))
        return t + 1, nxt, state, seqs, logprob, lengths, done

    loop_vars = (tf.constant(0), tokens, initial_state, seqs, logprob, lengths, done)
    _, _, _, seqs, logprob, lengths, _ = tf.while_loop(
        cond, body, loop_vars, maximum_iterations=max_len
    )
    return seqs, common.length_normalise(logprob, lengths, alpha), lengths


def greedy_decode(step_fn, initial_state, config, batch_size):
    """Takes the most likely allowed token at every step (N = 1)."""

    def choose(logprobs, step):
        masked = common.mask_banned(logprobs, config.suppress_unk)
        return tf.argmax(masked, axis=-1, output_type=tf.int32)

    seqs, scores, lengths = token_loop(
        step_fn,
        initial_state,
        batch_size,
        config.max_len,
        config.length_penalty,
        choose,
    )
    return common.Decoded(seqs[:, None], scores[:, None], lengths[:, None])
