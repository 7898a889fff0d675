"""Work hoisted out of the decoding loop gives the same numbers: the
projection's weights cast once per search, the diverse beam on raw logits."""

import numpy as np
import pytest
import tensorflow as tf

from dank.decoding import DecodeConfig, common, decode
from dank.decoding.diverse import adjusted_log_probs
from dank.models.language.config import PRESETS
from dank.models.language.models import CaptionModel

V, N = 50, 3


def _model(**changes):
    tf.keras.utils.set_random_seed(0)
    return CaptionModel(PRESETS["tiny"].replace(**changes), V, N)


@pytest.mark.parametrize("tie", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_prepared_step_gives_the_same_logits(tie, dtype):
    model = _model(tie_embeddings=tie, logits_dtype=dtype)
    state = model.initial_state({"template": tf.one_hot([0, 2], N)})
    tokens = tf.constant([2, 7])
    step = common.prepare_step(model.step)
    assert step is not model.step  # Something was bound.
    want, want_state = model.step(tokens, state)
    got, got_state = step(tokens, state)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    for a, b in zip(got_state, want_state):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_plain_step_functions_pass_through():
    def step(tokens, state):
        return tf.zeros([2, V]), state

    assert common.prepare_step(step) is step


@pytest.mark.parametrize("method", ["greedy", "beam", "diverse"])
def test_decoders_give_the_same_captions_with_bfloat16_weights_cast_once(method):
    model = _model(logits_dtype="bfloat16")
    state = model.initial_state({"template": tf.one_hot([0, 1, 2], N)})
    returns = 1 if method == "greedy" else 2
    config = DecodeConfig(method=method, beam_size=3, num_return=returns, max_len=6)
    seed = tf.constant([3, 4])

    def unprepared(tokens, state):  # No prepare: casts at every step.
        return model.step(tokens, state)

    a = decode(model.step, state, config, seed=seed)
    b = decode(unprepared, state, config, seed=seed)
    np.testing.assert_array_equal(a.tokens.numpy(), b.tokens.numpy())
    np.testing.assert_allclose(a.scores.numpy(), b.scores.numpy(), rtol=1e-6)


def test_diverse_distribution_is_the_same_from_logits_and_log_probs():
    logits = tf.constant(np.random.default_rng(1).normal(size=(4, 3, 500)) * 3)
    logits = tf.cast(logits, tf.float32)
    from_logits = adjusted_log_probs(logits, 20, 0.7)
    from_logprobs = adjusted_log_probs(common.log_probs(logits), 20, 0.7)
    np.testing.assert_array_equal(from_logits[1].numpy(), from_logprobs[1].numpy())
    np.testing.assert_allclose(
        from_logits[0].numpy(), from_logprobs[0].numpy(), atol=1e-5
    )
