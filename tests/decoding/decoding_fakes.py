"""A fake caption model with a hand-written next-token table.

The state is the code of the whole prefix fed so far (``code * V + token``), so
a decoder that reorders beams without reordering the state feeds the model the
wrong prefix and the prefix overrides below stop matching.
"""

import numpy as np
import tensorflow as tf

from dank.core import constants

PAD, UNK, START, END, SEP, EMP = range(6)
A, B, C, D = 6, 7, 8, 9
VOCAB = 10
WORDS = ["<pad>", "<unk>", "<s>", "</s>", "<sep>", "<emp>", "a", "b", "c", "d"]


def table(rows):
    """A [V, V] next-token probability table; unlisted rows go straight to END."""
    probs = np.zeros([VOCAB, VOCAB], np.float64)
    probs[:, END] = 1.0
    for token, nxt in rows.items():
        probs[token] = 0.0
        for word, p in nxt.items():
            probs[token, word] = p
    assert np.allclose(probs.sum(-1), 1.0)
    return probs


# The main table: greedy-like search takes a->d->END, a wider beam finds b->END.
MAIN = table(
    {
        START: {A: 0.5, B: 0.4, C: 0.1},
        A: {D: 0.4, C: 0.35, END: 0.25},
        B: {END: 0.9, D: 0.1},
        C: {END: 1.0},
        D: {END: 1.0},
    }
)


class FakeModel:
    """``step_fn(tokens, state) -> (logits, state)`` over a table.

    Args:
        probs: [V, V] next-token table indexed by the input token.
        prefix_rows: optional {prefix tuple (without <s>): {token: p}} that
            override the table after that exact prefix.
    """

    def __init__(self, probs, prefix_rows=None):
        with np.errstate(divide="ignore"):
            self.log_table = tf.constant(np.log(probs), tf.float32)
        self.overrides = []
        for prefix, nxt in (prefix_rows or {}).items():
            row = np.zeros(VOCAB)
            for word, p in nxt.items():
                row[word] = p
            with np.errstate(divide="ignore"):
                self.overrides.append((self.code(prefix), np.log(row)))
        self.calls = 0

    @staticmethod
    def code(prefix):
        code = START
        for token in prefix:
            code = code * VOCAB + token
        return code

    def initial_state(self, batch):
        return (tf.zeros([batch], tf.int32),)

    def __call__(self, tokens, state):
        self.calls += 1
        (code,) = state
        code = code * VOCAB + tokens
        logits = tf.gather(self.log_table, tokens)
        for prefix_code, row in self.overrides:
            hit = tf.equal(code, prefix_code)[:, None]
            logits = tf.where(hit, tf.constant(row, tf.float32)[None], logits)
        return logits, (code,)


def random_model(vocab=40, seed=0):
    """A dense random bigram model for compile/eager and sampling checks."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=[vocab, vocab]) * 2.0
    logits[:, constants.END_ID] -= 1.5  # Long enough captions to exercise steps.
    log_table = tf.constant(logits, tf.float32)

    def step_fn(tokens, state):
        (count,) = state
        return tf.gather(log_table, tokens), (count + 1,)

    return step_fn
