"""Training on the tiny build: outputs, resume after a crash, image variants, CLI."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from dank.core import constants
from dank.core.errors import DankError
from dank.models.language.config import PRESETS
from dank.models.language.train import caption_batches, train_language

TINY = PRESETS["tiny"]


class Crash(Exception):
    pass


class CrashAfter(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Crash(f"killed after epoch {epoch}")


class EpochRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


@pytest.fixture(scope="module")
def trained_run(tiny_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("lang") / "run"
    metrics = train_language(tiny_data, run, TINY, preset="tiny", verbose=0)
    return run, metrics


def test_training_writes_model_metrics_and_logs(trained_run, tiny_data):
    from dank.data.pipeline import load_captions, load_vocab
    from dank.models.language.perplexity import evaluate_captions
    from dank.models.run import Run

    run, metrics = trained_run
    out = run / constants.LANGUAGE_DIR
    assert (out / constants.MODEL_FILE).is_file()
    assert json.loads((out / constants.METRICS_FILE).read_text()) == metrics
    test = metrics["test"]
    # Better than guessing uniformly over the vocabulary after two epochs.
    assert 1 < test["perplexity"] < len(load_vocab(tiny_data))
    assert test["perplexity_per_word"] > test["perplexity"]  # Fewer words than tokens.
    assert metrics["train_tokens_per_second"] > 0
    # The saved model reproduces the reported number.
    model = Run.open(run).captioner()
    again = evaluate_captions(model, load_captions(tiny_data, "test"))
    assert again["perplexity"] == pytest.approx(test["perplexity"], rel=1e-4)
    for sub in ("train", "validation", "samples"):
        assert list((out / constants.LOGS_DIR / sub).glob("events.out.tfevents.*"))
    info = json.loads((run / constants.RUN_CONFIG_FILE).read_text())
    assert info["components"]["language"]["preset"] == "tiny"


def test_evaluate_captions_csv_counts_unknown_templates(trained_run, tmp_path):
    from dank.data.catalogue import Catalogue
    from dank.metrics.captions import evaluate_csv

    run, _ = trained_run
    catalogue = Catalogue.load(run / constants.CATALOGUE_FILE)
    path = tmp_path / "captions.csv"
    rows = [
        "template_id,top,bottom,score",
        f"{catalogue[0].id},hello there,General Kenobi,3",
        f"{catalogue[1].name},,only bottom,",
        "imgflip-No-Such-Template-Anywhere-xyz,who,cares,1",
    ]
    path.write_text("\n".join(rows) + "\n")
    result = evaluate_csv(run, path)
    assert result["n"] == 2 and result["unknown_templates"] == 1
    # hello there general kenobi (+1) and only bottom (+1): 5 + 3 words.
    assert result["words"] == 8
    # Predicted tokens after <s>: "hello there <sep> general kenobi </s>" and
    # "<emp> <sep> only bottom </s>".
    assert result["tokens"] == 6 + 5
    assert result["perplexity"] > 1
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\n1,2\n")
    with pytest.raises(DankError, match="template_id"):
        evaluate_csv(run, bad)


def test_killed_run_resumes_from_its_last_epoch(tiny_data, tmp_path):
    run = tmp_path / "run"
    config = TINY.replace(epochs=3)
    with pytest.raises(Crash):
        train_language(tiny_data, run, config, callbacks=[CrashAfter(0)], verbose=0)
    assert not (run / constants.LANGUAGE_DIR / constants.MODEL_FILE).exists()
    recorder = EpochRecorder()
    metrics = train_language(tiny_data, run, config, callbacks=[recorder], verbose=0)
    assert recorder.epochs == [1, 2]  # Epoch 0 was not repeated.
    assert metrics["epochs_this_session"] == 2
    assert not (run / constants.LANGUAGE_DIR / constants.BACKUP_DIR).exists()


def test_batches_shift_targets_and_weight_by_upvotes(tiny_data):
    x, y, w = next(
        iter(
            caption_batches(
                tiny_data, "train", TINY.replace(weight_by_upvotes=True), shuffle=False
            )
        )
    )
    tokens = np.asarray(x["tokens"])
    assert np.all(tokens[:, 0] == constants.START_ID)
    np.testing.assert_array_equal(tokens[:, 1:], np.asarray(y)[:, :-1])
    assert np.all((np.asarray(w) >= 0.5) & (np.asarray(w) <= 1.5))


def _fake_vision(run, data, size=16):
    """A stand-in vision model with the real one's interface."""
    from dank.core.run import prepare_run
    from dank.data.pipeline import load_catalogue

    out = prepare_run(run, data, constants.VISION_DIR, {"image_size": size})
    pixels = keras.Input((size, size, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(pixels)
    embedding = keras.layers.Dense(2048, activation="relu")(pooled)
    logits = keras.layers.Dense(len(load_catalogue(data)))(embedding)
    keras.Model(pixels, {"logits": logits, "embedding": embedding}).save(
        out / constants.MODEL_FILE
    )


def test_image_variants_need_a_vision_model(tiny_data, tmp_path):
    with pytest.raises(DankError, match="train vision"):
        train_language(
            tiny_data, tmp_path / "run", TINY.replace(variant="image"), verbose=0
        )


@pytest.mark.parametrize(
    "variant", ["label_average", pytest.param("attention", marks=pytest.mark.slow)]
)
def test_image_variants_train_with_template_features(variant, tiny_data, tmp_path):
    from dank.models.run import Run

    run = tmp_path / "run"
    _fake_vision(run, tiny_data)
    metrics = train_language(
        tiny_data, run, TINY.replace(variant=variant, epochs=1), verbose=0
    )
    assert metrics["variant"] == variant and metrics["test"]["perplexity"] > 1
    table = np.asarray(Run.open(run).captioner(variant).template_images)
    assert table.shape[1] == 2048 and np.all(np.abs(table).sum(axis=1) > 0)


def test_cli_mirrored_on_two_logical_cpus(tiny_data, tmp_path):
    # Logical devices must exist before TensorFlow starts: a fresh process.
    run = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dank",
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
            "--strategy",
            "mirrored",
            "--logical-cpus",
            "2",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "test perplexity" in proc.stdout
    metrics = json.loads((run / "language" / constants.METRICS_FILE).read_text())
    assert np.isfinite(metrics["test"]["perplexity"])


def test_cli_reports_a_missing_data_build(tmp_path):
    from dank.apps.cli import main

    code = main(
        [
            "train",
            "language",
            "--preset",
            "tiny",
            "--data",
            str(tmp_path / "nope"),
            "--run",
            str(tmp_path / "run"),
        ]
    )
    assert code == 2
