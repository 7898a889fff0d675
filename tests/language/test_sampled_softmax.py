"""The sampled softmax of training: TensorFlow's reference loss, its sampler,
exact evaluation, XLA, and logs without a false perplexity."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from output_layers import fit_one_batch, random_batch

from dank.core import constants
from dank.models.language.config import PRESETS, LanguageConfig
from dank.models.language.losses import (
    log_uniform_probability,
    log_uniform_sample,
    sampled_token_nll,
)
from dank.models.language.models import project

V, N, S = 60, 4, 16


def _batch():
    return random_batch(V, N)


def test_sampled_loss_matches_tensorflows_sampled_softmax_loss():
    rng = np.random.default_rng(1)
    h = rng.normal(size=(3, 5, 8)).astype("float32")
    kernel = rng.normal(size=(8, V)).astype("float32")
    bias = rng.normal(size=(V,)).astype("float32")
    targets = rng.integers(1, V, (3, 5)).astype("int32")
    targets[0, -1] = 0
    nll, mask = sampled_token_nll(
        h, targets, kernel, bias, S, keras.random.SeedGenerator(7), project
    )
    ids = log_uniform_sample(V, S, keras.random.SeedGenerator(7))  # Same draw.
    flat = targets.reshape(-1, 1).astype("int64")
    reference = tf.nn.sampled_softmax_loss(
        weights=kernel.T,
        biases=bias,
        labels=flat,
        inputs=h.reshape(-1, 8),
        num_sampled=S,
        num_classes=V,
        sampled_values=(
            tf.cast(ids, tf.int64),
            S * log_uniform_probability(flat, V),
            S * log_uniform_probability(ids, V),
        ),
        remove_accidental_hits=True,
    )
    expected = reference.numpy().reshape(3, 5) * (targets != 0)
    np.testing.assert_allclose(np.asarray(nll), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(mask), targets != 0)


def test_log_uniform_sampler_follows_its_distribution():
    ids = np.asarray(log_uniform_sample(V, 200_000, keras.random.SeedGenerator(3)))
    assert ids.min() >= 0 and ids.max() < V
    seen = np.bincount(ids, minlength=V) / ids.size
    expected = np.asarray(log_uniform_probability(np.arange(V), V))
    np.testing.assert_allclose(expected.sum(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(seen[:10], expected[:10], atol=0.004)


def _trained(sampled, jit=False, epochs=40):
    config = PRESETS["tiny"].replace(
        sampled_softmax=sampled, dropout=0.0, learning_rate=3e-2
    )
    return fit_one_batch(config, V, N, jit, epochs)


def test_sampled_training_lowers_the_exact_perplexity_and_logs_no_false_one():
    model, before, history = _trained(S)
    assert "perplexity" not in history  # Sampled NLL is not a perplexity.
    assert history["val_perplexity"][-1] < 0.8 * before["perplexity"]
    x, _ = _batch()
    # Outside training the model scores the whole vocabulary.
    assert tuple(model(x).shape) == (12, 6, V)


def test_exact_training_logs_the_perplexity_of_its_own_loss():
    _, _, history = _trained(0, epochs=1)
    # One batch, no weights: perplexity is exp(the token-mean loss).
    np.testing.assert_allclose(
        np.log(history["perplexity"][0]), history["loss"][0], rtol=1e-5
    )
    assert "val_perplexity" in history


def test_sampled_training_compiles_under_xla():
    _, before, history = _trained(S, jit=True, epochs=4)
    assert np.all(np.isfinite(history["loss"]))
    assert history["val_perplexity"][-1] < before["perplexity"]


def test_negative_sample_count_is_refused():
    with pytest.raises(ValueError, match="sampled_softmax"):
        LanguageConfig(sampled_softmax=-1)


def test_cli_trains_with_a_sampled_softmax_and_evaluates_exactly(tiny_data, tmp_path):
    from dank.apps.cli import main

    run = tmp_path / "run"
    args = ["train", "language", "--preset", "tiny", "--data", str(tiny_data)]
    assert main([*args, "--run", str(run), "--sampled-softmax", "-1"]) == 2
    assert main([*args, "--run", str(run), "--sampled-softmax", "8"]) == 0
    info = json.loads((run / constants.RUN_CONFIG_FILE).read_text())
    assert info["components"]["language"]["sampled_softmax"] == 8
    metrics = json.loads(
        (run / constants.LANGUAGE_DIR / constants.METRICS_FILE).read_text()
    )
    assert np.isfinite(metrics["test"]["perplexity"])
