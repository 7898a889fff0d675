"""Temperature, top-k and top-p (nucleus) sampling."""

import tensorflow as tf

from dank.decoding import common
from dank.decoding.greedy import token_loop


def filter_logits(logits, top_k=0, top_p=1.0):
    """Sets logits outside the top-k and outside the top-p nucleus to -inf.

    Args:
        logits: float32 [R, V].
        top_k: keep the k largest (0 = off).
        top_p: keep the smallest set of most likely tokens whose probability
            reaches top_p (1.0 = off); the most likely token is always kept.
    """
    neg_inf = tf.constant(common.NEG_INF, logits.dtype)
    vocab = logits.shape[-1]
    if top_k and top_k < vocab:
        kth = tf.math.top_k(logits, k=top_k).values[:, -1:]
        logits = tf.where(logits < kth, neg_inf, logits)
    if top_p < 1.0:
        ordered = tf.sort(logits, axis=-1, direction="DESCENDING")
        probs = tf.nn.softmax(ordered, axis=-1)
        # Mass strictly before each token: a token is kept while that is < top_p.
        before = tf.cumsum(probs, axis=-1, exclusive=True)
        kept = tf.logical_and(before < top_p, ordered > neg_inf)
        threshold = tf.reduce_min(tf.where(kept, ordered, ordered[:, :1]), axis=-1)
        logits = tf.where(logits < threshold[:, None], neg_inf, logits)
    return logits


def sample_decode(step_fn, initial_state, config, seed, batch_size):
    """Draws ``num_return`` independent samples per input, best score first.

    Each step samples from softmax(filter(masked logprobs / T)) by the Gumbel-max
    trick with the counter-based noise in ``common``, so a seed fixes the output.
    Scores are the untempered model log-probabilities, length-normalised.
    """
    n = config.num_return
    rows = batch_size * n
    state = common.repeat_state(initial_state, n)
    seed = common.as_seed(seed)

    def choose(logprobs, step):
        masked = common.mask_banned(logprobs, config.suppress_unk)
        logits = filter_logits(masked / config.temperature, config.top_k, config.top_p)
        noise = common.gumbel_noise(tf.shape(logits), seed, step)
        return tf.argmax(logits + noise, axis=-1, output_type=tf.int32)

    seqs, scores, lengths = token_loop(
        step_fn, state, rows, config.max_len, config.length_penalty, choose
    )
    seqs = tf.reshape(seqs, [batch_size, n, config.max_len])
    scores = tf.reshape(scores, [batch_size, n])
    lengths = tf.reshape(lengths, [batch_size, n])
    order = tf.argsort(scores, axis=-1, direction="DESCENDING", stable=True)
    return common.Decoded(
        tf.gather(seqs, order, batch_dims=1),
        tf.gather(scores, order, batch_dims=1),
        tf.gather(lengths, order, batch_dims=1),
    )
