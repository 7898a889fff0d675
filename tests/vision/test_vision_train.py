"""End to end on the tiny preset: train (killed, resumed), save, reload, classify."""

import csv
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from dank.apps.cli import main
from dank.core import constants
from dank.models.run import Run
from dank.models.vision.evaluate import evaluate_templates
from dank.models.vision.predict import classify_files


def test_killed_run_resumes_where_it_stopped(vision_run, tiny_config):
    run, first_epochs, backup_files, resumed_epochs, metrics = vision_run
    assert first_epochs == [0]
    assert "latest.weights.h5" in backup_files  # Epoch 0 was backed up.
    assert resumed_epochs == [1, 2]  # Not from 0 again.
    assert metrics["steps_run_this_process"] == 2 * tiny_config.steps_per_epoch
    assert not (run / "vision" / "backup" / "full").exists()  # Cleaned up when done.


def test_run_files(vision_run, tiny_config):
    run, *_, metrics = vision_run
    out = run / constants.VISION_DIR
    for name in (
        constants.MODEL_FILE,
        constants.CALIBRATION_FILE,
        constants.METRICS_FILE,
    ):
        assert (out / name).is_file()
    info = json.loads((run / constants.RUN_CONFIG_FILE).read_text())
    assert info["components"]["vision"]["image_size"] == tiny_config.image_size
    assert 0.0 <= metrics["val_top1"] <= metrics["val_top5"] <= 1.0
    assert 0.0 <= metrics["val_light_top1"] <= 1.0
    assert metrics["n_val"] == 6 * tiny_config.val_per_template
    assert metrics["conv_dtype"] == "float32"  # The tiny preset's.
    calibration = json.loads((out / constants.CALIBRATION_FILE).read_text())
    assert (
        calibration["method"] == "max_prob" and 0.0 <= calibration["threshold"] <= 1.0
    )


