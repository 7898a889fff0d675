"""Randomly initialised models at a preset's sizes, for timing (speed depends on
shapes, not on weights), so a benchmark needs no trained run.

The models are dank's own classes (``CaptionModel``, the ResNet50 classifier),
so a change to them shows up in the numbers. TensorFlow is imported when a
function is called.
"""

from experiments.benchmarks import common


def caption_model(preset="cpu", n_templates=100, vocab=None, **changes):
    """A ``CaptionModel`` (template variant) at ``preset``'s sizes, random weights.

    Args:
        preset: a language preset name (``common.VOCAB`` gives its vocabulary).
        n_templates: templates it is conditioned on.
        vocab: vocabulary size; the preset's when None.
        **changes: ``LanguageConfig`` fields to override (``unroll``, ...).
    """
    from dank.models.language.config import get_preset
    from dank.models.language.models import CaptionModel

    config = get_preset(preset).replace(**changes)
    return CaptionModel(config, vocab or common.VOCAB[preset], n_templates)


def never_end(model):
    """Makes ``model`` never choose ``</s>``, so every decode runs ``max_len`` steps.

    A random model ranks ``</s>`` first often enough that the beam's bound stops
    the search after a step or two; never ending gives every run the same
    amount of work, the worst case. Sets the output bias (the one weight of
    shape ``[V]``) of ``</s>`` to -1e9.
    """
    from dank.core.constants import END_ID

    biases = [w for w in model.weights if tuple(w.shape) == (model.vocab_size,)]
    if len(biases) != 1:
        raise ValueError(f"expected one output bias of shape [V], found {len(biases)}")
    values = biases[0].numpy()
    values[END_ID] = -1e9
    biases[0].assign(values)
    return model


def caption_state(model, batch, seed=0):
    """The decoder's initial state for ``batch`` captions of random templates."""
    import numpy as np
    from keras import ops

    labels = np.random.default_rng(seed).integers(0, model.n_templates, batch)
    condition = {
        "template": ops.one_hot(labels, model.n_templates),
        "image": np.zeros((batch, model.config.image_dim), "float32"),
    }
    return model.initial_state(condition)


def caption_batch(model, batch, length, seed=0):
    """``(x, y)`` for ``train_on_batch``: random non-special tokens and templates."""
    import numpy as np

    from dank.core.constants import SPECIAL_TOKENS

    rng = np.random.default_rng(seed)
    tokens = rng.integers(len(SPECIAL_TOKENS), model.vocab_size, (batch, length + 1))
    labels = rng.integers(0, model.n_templates, batch)
    x = {"tokens": tokens[:, :-1].astype("int32"), "label": labels.astype("int32")}
    return x, tokens[:, 1:].astype("int32")


def vocab_tokens(size):
    """A vocabulary of ``size`` strings: the special tokens, then ``w6``, ``w7``..."""
    from dank.core.constants import SPECIAL_TOKENS

    return [*SPECIAL_TOKENS, *(f"w{i}" for i in range(len(SPECIAL_TOKENS), size))]


def classifier(preset="cpu", n_templates=100, mirror=False):
    """The ResNet50 template classifier at the vision ``preset``'s input size
    (with ``mirror``: also looking at each picture's mirror image,
    ``model.MirrorChoice``)."""
    from dank.models.vision.config import get_config
    from dank.models.vision.model import build_model

    config = get_config(preset)
    return build_model(n_templates, config.image_size, config.dropout, mirror)
