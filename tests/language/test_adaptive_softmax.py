"""The adaptive softmax: a normalised distribution, the same NLL by every path
(per-cluster gathers, XLA's static form, the decoding step's log-probabilities),
training, save/load, and bad cutoffs."""

import json

import keras
import numpy as np
import pytest
from output_layers import fit_one_batch, random_batch

from dank.core import constants
from dank.models.language import adaptive
from dank.models.language.config import PRESETS, LanguageConfig
from dank.models.language.models import CaptionModel, project

V, N, CUTOFFS = 60, 4, (12, 30)


def _batch():
    return random_batch(V, N)


def _model(tied=True, **changes):
    keras.utils.set_random_seed(0)
    config = PRESETS["tiny"].replace(
        adaptive_softmax=CUTOFFS, tie_embeddings=tied, **changes
    )
    return CaptionModel(config, V, N)


def test_log_probs_are_the_two_level_distribution():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, V)).astype("float32")
    cluster = rng.normal(size=(3, 2)).astype("float32")
    got = np.asarray(adaptive.log_probs(logits, cluster, CUTOFFS))
    np.testing.assert_allclose(np.exp(got).sum(-1), 1.0, rtol=1e-5)

    def softmax(z):
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    head = softmax(np.concatenate([logits[:, :12], cluster], -1))
    np.testing.assert_allclose(np.exp(got[:, :12]), head[:, :12], rtol=1e-5)
    np.testing.assert_allclose(
        np.exp(got[:, 30:]), head[:, 13:14] * softmax(logits[:, 30:]), rtol=1e-5
    )


