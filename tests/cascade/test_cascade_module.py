"""The cascade's tf.Module on fake models: fallback routing and signatures."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dank.cascade.module import Cascade
from dank.core import constants
from dank.core.errors import DankError
from dank.decoding.config import DecodeConfig

VOCAB = [*constants.SPECIAL_TOKENS, "alpha", "beta"]
ALPHA, BETA = len(constants.SPECIAL_TOKENS), len(constants.SPECIAL_TOKENS) + 1


class FakeCaptioner:
    """Says one word, then ends: state is the step count."""

    def __init__(self, word):
        self.word = word

    def initial_state(self, condition):
        return (tf.zeros([tf.shape(condition["template"])[0]], tf.int32),)

    def step(self, tokens, state):
        (count,) = state
        first = tf.one_hot(tf.fill(tf.shape(count), self.word), len(VOCAB))
        end = tf.one_hot(tf.fill(tf.shape(count), constants.END_ID), len(VOCAB))
        logits = 10.0 * tf.where((count == 0)[:, None], first, end)
        return logits, (count + 1,)


def _classifier(n_templates=3, size=8):
    pixels = keras.Input((size, size, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(pixels)
    return keras.Model(
        pixels,
        {
            "logits": keras.layers.Dense(n_templates)(pooled),
            "embedding": keras.layers.Dense(2048)(pooled),
        },
    )


def _cascade(threshold=0.5, **kwargs):
    """A cascade over fakes: an 8 px classifier and a captioner saying "alpha"."""
    return Cascade(
        _classifier(),
        FakeCaptioner(ALPHA),
        VOCAB,
        threshold=threshold,
        image_size=8,
        decode_config=DecodeConfig(method="greedy"),
        **kwargs,
    )


@pytest.mark.parametrize("fallback", [None, FakeCaptioner(BETA)])
def test_unknown_rows_use_the_fallback_model(fallback):
    cascade = _cascade(fallback=fallback)
    weights = tf.one_hot([0, 1, 2], 3)
    known = tf.constant([True, False, True])
    out = cascade.caption(weights, tf.zeros([3, 2048]), known, tf.constant([0, 0]))
    tops = [t.decode() for t in out["top"].numpy()[:, 0]]
    unknown_word = "alpha" if fallback is None else "beta"
    assert tops == ["alpha", unknown_word, "alpha"]


def test_generate_from_image_bytes():
    cascade = _cascade(threshold=0.0)
    png = tf.io.encode_png(tf.zeros([20, 30, 3], tf.uint8))
    out = cascade.generate(tf.stack([png, png]), tf.constant([1, 2]))
    assert out["probs"].shape == (2, 3)
    assert out["known"].numpy().all()
    np.testing.assert_allclose(out["probs"].numpy().sum(-1), 1.0, rtol=1e-5)
    assert [t.decode() for t in out["top"].numpy()[:, 0]] == ["alpha", "alpha"]


def test_template_weights_mix_top_k():
    cascade = _cascade(mix_top_k=2)
    weights = cascade.template_weights(tf.constant([[0.6, 0.3, 0.1]]))
    np.testing.assert_allclose(weights.numpy(), [[2 / 3, 1 / 3, 0.0]], rtol=1e-6)


@pytest.mark.parametrize("k", [0, 4])
def test_mixing_more_templates_than_the_run_has_is_refused(k):
    with pytest.raises(DankError, match=f"between 1 and 3 .*got {k}"):
        _cascade(mix_top_k=k)


def test_a_beam_wider_than_the_vocabulary_is_refused():
    with pytest.raises(DankError, match="beam_size 5 is wider than the 4 tokens"):
        Cascade(
            _classifier(),
            FakeCaptioner(ALPHA),
            VOCAB,
            threshold=0.5,
            image_size=8,
            decode_config=DecodeConfig(method="beam", beam_size=5),
        )
