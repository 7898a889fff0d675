"""Greedy sample captions for a few fixed templates, logged while training."""

import keras
import numpy as np

from dank.data.text import detokenize
from dank.language.summaries import write_summaries

MAX_LEN = 25  # Generated tokens per sample caption, </s> included (paper: 25).


def greedy_captions(model, labels, vocab, max_len=MAX_LEN):
    """Greedy captions ``[(top, bottom)]`` for template ``labels`` (dank.decoding)."""
    import tensorflow as tf

    from dank.decoding.config import DecodeConfig
    from dank.decoding.greedy import greedy_decode

    config = DecodeConfig(method="greedy", max_len=max_len)
    labels = tf.constant(np.asarray(labels, dtype="int32"))

    @tf.function
    def run():
        state = model.initial_state(model.condition_for_labels(labels))
        return greedy_decode(model.step, state, config, len(labels)).tokens[:, 0]

    return [detokenize(vocab.decode(row)) for row in run().numpy()]


class SampleCaptions(keras.callbacks.Callback):
    """Writes a Markdown table of greedy captions to TensorBoard every few epochs.

    Args:
        log_dir: TensorBoard directory (a ``samples`` writer is made inside).
        catalogue: the run's catalogue (for template names).
        vocab: the run's vocabulary.
        labels: the fixed templates to caption.
        every: epochs between samples.
    """

    def __init__(self, log_dir, catalogue, vocab, labels, every=1):
        super().__init__()
        self.log_dir = str(log_dir)
        self.catalogue = catalogue
        self.vocab = vocab
        self.labels = list(labels)
        self.every = max(1, int(every))
        self.last = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        captions = greedy_captions(self.model, self.labels, self.vocab)
        rows = ["| template | top | bottom |", "|---|---|---|"]
        rows += [
            f"| {self.catalogue[label].name} | {top} | {bottom} |"
            for label, (top, bottom) in zip(self.labels, captions)
        ]
        self.last = captions
        write_summaries(f"{self.log_dir}/samples", epoch,
                        texts={"sample_captions": "\n".join(rows)})
