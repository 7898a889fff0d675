"""Greedy and sampling decoders, config validation and the entry point."""

import math

import numpy as np
import pytest
import tensorflow as tf
from decoding_fakes import (
    END,
    MAIN,
    PAD,
    START,
    UNK,
    A,
    B,
    C,
    D,
    FakeModel,
    random_model,
    table,
)

from dank.decoding import PRESETS, DecodeConfig, decode
from dank.decoding.common import gumbel_noise
from dank.decoding.sampling import filter_logits


def run(probs, batch=1, seed=None, **kwargs):
    model = FakeModel(probs)
    out = decode(model, model.initial_state(batch), DecodeConfig(**kwargs), seed=seed)
    return out, model


def test_greedy_exact_output_stops_at_end_and_pads():
    out, model = run(MAIN, batch=2, method="greedy", max_len=6, length_penalty=0)
    assert out.tokens.shape == (2, 1, 6)
    for row in range(2):
        assert out.tokens[row, 0].numpy().tolist() == [A, D, END, PAD, PAD, PAD]
    assert out.lengths.numpy().tolist() == [[3], [3]]
    assert out.scores[0, 0].numpy() == pytest.approx(math.log(0.2), abs=1e-5)
    # Regression for "an end token that never matches": generation stops at
    # </s> instead of running to max_len.
    assert model.calls == 3


def test_greedy_length_penalty_scales_the_score():
    out, _ = run(MAIN, method="greedy", length_penalty=0.2)
    assert out.scores[0, 0].numpy() == pytest.approx(math.log(0.2) / 3**0.2, abs=1e-5)


def test_greedy_suppresses_unk_and_never_emits_pad_or_start():
    probs = table({START: {PAD: 0.4, UNK: 0.3, START: 0.2, B: 0.1}})
    out, _ = run(probs, method="greedy", max_len=3)
    assert out.tokens[0, 0].numpy().tolist() == [B, END, PAD]
    out, _ = run(probs, method="greedy", max_len=3, suppress_unk=False)
    assert out.tokens[0, 0].numpy().tolist() == [UNK, END, PAD]


def test_sampling_is_deterministic_under_a_seed():
    step_fn = random_model()
    state = (tf.zeros([4], tf.int32),)
    config = DecodeConfig(method="sample", num_return=6, max_len=12, temperature=1.0)
    first = decode(step_fn, state, config, seed=7)
    again = decode(step_fn, state, config, seed=7)
    other = decode(step_fn, state, config, seed=8)
    assert first.tokens.shape == (4, 6, 12)
    np.testing.assert_array_equal(first.tokens, again.tokens)
    np.testing.assert_array_equal(first.scores, again.scores)
    assert not np.array_equal(first.tokens, other.tokens)
    # Samples come back best score first.
    scores = first.scores.numpy()
    assert np.all(np.diff(scores, axis=-1) <= 0)


def test_sampling_follows_the_model_distribution():
    probs = table({START: {A: 0.7, B: 0.3}})
    out, _ = run(probs, seed=11, method="sample", num_return=2000, temperature=1.0)
    share = np.mean(out.tokens[0, :, 0].numpy() == A)
    assert share == pytest.approx(0.7, abs=0.04)


def test_sampling_temperature_flattens():
    probs = table({START: {A: 0.9, B: 0.1}})
    out, _ = run(probs, seed=5, method="sample", num_return=2000, temperature=3.0)
    share = np.mean(out.tokens[0, :, 0].numpy() == A)
    # p**(1/3) renormalised: 0.9**(1/3) / (0.9**(1/3) + 0.1**(1/3)) = 0.675.
    assert share == pytest.approx(0.675, abs=0.04)


def test_sampling_top_k_one_is_greedy():
    out, _ = run(MAIN, seed=2, method="sample", num_return=5, top_k=1, max_len=4)
    for i in range(5):
        assert out.tokens[0, i].numpy().tolist() == [A, D, END, PAD]


def test_filter_logits_top_k_and_top_p():
    logits = tf.math.log(tf.constant([[0.05, 0.5, 0.3, 0.15]]))
    kept = np.isfinite(filter_logits(logits, top_k=2).numpy())
    assert kept.tolist() == [[False, True, True, False]]
    # Nucleus 0.75: 0.5 then 0.3 reaches it; 0.15 and 0.05 go.
    kept = np.isfinite(filter_logits(logits, top_p=0.75).numpy())
    assert kept.tolist() == [[False, True, True, False]]
    # The most likely token survives even a tiny nucleus.
    kept = np.isfinite(filter_logits(logits, top_p=0.01).numpy())
    assert kept.tolist() == [[False, True, False, False]]


def test_sampling_top_p_excludes_the_tail():
    probs = table({START: {A: 0.6, B: 0.3, C: 0.07, D: 0.03}})
    out, _ = run(
        probs, seed=4, method="sample", num_return=500, top_p=0.85, temperature=1.0
    )
    firsts = set(out.tokens[0, :, 0].numpy().tolist())
    assert firsts == {A, B}


def test_gumbel_noise_is_standard_gumbel():
    noise = gumbel_noise([20000], tf.constant([1, 2]), tf.constant(0)).numpy()
    assert np.mean(noise) == pytest.approx(0.5772, abs=0.03)  # Euler-Mascheroni.
    assert np.std(noise) == pytest.approx(math.pi / math.sqrt(6), abs=0.03)
    other = gumbel_noise([20000], tf.constant([1, 2]), tf.constant(1)).numpy()
    assert abs(np.corrcoef(noise, other)[0, 1]) < 0.05  # Steps draw fresh noise.


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "topk"}, "unknown decoding method"),
        ({"method": "greedy", "num_return": 2}, "greedy decoding returns one"),
        ({"method": "beam", "beam_size": 2, "num_return": 3}, "must be <= beam_size"),
        ({"temperature": 0.0}, "temperature must be a positive number"),
        ({"temperature": float("nan")}, "temperature must be a positive number"),
        ({"temperature": float("inf")}, "temperature must be a positive number"),
        ({"length_penalty": float("nan")}, "length_penalty must be >= 0"),
        ({"top_p": 0.0}, "top_p must be in"),
        ({"max_len": 0}, "max_len must be >= 1"),
    ],
)
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DecodeConfig(**kwargs)


@pytest.mark.parametrize("method", ["beam", "diverse"])
def test_a_beam_wider_than_the_vocabulary_is_refused(method):
    config = DecodeConfig(method=method, beam_size=7)
    config.check_vocabulary(4 + 7)  # Padding, start, end and unknown: never proposed.
    with pytest.raises(ValueError, match="wider than the 6 tokens a beam"):
        config.check_vocabulary(4 + 6)
    DecodeConfig(method="sample", beam_size=7).check_vocabulary(5)  # No beam.


def test_paper_preset_matches_the_paper():
    paper = PRESETS["paper"]
    assert (paper.method, paper.beam_size, paper.temperature, paper.max_len) == (
        "diverse",
        5,
        1.3,
        25,
    )
    assert (paper.top_words, paper.length_penalty, paper.suppress_unk) == (
        100,
        0.2,
        True,
    )
