"""TensorBoard logs of a trained run, read back from the event files."""

import io
import json

import keras
import numpy as np
import pytest

from dank.core import constants


def read_logs(run_dir):
    """``{tag: (plugin name, [tensor values])}`` for one TensorBoard run dir."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    acc = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    acc.Reload()
    out = {}
    for tag in acc.Tags()["tensors"]:
        plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
        values = [tf.make_ndarray(e.tensor_proto) for e in acc.Tensors(tag)]
        out[tag] = (plugin, values)
    return out


def hparams_of(logs_dir):
    """The hparams values of the session whose summary sits in ``logs_dir``."""
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )
    from tensorboard.plugins.hparams import plugin_data_pb2

    acc = EventAccumulator(str(logs_dir))
    acc.Reload()
    content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    return {
        k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind"))
        for k, v in data.session_start_info.hparams.items()
    }


def assert_scalars(logs, tags):
    for tag in tags:
        plugin, values = logs[tag]
        assert plugin == "scalars", tag
        assert values and all(np.isfinite(v).all() for v in values), tag


def images_in(logs, prefix):
    """The PIL images logged under tags starting with ``prefix``, last step each."""
    from PIL import Image

    found = []
    for tag, (plugin, values) in sorted(logs.items()):
        if tag.startswith(prefix):
            assert plugin == "images", tag
            width, height, png = values[-1][:3]
            image = Image.open(io.BytesIO(png))
            assert image.size == (int(width), int(height))
            found.append(image)
    return found


@pytest.fixture(scope="module")
def language_logs(tiny_run):
    return tiny_run / constants.LANGUAGE_DIR / constants.LOGS_DIR


@pytest.fixture(scope="module")
def vision_logs(tiny_run):
    return tiny_run / constants.VISION_DIR / constants.LOGS_DIR


def test_language_scalars_text_images_hparams(tiny_run, language_logs):
    from dank.data.catalogue import Catalogue
    from dank.models.language.config import PRESETS

    epochs = PRESETS["tiny"].epochs
    train = read_logs(language_logs / "train")
    assert_scalars(
        train,
        [
            "epoch_loss",
            "epoch_perplexity",
            "epoch_learning_rate",
            "epoch_tokens_per_second",
        ],
    )
    assert len(train["epoch_loss"][1]) == epochs
    assert_scalars(
        read_logs(language_logs / "validation"), ["epoch_loss", "epoch_perplexity"]
    )

    samples = read_logs(language_logs / "samples")
    plugin, tables = samples["sample_captions"]
    assert plugin == "text" and len(tables) == epochs
    catalogue = Catalogue.load(tiny_run / constants.CATALOGUE_FILE)
    table = tables[-1].item().decode()
    named = [t for t in catalogue if f"| {t.name} |" in table]
    memes = images_in(samples, "sample_memes/")
    assert len(named) == len(memes) == 4  # SAMPLE_TEMPLATES, one meme each.
    # Drawn on the template's own picture: its colours, plus white caption ink.
    assert all(m.mode == "RGB" and len(set(m.getdata())) > 2 for m in memes)

    hparams = hparams_of(language_logs)
    assert hparams["preset"] == "tiny" and hparams["variant"] == "template"
    assert hparams["units"] == PRESETS["tiny"].units
    metrics = json.loads((language_logs.parent / constants.METRICS_FILE).read_text())
    final = read_logs(language_logs / "final")
    assert final["final/test_perplexity"][1][-1] == pytest.approx(
        metrics["test"]["perplexity"], rel=1e-5
    )
    # Profiling is off by default.
    assert not list(language_logs.rglob("*.xplane.pb"))


def test_vision_scalars_confusions_hparams(vision_logs):
    from dank.models.vision.confusions import HARD_EXAMPLES

    assert_scalars(
        read_logs(vision_logs / "full" / "train"),
        [
            "epoch_loss",
            "epoch_top1",
            "epoch_top5",
            "epoch_learning_rate",
            "epoch_images_per_second",
        ],
    )
    validation = read_logs(vision_logs / "validation")
    plugin, tables = validation["confusions"]
    assert plugin == "text"
    assert tables[-1].item().decode().count("\n") == HARD_EXAMPLES + 1  # Head + rows.
    assert len(images_in(validation, "confusions/")) == HARD_EXAMPLES
    assert hparams_of(vision_logs)["image_size"] == 32
    metrics = json.loads((vision_logs.parent / constants.METRICS_FILE).read_text())
    final = read_logs(vision_logs / "final")
    assert final["final/val_top1"][1][-1] == pytest.approx(metrics["val_top1"])


def test_hardest_puts_lowest_true_probability_first():
    from dank.models.vision.confusions import hardest

    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    labels = np.array([0, 0, 1, 1])
    assert hardest(probs, labels, k=3) == [1, 2, 3]  # p(true) 0.2, 0.4, 0.5.


def test_profile_writes_a_trace_of_the_chosen_batches(tmp_path):
    from dank.core.summaries import ProfileBatches, Throughput

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    trace = ProfileBatches(tmp_path / "train", first=2, count=2)
    rate = Throughput(32, "items_per_second")
    history = model.fit(
        np.zeros((32, 4)),
        np.zeros((32, 2)),
        batch_size=8,
        epochs=2,
        verbose=0,
        callbacks=[trace, rate],
    )
    assert list((tmp_path / "train" / "plugins" / "profile").rglob("*.xplane.pb"))
    assert not trace.active and trace.batches == 8
    assert len(history.history["items_per_second"]) == 2 and rate.steady_rate() > 0


def test_train_commands_take_profile_flag():
    from dank.apps.cli import build_parser

    parser = build_parser()
    for model in ("vision", "language"):
        assert parser.parse_args(["train", model, "--profile"]).profile
        assert not parser.parse_args(["train", model]).profile
