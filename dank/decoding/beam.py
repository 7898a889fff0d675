"""Beam search over a step function: the shared loop and standard arg-top-k beam.

The loop keeps K alive beams and a pool of the K best finished captions per
input, all in static-shape tensors (in the style of keras-hub's
``beam_sampler.py``), so XLA compiles the whole search. Each step an
``expand`` function proposes C candidate tokens per beam with their score
increments; candidates that are ``</s>`` enter the finished pool, ranked by
``logprob / length**alpha``; the K best other candidates become the new beams,
ranked by raw logprob (as im2txt and the paper did).

Layout: alive rows are beam-major within each input, row ``b * K + k``; the
step state is tiled with ``repeat`` and reordered with ``gather`` on axis 0.
"""

import tensorflow as tf

from dank.core import constants
from dank.decoding import common


def top_k_tokens(logprobs, k):
    """The k largest entries of the last axis, largest first: (values, ids).

    This is the step im2txt got wrong (``np.argsort(p)[:-k][::-1]`` keeps all
    but the k *largest*); tests pin it against the correct slice.
    """
    top = tf.math.top_k(logprobs, k=k, sorted=True)
    return top.values, top.indices


def beam_loop(step_fn, initial_state, batch_size, config, expand):
    """Runs a beam search; see the module docstring.

    Args:
        step_fn: ``(tokens int32 [B*K], state) -> (logits [B*K, V], state)``.
        initial_state: nest of tensors with leading dim B.
        batch_size: B.
        config: a ``DecodeConfig`` (beam_size, max_len, length_penalty,
            num_return are read).
        expand: ``(logits float32 [B, K, V], step) -> (tokens int32 [B, K, C],
            increments float32 [B, K, C])`` with a static C; the increments
            are log-probabilities, so an ``expand`` that needs the
            normalised distribution takes ``common.log_probs`` itself (the
            paper's diverse beam renormalises its top words and needs none).

    Returns:
        ``Decoded`` with N = ``config.num_return``. Finished captions rank
        first; when an input has fewer than N, its best beams cut at the length
        limit fill the remaining slots.
    """
    k, max_len, alpha = config.beam_size, config.max_len, config.length_penalty
    step_fn = common.prepare_step(step_fn)
    state = common.repeat_state(initial_state, k)
    tokens = tf.fill([batch_size * k], constants.START_ID)
    alive_seqs = tf.fill([batch_size, k, max_len], constants.PAD_ID)
    # Only beam 0 starts alive, so the first step does not propose K copies.
    first = tf.concat([[0.0], tf.fill([k - 1], common.NEG_INF)], axis=0)
    alive_lp = tf.tile(first[None, :], [batch_size, 1])
    fin_seqs = tf.fill([batch_size, k, max_len], constants.PAD_ID)
    fin_score = tf.fill([batch_size, k], common.NEG_INF)
    fin_len = tf.zeros([batch_size, k], tf.int32)
    row_offset = tf.range(batch_size)[:, None] * k

    def cond(t, tokens, state, alive_seqs, alive_lp, fin_seqs, fin_score, fin_len):
        # Logprobs only fall, so an alive beam can at best finish at max_len
        # with its current logprob; stop once no beam can enter a full pool.
        best_possible = common.length_normalise(
            tf.reduce_max(alive_lp, axis=-1), max_len, alpha
        )
        hopeless = tf.logical_or(
            best_possible < tf.reduce_min(fin_score, axis=-1),
            tf.reduce_max(alive_lp, axis=-1) == common.NEG_INF,
        )
        return tf.logical_not(tf.reduce_all(hopeless))

    def body(t, tokens, state, alive_seqs, alive_lp, fin_seqs, fin_score, fin_len):
        logits, state = step_fn(tokens, state)
        # Name the vocabulary size: with a dynamic batch, -1 would lose the
        # static width that the top-k expansions need.
        vocab = logits.shape[-1] or tf.shape(logits)[-1]
        logits = tf.reshape(tf.cast(logits, tf.float32), [batch_size, k, vocab])
        cand_tok, cand_inc = expand(logits, t)
        c = cand_tok.shape[-1]
        cand_tok = tf.reshape(tf.cast(cand_tok, tf.int32), [batch_size, k * c])
        cand_lp = tf.reshape(alive_lp[:, :, None] + cand_inc, [batch_size, k * c])
        is_end = tf.equal(cand_tok, constants.END_ID)
        neg_inf = tf.fill(tf.shape(cand_lp), common.NEG_INF)

        # New alive beams: the K best candidates that are not </s>.
        new_lp, pick = top_k_tokens(tf.where(is_end, neg_inf, cand_lp), k)
        parent = pick // c
        new_tok = tf.gather(cand_tok, pick, batch_dims=1)
        new_seqs = tf.gather(alive_seqs, parent, batch_dims=1)
        new_seqs = common.write_column(new_seqs, t, new_tok)
        state = common.gather_state(state, tf.reshape(row_offset + parent, [-1]))

        # Finished pool: merge the </s> candidates, keep the K best.
        length = t + 1
        end_score = tf.where(
            is_end, common.length_normalise(cand_lp, length, alpha), neg_inf
        )
        end_seqs = common.write_column(
            tf.repeat(alive_seqs, c, axis=1),
            t,
            tf.fill(tf.shape(cand_tok), constants.END_ID),
        )
        all_score = tf.concat([fin_score, end_score], axis=1)
        fin_score, keep = top_k_tokens(all_score, k)
        fin_seqs = tf.gather(tf.concat([fin_seqs, end_seqs], 1), keep, batch_dims=1)
        all_len = tf.concat([fin_len, tf.fill(tf.shape(cand_tok), length)], axis=1)
        fin_len = tf.gather(all_len, keep, batch_dims=1)
        return (
            t + 1,
            tf.reshape(new_tok, [-1]),
            state,
            new_seqs,
            new_lp,
            fin_seqs,
            fin_score,
            fin_len,
        )

    loop_vars = (
        tf.constant(0),
        tokens,
        state,
        alive_seqs,
        alive_lp,
        fin_seqs,
        fin_score,
        fin_len,
    )
    steps, _, _, alive_seqs, alive_lp, fin_seqs, fin_score, fin_len = tf.while_loop(
        cond, body, loop_vars, maximum_iterations=max_len
    )
    return _rank(config, steps, alive_seqs, alive_lp, fin_seqs, fin_score, fin_len)


