"""Nucleus sampling that writes like people: dank's default decoder (issue 22).

The paper's diversity beam and beam search pick the *likeliest* captions:
short, generic, often copied, and a word + char n-gram classifier tells them
from real captions about 90% of the time. Plain sampling draws from the
model's own distribution, which is what real captions look like to it, but
its tail gives the odd broken caption. This decoder samples, with three
guards, tuned on the validation split (``experiments/quality.py``):

* **temperature and top-p**: softmax(logits / T), keeping the smallest set of
  words holding ``top_p`` of the mass (``sampling.filter_logits``);
* **min_len**: no ``</s>``, ``<sep>`` or ``<emp>`` before ``min_len`` tokens,
  so the top box has at least ``min_len`` words: the caption model ends its
  top box too early (a quarter of its top boxes had 1-2 words against 13% of
  real ones, and its captions were 20% shorter than real);
* **no_repeat_ngram**: a token that would repeat an n-gram already in the
  caption is banned, which removes "x y z x y z" loops.

The repeat guard needs the caption so far, which the shared one-token loop
(``greedy.token_loop``) does not pass to ``choose``: the step function is
wrapped so that its state also carries the history and the step count. All of
it is static-shape TensorFlow, so the loop compiles with XLA like the others.
"""

import tensorflow as tf

from dank.core import constants
from dank.decoding import common
from dank.decoding.greedy import token_loop
from dank.decoding.sampling import filter_logits

# Tokens that end the top box (or the caption): held back before min_len.
BOUNDARIES = (constants.END_ID, constants.SEP_ID, constants.EMP_ID)


def repeat_mask_updates(history, step, n):
    """Where a next token would repeat an n-gram of ``history``.

    Args:
        history: int32 [R, L], the generated tokens; columns >= ``step`` unused.
        step: int32 scalar, how many tokens each row has generated.
        n: the n-gram order (>= 2).

    Returns:
        ``(indices int32 [R * P, 2], banned bool [R * P])``, P = L - n + 1:
        (row, token) pairs, banned where the row's last n - 1 tokens equal
        the n - 1 tokens at some earlier position and that token followed them.
    """
    rows, length = history.shape[0] or tf.shape(history)[0], history.shape[1]
    positions = length - n + 1
    # The last n-1 generated tokens: columns step-n+1 .. step-1 (clamped; rows
    # with fewer than n-1 tokens are never banned, see ``ready`` below).
    cols = tf.clip_by_value(step - (n - 1) + tf.range(n - 1), 0, length - 1)
    suffix = tf.gather(history, cols, axis=1)  # [R, n-1]
    match = tf.ones([rows, positions], tf.bool)
    for j in range(n - 1):
        window = history[:, j : j + positions]  # Tokens at i + j.
        match = tf.logical_and(match, tf.equal(window, suffix[:, j : j + 1]))
    # The n-gram at i must lie wholly in the generated part: i + n - 1 < step.
    complete = tf.range(positions) + n - 1 < step
    ready = step >= n - 1
    match = tf.logical_and(match, tf.logical_and(complete, ready)[None, :])
    followers = history[:, n - 1 : n - 1 + positions]  # [R, P]
    row_ids = tf.broadcast_to(tf.range(rows)[:, None], tf.shape(followers))
    indices = tf.reshape(tf.stack([row_ids, followers], axis=-1), [-1, 2])
    return indices, tf.reshape(match, [-1])


def block_repeats(logits, history, step, n):
    """``logits`` with every token that would repeat an n-gram set to -inf."""
    indices, banned = repeat_mask_updates(history, step, n)
    inf = tf.constant(float("inf"), logits.dtype)
    # min() with +inf leaves a logit alone; duplicates of an index are harmless.
    updates = tf.where(banned, -inf, inf)
    return tf.tensor_scatter_nd_min(logits, indices, updates)


def nucleus_decode(step_fn, initial_state, config, seed, batch_size):
    """Draws ``num_return`` guarded nucleus samples per input, best score first.

    Scores are the untempered model log-probabilities, length-normalised, as
    for ``sample``; see the module docstring for the guards.
    """
    n, max_len = config.num_return, config.max_len
    rows = batch_size * n
    seed = common.as_seed(seed)
    step_fn = common.prepare_step(step_fn)
    history = tf.fill([rows, max_len], constants.PAD_ID)
    state = (common.repeat_state(initial_state, n), history, tf.constant(0))

    def guarded_step(tokens, state):
        inner, history, step = state
        # ``tokens`` is what was chosen at step - 1 (<s> at step 0: no column).
        history = common.write_column(history, step - 1, tokens)
        logits, inner = step_fn(tokens, inner)
        if config.no_repeat_ngram:
            logits = block_repeats(
                tf.cast(logits, tf.float32), history, step, config.no_repeat_ngram
            )
        return logits, (inner, history, step + 1)

    def choose(logprobs, step):
        masked = common.mask_banned(logprobs, config.suppress_unk)
        if config.min_len:
            ids = tf.range(tf.shape(masked)[-1])[:, None]
            boundary = tf.reduce_any(tf.equal(ids, BOUNDARIES), axis=-1)
            early = tf.logical_and(boundary, step < config.min_len)
            masked = tf.where(early[None, :], common.NEG_INF, masked)
        logits = filter_logits(masked / config.temperature, config.top_k, config.top_p)
        noise = common.gumbel_noise(tf.shape(logits), seed, step)
        return tf.argmax(logits + noise, axis=-1, output_type=tf.int32)

    seqs, scores, lengths = token_loop(
        guarded_step, state, rows, max_len, config.length_penalty, choose
    )
    shape = [batch_size, n]
    seqs = tf.reshape(seqs, [*shape, max_len])
    scores, lengths = tf.reshape(scores, shape), tf.reshape(lengths, shape)
    order = tf.argsort(scores, axis=-1, direction="DESCENDING", stable=True)
    return common.Decoded(
        tf.gather(seqs, order, batch_dims=1),
        tf.gather(scores, order, batch_dims=1),
        tf.gather(lengths, order, batch_dims=1),
    )
