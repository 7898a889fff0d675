"""``Run``: opening a run directory, lazy cached parts, clear missing-part errors."""

import json
from pathlib import Path

import pytest

from dank.core import constants
from dank.core.errors import DankError
from dank.core.run import RunLayout, build_difference, prepare_run, train_command
from dank.models.run import Run


@pytest.fixture
def empty_run(tiny_data, tmp_path):
    """A run with run.json, catalogue and vocabulary but no trained model."""
    run = tmp_path / "runs" / "x"
    prepare_run(run, tiny_data, constants.VISION_DIR, {"image_size": 32})
    return run


def test_layout_names_every_file(tmp_path):
    layout = RunLayout(tmp_path)
    assert layout.info_file == tmp_path / "run.json"
    assert layout.model_file("language-image") == (
        tmp_path / "language-image" / "model.keras"
    )
    assert layout.metrics_file("vision") == tmp_path / "vision" / "metrics.json"
    assert layout.calibration_file() == tmp_path / "vision" / "calibration.json"
    assert layout.relative(layout.vocab_file) == "vocab.json"


def test_train_commands_name_the_variant():
    assert train_command("runs/x", "vision") == "dank train vision --run runs/x"
    assert train_command("my runs/x", "language-image") == (
        "dank train language --variant image --run 'my runs/x'"
    )


def test_not_a_run(tmp_path):
    with pytest.raises(DankError, match="not found.*make train"):
        Run.open(tmp_path / "nope")
    with pytest.raises(DankError, match="not a run directory \\(no run.json\\)"):
        Run.open(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"format": 999}))
    with pytest.raises(DankError, match="run format 999"):
        Run.open(tmp_path)


def test_each_missing_part_names_its_command(empty_run):
    run = Run.open(empty_run)
    expected = {
        "classifier": "no vision model in {run}: run `dank train vision --run {run}`",
        "caption_model": (
            "no caption model in {run}: run `dank train language --run {run}`"
        ),
        "humor": "no humour model in {run}: run `dank train humor --run {run}`",
    }
    for part, message in expected.items():
        with pytest.raises(DankError) as info:
            getattr(run, part)
        assert str(info.value) == message.format(run=empty_run)
    with pytest.raises(DankError, match="--variant image --run"):
        run.captioner("image")
    assert not run.has(constants.VISION_DIR)
    assert run.metrics(constants.VISION_DIR) is None
    assert [path for path, _, _ in run.missing("vision", "language")] == [
        "vision/model.keras",
        "vision/calibration.json",
        "language/model.keras",
    ]


def test_data_build_and_template_pictures(empty_run, tiny_data, tmp_path):
    run = Run.open(empty_run)
    assert run.data_build() == tiny_data
    assert all(run.template_image_path(t).is_file() for t in run.catalogue)
    gone = Run(empty_run, {**run.info, "data": str(tmp_path / "gone")})
    with pytest.raises(DankError, match="make data` or pass --data DIR"):
        gone.data_build(instead="pass --data DIR")
    assert gone.template_image_path(run.catalogue[0]).parent == (
        tmp_path / "gone" / "templates"
    )


def test_build_difference(empty_run, tiny_data):
    assert build_difference(empty_run, tiny_data) is None
    (empty_run / constants.VOCAB_FILE).write_text("{}")
    assert build_difference(empty_run, tiny_data) == constants.VOCAB_FILE


def test_open_reads_nothing_but_run_json(tiny_run, monkeypatch):
    import keras

    from dank.data.catalogue import Catalogue
    from dank.data.vocab import Vocabulary

    def refuse(*args, **kwargs):
        raise AssertionError("loaded too early")

    monkeypatch.setattr(Catalogue, "load", refuse)
    monkeypatch.setattr(Vocabulary, "load", refuse)
    monkeypatch.setattr(keras.saving, "load_model", refuse)
    run = Run.open(tiny_run)
    assert run.has(constants.VISION_DIR) and run.has(constants.LANGUAGE_DIR)
    assert run.config(constants.LANGUAGE_DIR)["preset"] == "tiny"
    assert run.metrics(constants.VISION_DIR)["val_top1"] >= 0
    assert Path(run) == tiny_run and Run.open(run) is run
    with pytest.raises(AssertionError, match="too early"):
        run.catalogue  # noqa: B018 - the access is the test.


def test_parts_are_loaded_once_and_shared(tiny_run):
    run = Run.open(tiny_run)
    classifier = run.classifier
    assert run.classifier is classifier
    assert classifier.catalogue is run.catalogue
    assert run.captioner() is run.caption_model
    assert run.captioner().n_templates == len(run.catalogue)
    assert run.vocab is run.vocab


def test_a_mismatched_caption_model_is_refused(tiny_run):
    run = Run.open(tiny_run)
    run.catalogue = run.catalogue.templates[:-1]  # One template short.
    with pytest.raises(DankError, match="templates but the run's catalogue"):
        run.captioner()
