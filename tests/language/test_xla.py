"""Caption training and decoding under XLA match graph mode; finished runs stay."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from dank.apps.cli import main
from dank.core import constants
from dank.decoding import DecodeConfig, compiled_decoder
from dank.models.language.config import PRESETS, VARIANTS
from dank.models.language.losses import MaskedCrossEntropy
from dank.models.language.models import CaptionModel

V, N, IMAGE_DIM = 40, 5, 12
LABELS = [[7, 8], [9], [], [10, 11, 12, 13, 14, 15], [16]]
TOKENS = np.array(
    [[2, 7, 8, 4, 5, 3, 0], [2, 9, 4, 3, 0, 0, 0], [2, 20, 21, 4, 22, 23, 3]],
    "int32",
)
X = {"tokens": TOKENS[:, :-1], "label": np.array([1, 3, 2], "int32")}
Y = TOKENS[:, 1:]
DECODERS = {
    "greedy": DecodeConfig(method="greedy", max_len=8),
    "beam": DecodeConfig(method="beam", beam_size=3, num_return=3, max_len=8),
    "diverse": DecodeConfig(
        method="diverse", beam_size=3, num_return=2, max_len=8, top_words=12
    ),
    "sample": DecodeConfig(
        method="sample", num_return=3, max_len=8, top_k=8, top_p=0.9
    ),
}


def _model(variant):
    config = PRESETS["tiny"].replace(variant=variant, image_dim=IMAGE_DIM, dropout=0.0)
    model = CaptionModel(config, V, N, label_tokens=LABELS)
    if variant != "template":
        rng = np.random.default_rng(0)
        model.set_template_images(rng.normal(size=(N, IMAGE_DIM)).astype("float32"))
    model(X)  # Builds the weights.
    return model


@pytest.mark.parametrize("variant", VARIANTS)
def test_training_steps_under_xla_match_graph_mode(variant):
    keras.utils.set_random_seed(1)
    reference = _model(variant)
    losses, weights = {}, {}
    for jit in (False, True):
        model = _model(variant)
        model.set_weights(reference.get_weights())
        model.compile(
            optimizer=keras.optimizers.SGD(0.5),
            loss=MaskedCrossEntropy(),
            jit_compile=jit,
        )
        losses[jit] = [
            model.train_on_batch(X, Y, return_dict=True)["loss"] for _ in range(4)
        ]
        weights[jit] = model.get_weights()
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-5)
    for a, b in zip(weights[True], weights[False]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert losses[False][-1] < losses[False][0]  # It really trained.


@pytest.mark.parametrize("method", sorted(DECODERS))
def test_every_decoder_runs_the_caption_model_under_xla(method):
    keras.utils.set_random_seed(2)
    model = _model("template")
    state = model.initial_state(
        {
            "template": tf.one_hot([0, 3], N),
            "image": tf.zeros([2, IMAGE_DIM]),
        }
    )
    seed = tf.constant([4, 7], tf.int32)
    config = DECODERS[method]
    graph = compiled_decoder(model.step, config)(state, seed)
    xla = compiled_decoder(model.step, config, jit_compile=True)(state, seed)
    np.testing.assert_array_equal(graph.tokens, xla.tokens)
    np.testing.assert_array_equal(graph.lengths, xla.lengths)
    np.testing.assert_allclose(graph.scores, xla.scores, rtol=1e-4, atol=1e-4)
    assert np.all(graph.lengths.numpy() >= 1)


@pytest.fixture(scope="module")
def xla_run(tiny_data, tmp_path_factory):
    """The ``tiny`` caption model trained by the CLI with ``--jit-compile on``."""
    run = tmp_path_factory.mktemp("xla") / "run"
    code = main(
        [
            "train",
            "language",
            "--preset",
            "tiny",
            "--data",
            str(tiny_data),
            "--run",
            str(run),
            "--epochs",
            "1",
            "--jit-compile",
            "on",
        ]
    )
    assert code == 0
    return run


def _metrics(run):
    path = run / constants.LANGUAGE_DIR / constants.METRICS_FILE
    return json.loads(path.read_text())


def test_cli_trains_with_xla_on_and_records_it(xla_run):
    metrics = _metrics(xla_run)
    assert metrics["jit_compile"] == {"flag": "on", "on": True}
    assert metrics["epochs_this_session"] == 1
    assert np.isfinite(metrics["test"]["perplexity"])
    assert (xla_run / constants.LANGUAGE_DIR / constants.MODEL_FILE).is_file()


def test_auto_is_off_on_a_cpu():
    from dank.core.distribute import resolve_jit_compile

    assert resolve_jit_compile("auto") is bool(tf.config.list_logical_devices("GPU"))
    assert resolve_jit_compile("on") is True and resolve_jit_compile("off") is False


def test_a_finished_run_is_not_retrained(xla_run, tiny_data, capsys):
    model = xla_run / constants.LANGUAGE_DIR / constants.MODEL_FILE
    before = model.stat().st_mtime_ns
    code = main(
        [
            "train",
            "language",
            "--preset",
            "tiny",
            "--data",
            str(tiny_data),
            "--run",
            str(xla_run),
        ]
    )
    assert code == 0
    assert model.stat().st_mtime_ns == before
    assert "test perplexity" in capsys.readouterr().out


def test_a_run_killed_during_evaluation_resumes_there(xla_run, tiny_data, tmp_path):
    import shutil

    from dank.models.language.train import UNEVALUATED_FILE, train_language

    run = tmp_path / "run"
    shutil.copytree(xla_run, run)
    sub = run / constants.LANGUAGE_DIR
    # What a kill between the end of training and the end of evaluation leaves.
    os.replace(sub / constants.MODEL_FILE, sub / UNEVALUATED_FILE)
    (sub / constants.METRICS_FILE).unlink()
    metrics = train_language(
        tiny_data, run, PRESETS["tiny"].replace(epochs=1), preset="tiny", verbose=0
    )
    assert metrics["epochs_this_session"] == 0  # Evaluated, not retrained.
    assert (sub / constants.MODEL_FILE).is_file()
    assert not (sub / UNEVALUATED_FILE).exists()
    assert _metrics(run)["test"]["n"] == _metrics(xla_run)["test"]["n"]


def test_force_trains_a_finished_run_again(xla_run, tiny_data, tmp_path):
    import shutil

    from dank.models.language.train import train_language

    run = tmp_path / "run"
    shutil.copytree(xla_run, run)
    metrics = train_language(
        tiny_data,
        run,
        PRESETS["tiny"].replace(epochs=1),
        preset="tiny",
        verbose=0,
        force=True,
    )
    assert metrics["epochs_this_session"] == 1
    assert metrics["jit_compile"]["on"] is False


def test_an_xla_failure_is_one_clear_error_and_leaves_no_run(
    tiny_data, tmp_path, monkeypatch, capsys
):
    def fit(*args, **kwargs):
        raise tf.errors.InvalidArgumentError(
            None,
            None,
            "Detected unsupported operations when trying to compile "
            "graph __inference_one_step_on_data with XLA: PyFunc",
        )

    monkeypatch.setattr(keras.Model, "fit", fit)
    run = tmp_path / "run"
    code = main(
        [
            "train",
            "language",
            "--preset",
            "tiny",
            "--data",
            str(tiny_data),
            "--run",
            str(run),
            "--jit-compile",
            "on",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("dank: error: XLA could not compile")
    assert "--jit-compile off" in err[-1]
    assert not run.exists()