def test_reload_gives_identical_predictions(vision_run):
    run = vision_run[0]
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 256, (50 + 7 * i, 40, 3), dtype=np.uint8) for i in range(3)
    ]
    a = Run.open(run).classifier
    b = Run.open(run).classifier  # Loaded again, not shared.
    assert a is not b
    probs_a, emb_a = a.predict(images)
    probs_b, emb_b = b.predict(images)
    assert probs_a.shape == (3, 6) and emb_a.shape == (3, 2048)
    np.testing.assert_allclose(probs_a.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(probs_a, probs_b)
    np.testing.assert_array_equal(emb_a, emb_b)
    # The batch path and the list path agree for same-sized images.
    same = np.stack([images[0], images[0]])
    np.testing.assert_allclose(a.predict(same)[0][0], probs_a[0], atol=1e-5)
    # The tiny preset, like `cpu`, builds a mirror-blind model.
    names = {layer.name for layer in a.model.layers}
    assert {"mirror_pair", "mirror_choice"} <= names
    # One trace for every batch size (inference_function's signature).
    assert a._forward.experimental_get_tracing_count() == 1


@pytest.fixture(scope="module")
def images(tiny_data, tmp_path_factory):
    """Two good template pictures, one corrupt file and one missing path."""
    folder = tmp_path_factory.mktemp("images")
    good = sorted((tiny_data / "templates").iterdir())[:2]
    paths = []
    for i, path in enumerate(good):
        target = folder / f"meme{i}.png"
        Image.open(path).convert("RGB").save(target)
        paths.append(target)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return paths, folder / "corrupt.jpg", folder / "missing.jpg"


def test_classify_json_lines_and_bad_files(vision_run, images, capsys):
    run = vision_run[0]
    good, corrupt, missing = images
    argv = [
        "classify",
        str(good[0]),
        str(corrupt),
        str(missing),
        str(good[1]),
        "--run",
        str(run),
        "--top-k",
        "3",
        # The second look re-orders templates that keep their own probabilities
        # (tests/vision/test_second_look.py); here the classifier's ranking.
        "--no-second-look",
    ]
    status = main(argv)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1  # Some files failed, the rest were classified.
    assert [line["image"] for line in lines] == [
        str(p) for p in (good[0], corrupt, missing, good[1])
    ]
    assert "error" in lines[1] and "error" in lines[2]
    for line in (lines[0], lines[3]):
        assert set(line) == {"image", "templates", "known"}
        assert isinstance(line["known"], bool) and len(line["templates"]) == 3
        first = line["templates"][0]
        assert set(first) == {"id", "name", "prob", "aliases"}
        probs = [t["prob"] for t in line["templates"]]
        assert probs == sorted(probs, reverse=True)


def test_known_follows_calibration(vision_run, images):
    run = vision_run[0]
    classifier = Run.open(run).classifier
    classifier.threshold = 1.1  # Nothing reaches it.
    result = next(classify_files([images[0][0]], classifier))
    assert result["known"] is False
    classifier.threshold = 0.0
    result = next(classify_files([images[0][0]], classifier))
    assert result["known"] is True


def test_evaluate_templates(vision_run, images, tmp_path):
    run = vision_run[0]
    classifier = Run.open(run).classifier
    good, corrupt, _ = images
    top = next(classify_files(good[:1], classifier))["templates"][0]
    alias = top["aliases"][0] if top["aliases"] else top["id"]
    rows = [
        {
            "file": good[0].name,
            "template_id": "nobody",
            "equivalent_template_ids": f"x;{alias}",
        },
        {
            "file": good[1].name,
            "template_id": "nobody-else",
            "equivalent_template_ids": "",
        },
        {
            "file": corrupt.name,
            "template_id": "nobody",
            "equivalent_template_ids": alias,
        },
    ]
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = evaluate_templates(classifier, labels, good[0].parent)
    # Every row stays in the denominator: the unknown template and the picture
    # that does not decode count as wrong (issue 26); the alias match counts.
    assert result["n"] == 3 and result["scored"] == 1 and len(result["errors"]) == 1
    assert result["bad_rows"]["unknown_template"]["count"] == 1
    assert result["bad_rows"]["unreadable_image"]["count"] == 1
    assert result["top1"] == 1 / 3 and result["top1_scored"] == 1.0
    assert result["per_template"]["nobody"] == {"n": 2, "top1": 0.5, "top5": 0.5}


@pytest.mark.slow  # A fresh process and a second ResNet50 trace: ~1-4 min here.
def test_mirrored_on_two_logical_cpus(tiny_data, tmp_path):
    """Trains two steps under MirroredStrategy over 2 logical CPU devices."""
    code = textwrap.dedent(f"""
        import json
        from dank.models.vision.config import PRESETS
        from dank.models.vision.train import train_vision
        config = PRESETS["tiny"].replace(steps=2, steps_per_epoch=2, bn_batches=1)
        metrics = train_vision({str(tiny_data)!r}, {str(tmp_path / "run")!r}, config,
                               strategy="mirrored", logical_cpus=2)
        import tensorflow as tf
        print("DEVICES", len(tf.config.list_logical_devices("CPU")))
        print("METRICS", json.dumps(metrics))
    """)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "DEVICES 2" in done.stdout
    metrics = json.loads(done.stdout.split("METRICS ", 1)[1])
    assert metrics["steps_run_this_process"] == 2


@pytest.mark.slow
def test_pretrained_weights_train_head_then_all(
    vision_run, tiny_data, tiny_config, tmp_path
):
    """--weights PATH: the head is imprinted, trains alone, then the whole network."""
    from dank.models.vision.train import train_vision

    weights = vision_run[0] / constants.VISION_DIR / constants.MODEL_FILE
    config = tiny_config.replace(steps=4, steps_per_epoch=2, head_steps=2, imprint=True)
    run = tmp_path / "run"
    metrics = train_vision(tiny_data, run, config, weights=str(weights))
    logs = run / constants.VISION_DIR / constants.LOGS_DIR
    assert (logs / "head.csv").is_file() and (logs / "full.csv").is_file()
    assert metrics["steps_run_this_process"] == 4


def test_warmup_cosine_continues_from_an_offset():
    from dank.models.vision.train import WarmupCosine

    whole, later = WarmupCosine(1.0, 3, 20), WarmupCosine(1.0, 3, 20, offset=8)
    rates = [float(whole(s)) for s in range(20)]
    assert rates[:3] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert rates[3] == pytest.approx(1.0) and rates[-1] < 0.01
    # The later phase ramps up to the schedule, then follows it.
    assert [float(later(s)) for s in range(3, 12)] == pytest.approx(rates[11:])
    assert [float(later(s)) for s in range(3)] == pytest.approx(
        [1 / 3, 2 / 3, rates[10]]
    )


def test_progressive_resizing_trains_small_first_and_resumes(tiny_data, tmp_path):
    """small_size: the first steps at a smaller input; a run killed after them
    resumes at the full size without training the small phase again."""
    import keras

    from dank.models.vision.config import PRESETS
    from dank.models.vision.train import SMALL_DONE_FILE, train_vision

    class Kill(keras.callbacks.Callback):
        def __init__(self, after):
            super().__init__()
            self.ends, self.after, self.epochs = 0, after, []

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append(epoch)

        def on_epoch_end(self, epoch, logs=None):
            self.ends += 1
            if self.ends == self.after:
                raise RuntimeError("killed")

    config = PRESETS["tiny"].replace(
        image_size=48, small_size=32, small_steps=2, steps=6, steps_per_epoch=2
    )
    run = tmp_path / "run"
    first = Kill(after=2)  # The small phase's epoch, then the full phase's first.
    with pytest.raises(RuntimeError, match="killed"):
        train_vision(tiny_data, run, config, callbacks=[first])
    out = run / constants.VISION_DIR
    assert (out / constants.BACKUP_DIR / SMALL_DONE_FILE).is_file()
    again = Kill(after=0)
    metrics = train_vision(tiny_data, run, config, callbacks=[again])
    assert again.epochs == [1]  # The full phase's second epoch only.
    assert metrics["steps_run_this_process"] == 2
    assert (out / constants.LOGS_DIR / "small.csv").is_file()
    assert not (out / constants.BACKUP_DIR / SMALL_DONE_FILE).exists()
    model = keras.saving.load_model(out / constants.MODEL_FILE)
    assert tuple(model.inputs[0].shape) == (None, 48, 48, 3)


def test_batchnorm_reestimate_is_the_average_of_batch_statistics():
    """The compiled pass (momentum 0, averaged) equals the eager cumulative
    average (momentum k / (k + 1) on batch k) that it replaced."""
    import keras
    import tensorflow as tf

    from dank.models.vision.model import backbone, build_model
    from dank.models.vision.train import reestimate_batchnorm

    rng = np.random.default_rng(0)
    batches = tf.data.Dataset.from_tensor_slices(
        (rng.uniform(0, 255, (12, 32, 32, 3)).astype("float32"), np.zeros(12, "int32"))
    ).batch(4)
    model = build_model(3, 32, 0.0)
    reference = build_model(3, 32, 0.0)
    reference.set_weights(model.get_weights())

    def norms(m):
        return [
            layer
            for layer in backbone(m).layers
            if isinstance(layer, keras.layers.BatchNormalization)
        ]

    before = [np.array(n.moving_mean) for n in norms(model)]
    for k, (images, _) in enumerate(batches):
        for layer in norms(reference):
            layer.momentum = k / (k + 1.0)
        reference(images, training=True)

    reestimate_batchnorm(model, batches, n_batches=3)

    for got, want in zip(norms(model), norms(reference)):
        # Compiled against eager: rounding grows over 50 layers.
        np.testing.assert_allclose(got.moving_mean, want.moving_mean, atol=1e-3)
        np.testing.assert_allclose(
            got.moving_variance, want.moving_variance, rtol=1e-3, atol=1e-3
        )
        assert got.momentum == 0.99  # Keras' default, put back.
    assert not np.allclose(norms(model)[0].moving_mean, before[0])


def test_caption_layers_render_once_per_split(tiny_data, tiny_config, monkeypatch):
    """The training phases, the BatchNorm pass and the evaluation share one
    rendered bank per split; a rebuilt split renders afresh."""
    import os

    from dank.data.pipeline import caption_files
    from dank.models.vision import data

    data._render_bank.cache_clear()
    rendered = []
    real = data.caption_bank
    monkeypatch.setattr(
        data, "caption_bank", lambda *a: rendered.append(a[1:]) or real(*a)
    )
    for seed in (None, 5):
        next(iter(data.train_dataset(tiny_data, tiny_config, seed=seed)))
    next(iter(data.val_dataset(tiny_data, tiny_config)))
    next(iter(data.val_dataset(tiny_data, tiny_config, wild=False)))
    assert len(rendered) == 2  # train and val, not one per dataset

    shard = caption_files(tiny_data, "val")[0]
    stat = os.stat(shard)
    os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    next(iter(data.val_dataset(tiny_data, tiny_config)))
    assert len(rendered) == 3
    data._render_bank.cache_clear()


def test_bfloat16_convolutions_train_and_say_so(tiny_data, tmp_path):
    """conv_dtype="bfloat16": the oneDNN bfloat16 rewrite for the training
    phases only; the run says so, and the option is off again afterwards."""
    import tensorflow as tf

    from dank.models.vision.config import PRESETS
    from dank.models.vision.train import train_vision

    config = PRESETS["tiny"].replace(
        steps=2, steps_per_epoch=2, bn_batches=1, conv_dtype="bfloat16"
    )
    metrics = train_vision(tiny_data, tmp_path / "run", config)
    assert metrics["conv_dtype"] == "bfloat16"
    assert 0.0 <= metrics["val_top1"] <= 1.0
    options = tf.config.optimizer.get_experimental_options()
    assert not options.get("auto_mixed_precision_onednn_bfloat16", False)


def test_conv_dtype_is_checked():
    from dank.core.errors import DankError
    from dank.models.vision.config import PRESETS

    with pytest.raises(DankError, match="conv_dtype must be one of"):
        PRESETS["tiny"].replace(conv_dtype="float16")
    assert PRESETS["tiny"].replace(conv_dtype="float32").trains_in_bfloat16() is False
    assert PRESETS["tiny"].replace(conv_dtype="bfloat16").trains_in_bfloat16() is True


def test_conv_dtype_flag(monkeypatch, capsys):
    import dank.models.vision.train as vision_train

    seen = {}

    def fake_train(data, run, config, **kwargs):
        seen["conv_dtype"] = config.conv_dtype
        seen["mirror"] = config.mirror
        return {}

    monkeypatch.setattr(vision_train, "train_vision", fake_train)
    assert main(["train", "vision", "--conv-dtype", "float32"]) == 0
    assert seen["conv_dtype"] == "float32"
    assert main(["train", "vision"]) == 0
    assert seen["conv_dtype"] == "auto"  # The cpu preset's.
    assert seen["mirror"] is True  # The cpu preset's.
    assert main(["train", "vision", "--no-mirror"]) == 0
    assert seen["mirror"] is False
    assert main(["train", "vision", "--preset", "full", "--mirror"]) == 0
    assert seen["mirror"] is True
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "vision", "--conv-dtype", "float16"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