def _rank(config, steps, alive_seqs, alive_lp, fin_seqs, fin_score, fin_len):
    """Finished captions first (sorted), then cut-off beams fill missing slots."""
    k, n = config.beam_size, config.num_return
    alive_score = common.length_normalise(alive_lp, steps, config.length_penalty)
    n_fin = tf.reduce_sum(tf.cast(fin_score > common.NEG_INF, tf.int32), axis=-1)
    slot = tf.range(n)[None, :]
    # Both lists are already sorted best first (top_k keeps them sorted).
    index = tf.where(slot < n_fin[:, None], slot, k + slot - n_fin[:, None])
    seqs = tf.gather(tf.concat([fin_seqs, alive_seqs], 1), index, batch_dims=1)
    scores = tf.gather(tf.concat([fin_score, alive_score], 1), index, batch_dims=1)
    lengths = tf.concat([fin_len, tf.fill(tf.shape(fin_len), steps)], axis=1)
    lengths = tf.gather(lengths, index, batch_dims=1)
    return common.Decoded(seqs, scores, lengths)


def beam_decode(step_fn, initial_state, config, batch_size):
    """Standard beam search: each beam proposes its K best tokens and ``</s>``.

    Proposing K non-end tokens per beam makes the alive set exactly the global
    top-K over all beams x vocabulary; proposing ``</s>`` from every beam lets
    each beam's ending compete for the finished pool.
    """
    k = config.beam_size

    # The K best non-end tokens of each beam; </s> is never banned.
    banned = [*common.banned_ids(config.suppress_unk), constants.END_ID]

    def expand(logits, step):
        logprobs = common.log_probs(logits)
        end_lp = logprobs[:, :, constants.END_ID]
        values, ids = common.top_k_masked(logprobs, k, banned)
        tokens = tf.concat(
            [ids, tf.fill(tf.shape(ids[:, :, :1]), constants.END_ID)], axis=-1
        )
        return tokens, tf.concat([values, end_lp[:, :, None]], axis=-1)

    return beam_loop(step_fn, initial_state, batch_size, config, expand)
