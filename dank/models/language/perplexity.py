"""Held-out perplexity of captions, per token and per word.

Both the caption model and the n-gram baselines (``dank.models.ngram``) score the
same token sequences (``<s> top <sep> bottom </s>``, every token after ``<s>``
predicted, ``</s>`` included) and report through ``summarize``, so their
numbers compare.

* ``perplexity``: exp(total NLL / predicted tokens). Depends on the tokeniser.
* ``perplexity_per_word``: exp(total NLL / total (words + 1)), where words are
  the whitespace-separated words of top and bottom after
  ``dank.data.text.normalize`` (NFKC, lower case, emoji and control characters
  removed, spaces collapsed) and the +1 stands for the end of the caption. It
  compares across tokenisations of the same normalised text.
"""

import numpy as np

from dank.core.constants import PAD_ID
from dank.core.progress import Progress
from dank.models.perplexity import caption_words, summarize


def _pad(rows, width):
    out = np.full((len(rows), width), PAD_ID, dtype="int32")
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def _batches(captions, batch_size):
    """Index batches sorted by length (little padding), at most ``batch_size * 32``
    tokens each, so a few very long captions cannot blow up the logits."""
    order = sorted(range(len(captions)), key=lambda i: len(captions[i]["tokens"]))
    budget, batch = batch_size * 32, []
    for i in order:
        if batch and (len(batch) + 1) * len(captions[i]["tokens"]) > budget:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def caption_nll(model, captions, batch_size=256):
    """Per-caption NLL (nats) of ``captions`` under a ``CaptionModel``.

    Args:
        model: a ``CaptionModel``.
        captions: dicts with ``label`` (int) and ``tokens`` (ids, ``<s>`` first).
        batch_size: captions per forward pass.

    Returns:
        (nll float64 [n], predicted tokens int [n]).
    """
    import tensorflow as tf

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None], tf.int32),
        ]
    )
    def score(tokens, labels):
        h = model.features({"tokens": tokens[:, :-1], "label": labels})
        nll, _ = model.target_nll(h, tokens[:, 1:])
        return tf.reduce_sum(nll, axis=-1)

    nll = np.zeros(len(captions))
    with Progress("perplexity", len(captions), "captions") as progress:
        for idx in _batches(captions, batch_size):
            rows = [captions[i]["tokens"] for i in idx]
            tokens = _pad(rows, max(len(r) for r in rows))
            labels = np.array([captions[i]["label"] for i in idx], dtype="int32")
            nll[idx] = score(tf.constant(tokens), tf.constant(labels)).numpy()
            progress.update(len(idx))
    lengths = np.array([len(c["tokens"]) - 1 for c in captions])
    return nll, lengths


def evaluate_captions(model, captions, batch_size=256):
    """``summarize`` of ``captions`` (dicts with label, tokens, top, bottom)."""
    nll, lengths = caption_nll(model, captions, batch_size)
    words = sum(caption_words(c["top"], c["bottom"]) for c in captions)
    return summarize(nll.sum(), lengths.sum(), words, len(captions))
