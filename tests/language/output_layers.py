"""Shared by the tests of the caption model's output layers (sampled and
adaptive softmax): a random padded batch and a short fit on it."""

import keras
import numpy as np

from dank.models.language.models import CaptionModel
from dank.models.language.train import make_optimizer


def random_batch(vocab, templates, seed=0, batch=12, length=6):
    """``(x, y)``: random tokens from id 4 on, every third caption padded."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(4, vocab, (batch, length + 1)).astype("int32")
    tokens[::3, -2:] = 0  # Some padding.
    labels = rng.integers(0, templates, batch).astype("int32")
    return {"tokens": tokens[:, :-1], "label": labels}, tokens[:, 1:]


def fit_one_batch(config, vocab, templates, jit=False, epochs=40):
    """``(model, metrics before, fit history)`` of a seeded ``CaptionModel``
    fitted on ``random_batch`` (also its validation data)."""
    keras.utils.set_random_seed(0)
    model = CaptionModel(config, vocab, templates)
    model.compile(optimizer=make_optimizer(config), jit_compile=jit)
    x, y = random_batch(vocab, templates)
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    history = model.fit(
        x, y, epochs=epochs, verbose=0, validation_data=(x, y), shuffle=False
    )
    return model, before, history.history
