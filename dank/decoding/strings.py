"""Token ids to top and bottom caption text, in TensorFlow ops.

Usable inside a ``tf.function`` and a SavedModel, so every caller (the cascade,
the CLI, evaluation) shares this one detokeniser.
"""

import tensorflow as tf

from dank.core import constants

# Tokens that never print: PAD, <s>, </s> (and what follows it), <sep>, <emp>.
_SILENT = (
    constants.PAD_ID,
    constants.START_ID,
    constants.END_ID,
    constants.SEP_ID,
    constants.EMP_ID,
)


def _join(words, keep):
    """Joins the kept words of each row with single spaces, then glues
    punctuation: the tokenizer splits "wait..." into "wait . . ." and "(me)"
    into "( me )", and the reader wants them back together."""
    pieces = tf.where(keep, words + " ", "")
    text = tf.strings.strip(tf.strings.reduce_join(pieces, axis=-1))
    text = tf.strings.regex_replace(text, r" +([.,!?:;%)])", r"\1")
    return tf.strings.regex_replace(text, r"([(]) +", r"\1")


def split_top_bottom(tokens, vocab_tokens):
    """Splits generated ids into top and bottom text at the first ``<sep>``.

    Stops at the first ``</s>``; skips PAD and ``<s>``; ``<emp>`` gives an empty
    box; with no ``<sep>`` everything is top text.

    Args:
        tokens: int [..., T] token ids.
        vocab_tokens: string [V], the vocabulary in id order.

    Returns:
        (top, bottom): string tensors of shape [...].
    """
    tokens = tf.cast(tokens, tf.int32)
    vocab_tokens = tf.convert_to_tensor(vocab_tokens, tf.string)
    words = tf.gather(vocab_tokens, tokens)
    # Count separators and ends seen *before* each position (exclusive cumsum).
    ended = tf.cumsum(tf.cast(tf.equal(tokens, constants.END_ID), tf.int32), axis=-1)
    seps = tf.cumsum(tf.cast(tf.equal(tokens, constants.SEP_ID), tf.int32), axis=-1)
    silent = tf.reduce_any(
        tf.equal(tokens[..., None], tf.constant(_SILENT, tf.int32)), axis=-1
    )
    visible = tf.logical_and(tf.equal(ended, 0), tf.logical_not(silent))
    top = _join(words, tf.logical_and(visible, tf.equal(seps, 0)))
    bottom = _join(words, tf.logical_and(visible, seps > 0))
    return top, bottom