@pytest.mark.parametrize("static", [False, True])
@pytest.mark.parametrize("empty_cluster", [False, True])
def test_token_nll_reads_the_log_probs_at_the_targets(static, empty_cluster):
    rng = np.random.default_rng(2)
    h = rng.normal(size=(3, 5, 8)).astype("float32")
    kernel = rng.normal(size=(8, V)).astype("float32")
    bias = rng.normal(size=(V,)).astype("float32")
    ck, cb = rng.normal(size=(8, 2)).astype("float32"), np.zeros(2, "float32")
    targets = rng.integers(1, V, (3, 5)).astype("int32")
    targets[0, -2:] = 0
    targets[1, :3] = [3, 12, 59]  # Cluster edges.
    if empty_cluster:  # No target in the last cluster.
        targets = np.where(targets >= 30, targets // 3, targets)
    nll_fn = adaptive.token_nll_static if static else adaptive.token_nll
    nll, mask = nll_fn(h, targets, kernel, bias, ck, cb, CUTOFFS, project)
    every = np.asarray(adaptive.log_probs(h @ kernel + bias, h @ ck + cb, CUTOFFS))
    expected = -np.take_along_axis(every, targets[..., None], -1)[..., 0]
    expected *= targets != 0
    np.testing.assert_allclose(np.asarray(nll), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(mask), targets != 0)


@pytest.mark.parametrize("tied", [True, False])
def test_model_scores_teacher_forcing_and_steps_alike(tied):
    model = _model(tied)
    x, y = _batch()
    h = model(x)  # The decoder outputs: the loss scores from them.
    assert tuple(h.shape) == (12, 6, model.config.units)
    every = np.asarray(model.logits(h))
    np.testing.assert_allclose(np.exp(every).sum(-1), 1.0, rtol=1e-5)
    nll, mask = model.target_nll(h, y)
    expected = -np.take_along_axis(every, np.asarray(y)[..., None], -1)[..., 0]
    np.testing.assert_allclose(
        np.asarray(nll), expected * np.asarray(mask), rtol=1e-5, atol=1e-5
    )
    state = model.initial_state(model.condition_for_labels(x["label"]))
    step_logits, _ = model.step(x["tokens"][:, 0], state, **model.prepare_step())
    np.testing.assert_allclose(
        np.asarray(step_logits), every[:, 0], rtol=1e-4, atol=1e-5
    )


def _fit(jit=False, epochs=30, logits_dtype="float32"):
    config = PRESETS["tiny"].replace(
        adaptive_softmax=CUTOFFS,
        tie_embeddings=True,
        dropout=0.0,
        learning_rate=3e-2,
        logits_dtype=logits_dtype,
    )
    return fit_one_batch(config, V, N, jit, epochs)


def test_training_logs_the_exact_perplexity_and_lowers_it():
    model, before, history = _fit()
    np.testing.assert_allclose(
        np.log(history["perplexity"][0]), history["loss"][0], rtol=1e-5
    )
    assert history["val_perplexity"][-1] < 0.5 * before["perplexity"]
    # The cluster logits learn too.
    assert np.abs(np.asarray(model.cluster_kernel)).sum() > 0


def test_bfloat16_logits_train_the_adaptive_softmax():
    """The `full` preset's combination: bfloat16 projections inside the
    adaptive softmax score the float32 model's NLL to bfloat16 rounding, and
    training lowers the exact perplexity."""
    x, y = _batch()
    exact, rounded = _model(), _model(logits_dtype="bfloat16")
    rounded.set_weights(exact.get_weights())
    h = exact(x)
    nll, _ = exact.target_nll(h, y)
    nll_bf16, _ = rounded.target_nll(h, y)
    assert not np.array_equal(np.asarray(nll_bf16), np.asarray(nll))  # Rounded.
    np.testing.assert_allclose(
        np.asarray(nll_bf16), np.asarray(nll), rtol=0.02, atol=0.05
    )
    _, before, history = _fit(logits_dtype="bfloat16")
    assert history["val_perplexity"][-1] < 0.5 * before["perplexity"]


def test_xla_training_gives_the_same_losses():
    _, _, graph = _fit(epochs=3)
    _, _, xla = _fit(jit=True, epochs=3)
    np.testing.assert_allclose(xla["loss"], graph["loss"], rtol=1e-4)


def test_save_load_keeps_the_cluster_logits(tmp_path):
    model = _model()
    x, _ = _batch()
    model.cluster_bias.assign([0.5, -0.5])
    expected = np.asarray(model.logits(model(x)))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.config.adaptive_softmax == CUTOFFS
    np.testing.assert_allclose(
        np.asarray(loaded.logits(loaded(x))), expected, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    "cutoffs", [(0, 10), (10, 10), (20, 10), (10.5,), (True,), (12, V)]
)
def test_bad_cutoffs_are_refused(cutoffs):
    with pytest.raises(ValueError, match="adaptive_softmax"):
        CaptionModel(PRESETS["tiny"].replace(adaptive_softmax=cutoffs), V, N)


def test_adaptive_and_sampled_are_exclusive():
    with pytest.raises(ValueError, match="not both"):
        LanguageConfig(adaptive_softmax=(10,), sampled_softmax=8)


def test_cli_trains_with_an_adaptive_softmax(tiny_data, tmp_path):
    from dank.apps.cli import main

    run = tmp_path / "run"
    args = ["train", "language", "--preset", "tiny", "--data", str(tiny_data)]
    assert main([*args, "--run", str(run), "--adaptive-softmax", "20,x"]) == 2
    assert main([*args, "--run", str(run), "--adaptive-softmax", "8,20"]) == 0
    info = json.loads((run / constants.RUN_CONFIG_FILE).read_text())
    assert info["components"]["language"]["adaptive_softmax"] == [8, 20]
    metrics = json.loads(
        (run / constants.LANGUAGE_DIR / constants.METRICS_FILE).read_text()
    )
    assert np.isfinite(metrics["test"]["perplexity"])


def test_the_cpu_preset_trains_adaptive_and_the_paper_full():
    assert PRESETS["cpu"].adaptive_softmax == (1000, 4000)
    assert PRESETS["paper"].adaptive_softmax == ()  # As the paper trained.
    # The full catalogue's 26k words: 2,000 in the head (run-make-train-full.json).
    assert PRESETS["full"].adaptive_softmax == (2000, 8000)


def test_a_small_vocabulary_drops_the_cutoffs_past_its_end():
    config = PRESETS["cpu"]  # Cutoffs (1000, 4000).
    assert config.for_vocabulary(10_000) is config
    assert config.for_vocabulary(2_000).adaptive_softmax == (1000,)
    assert config.for_vocabulary(121).adaptive_softmax == ()  # The full softmax.
