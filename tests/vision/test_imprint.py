"""Weight imprinting: the head starts as a nearest-template classifier."""

import numpy as np
import pytest

from dank.core.errors import DankError
from dank.data.pipeline import load_catalogue
from dank.models.vision import data
from dank.models.vision.imprint import imprint_head
from dank.models.vision.model import build_model


def test_imprinted_head_recognises_each_template_picture(tiny_data, tiny_config):
    n = len(load_catalogue(tiny_data))
    model = build_model(n, tiny_config.image_size)
    pictures = data.template_images(tiny_data, tiny_config, batch_size=3)
    stats = imprint_head(model, pictures, temperature=10.0)
    assert stats["templates"] == n and stats["mean_norm"] > 0
    for x, y in pictures:
        logits = np.asarray(model(x, training=False)["logits"])
        np.testing.assert_array_equal(logits.argmax(axis=1), np.asarray(y))
        assert np.all(logits.max(axis=1) > 0)  # Cosine 1 with itself, scaled.


def test_imprinting_needs_every_template_once(tiny_data, tiny_config):
    n = len(load_catalogue(tiny_data))
    model = build_model(n, tiny_config.image_size)
    pictures = data.template_images(tiny_data, tiny_config, batch_size=n).take(1)
    first = [(x[:-1], y[:-1]) for x, y in pictures]
    with pytest.raises(DankError, match=f"each of the {n} templates"):
        imprint_head(model, first)
