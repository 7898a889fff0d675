"""The paper's "modified beam search to encourage diversity" (PAPER.md).

At each step, for every alive beam: the probability of ``<unk>`` is set to 0;
the ``top_words`` (100) most likely words are kept; they are reweighted by
p**(1/T) and renormalised; ``beam_size`` of them are **sampled without
replacement** from that distribution. A candidate's score adds the log of its
adjusted probability. Candidates ending in ``</s>`` are finished captions,
ranked by logprob / length**0.2; the rest compete for the K alive beams by
logprob. Sampling without replacement is the Gumbel-top-k trick: the K largest
of log q + Gumbel noise are a draw of K distinct words from q.
"""

import tensorflow as tf

from dank.decoding import common
from dank.decoding.beam import beam_loop, top_k_tokens


def adjusted_log_probs(logprobs, top_words, temperature):
    """The paper's per-step distribution over each beam's top words.

    Renormalising over the top words makes the result the same for logits as
    for log-probabilities (they differ by a constant per row), so the search
    passes logits and skips a log-softmax over the whole vocabulary.

    Args:
        logprobs: float32 [..., V], log-probabilities or logits; <unk>, PAD
            and <s> get probability 0 here.
        top_words: how many of the most likely words to keep.
        temperature: T in p**(1/T).

    Returns:
        (log q float32 [..., W], word ids int32 [..., W]), W = min(top_words, V);
        q sums to 1 over the W words.
    """
    width = min(top_words, logprobs.shape[-1])
    # The paper always zeroes <unk>, whatever config.suppress_unk says.
    values, ids = common.top_k_masked(
        logprobs, width, common.banned_ids(suppress_unk=True)
    )
    scaled = values / temperature
    return scaled - tf.reduce_logsumexp(scaled, axis=-1, keepdims=True), ids


def diverse_decode(step_fn, initial_state, config, seed, batch_size):
    """The paper's diversity beam search; see the module docstring."""
    k = config.beam_size
    seed = common.as_seed(seed)

    def expand(logits, step):
        log_q, ids = adjusted_log_probs(logits, config.top_words, config.temperature)
        noise = common.gumbel_noise(tf.shape(log_q), seed, step)
        # Words with q = 0 stay at -inf and are drawn last, never over real ones.
        _, pick = top_k_tokens(log_q + noise, min(k, log_q.shape[-1]))
        tokens = tf.gather(ids, pick, batch_dims=2)
        return tokens, tf.gather(log_q, pick, batch_dims=2)

    return beam_loop(step_fn, initial_state, batch_size, config, expand)
