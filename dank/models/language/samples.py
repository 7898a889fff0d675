"""Greedy sample captions for a few fixed templates, logged while training.

Each logged epoch gets a Markdown table of the captions (text tab) and, when the
run's template pictures are at hand, the captions drawn as memes (images tab).
"""

import logging
from pathlib import Path

import keras
import numpy as np

from dank.core.errors import DankError
from dank.core.summaries import write_summaries
from dank.data.text import detokenize
from dank.decoding.config import PRESETS

log = logging.getLogger(__name__)

# Generated tokens per sample caption, </s> included (the paper's 25).
MAX_LEN = PRESETS["paper"].max_len
MEME_SIDE = 320  # Longer side of the logged sample memes, in pixels.


def greedy_decoder(model, n, max_len=MAX_LEN):
    """A compiled function: int32 template labels ``[n]`` -> greedy tokens."""
    import tensorflow as tf

    from dank.decoding.config import config_for
    from dank.decoding.greedy import greedy_decode

    config = config_for("greedy", max_len=max_len)

    @tf.function
    def run(labels):
        state = model.initial_state(model.condition_for_labels(labels))
        return greedy_decode(model.step, state, config, n).tokens[:, 0]

    return run


def greedy_captions(model, labels, vocab, max_len=MAX_LEN, decoder=None):
    """Greedy captions ``[(top, bottom)]`` for template ``labels`` (dank.decoding).

    Args:
        decoder: a ``greedy_decoder`` for ``len(labels)`` to reuse (tracing it
            again for every call costs seconds).
    """
    import tensorflow as tf

    decoder = decoder or greedy_decoder(model, len(labels), max_len)
    tokens = decoder(tf.constant(np.asarray(labels, dtype="int32"))).numpy()
    return [detokenize(vocab.decode(row)) for row in tokens]


def template_pictures(run_dir, templates, side=MEME_SIDE):
    """Each template's own picture (from the run's data build), downscaled.

    A template without a readable picture is left out with a warning: samples
    are a view of training, not a reason to stop it.
    """
    from dank.core.images import template_picture
    from dank.core.run import read_run_info, template_image_path

    # ``dank.models.run.Run`` sits above this module; the layout below it says
    # where the build's pictures are.
    data = Path(read_run_info(run_dir).get("data", ""))
    pictures = {}
    for template in templates:
        try:
            path = template_image_path(data, template)
            pictures[template.label] = template_picture(path, template, side).image
        except DankError as e:
            log.warning("no sample meme for %s: %s", template.name, e)
    return pictures


class SampleCaptions(keras.callbacks.Callback):
    """Writes greedy captions for fixed templates to TensorBoard every few epochs.

    Args:
        log_dir: TensorBoard directory (a ``samples`` writer is made inside).
        catalogue: the run's catalogue (for template names).
        vocab: the run's vocabulary.
        labels: the fixed templates to caption.
        every: epochs between samples.
        run_dir: the run; when given, the captions are also drawn on the
            templates' pictures (``dank.render``) and logged as images.
    """

    def __init__(self, log_dir, catalogue, vocab, labels, every=1, run_dir=None):
        super().__init__()
        self.log_dir = str(log_dir)
        self.catalogue = catalogue
        self.vocab = vocab
        self.labels = list(labels)
        self.every = max(1, int(every))
        self.run_dir = run_dir
        self.last = []
        self._decoder = None
        self._pictures = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        if self._decoder is None:
            self._decoder = greedy_decoder(self.model, len(self.labels))
        captions = greedy_captions(
            self.model, self.labels, self.vocab, decoder=self._decoder
        )
        rows = ["| template | top | bottom |", "|---|---|---|"]
        rows += [
            f"| {self.catalogue[label].name} | {top} | {bottom} |"
            for label, (top, bottom) in zip(self.labels, captions)
        ]
        self.last = captions
        write_summaries(
            f"{self.log_dir}/samples",
            epoch,
            texts={"sample_captions": "\n".join(rows)},
            images=self._memes(captions),
        )

    def _memes(self, captions):
        """``{tag: meme image}`` for the sampled captions (none without a run)."""
        if self.run_dir is None:
            return {}
        from dank.render.meme import draw_meme

        if self._pictures is None:
            self._pictures = template_pictures(
                self.run_dir, [self.catalogue[label] for label in self.labels]
            )
        memes = {}
        for label, (top, bottom) in zip(self.labels, captions):
            template = self.catalogue[label]
            if label in self._pictures:
                memes[f"sample_memes/{template.id}"] = draw_meme(
                    self._pictures[label], top, bottom, boxes=template.boxes
                )
        return memes
