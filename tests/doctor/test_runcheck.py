"""Run checks on a fake run (no models) with the heavy parts monkeypatched."""

import json
import zipfile

import numpy as np
import pytest

from dank.apps.doctor import runcheck
from dank.apps.doctor.symptoms import Sample
from dank.core import constants


def by_name(checks):
    return {c.name: c for c in checks}


def test_missing_run(tmp_path):
    (check,) = runcheck.run_checks(tmp_path / "nope")
    assert check.status == "fail"
    assert "make train RUN=" in check.fix


def test_run_from_another_dank_format(fake_run):
    info = json.loads((fake_run / "run.json").read_text())
    info["format"] = 99
    (fake_run / "run.json").write_text(json.dumps(info))
    (check,) = runcheck.run_checks(fake_run)
    assert check.status == "fail" and "run format 99" in check.message


def test_untrained_run_names_the_training_commands(fake_run):
    checks = by_name(runcheck.run_checks(fake_run))
    assert checks["run"].status == "ok"
    assert checks["run's data build"].status == "ok"
    assert checks["vision model"].status == "fail"
    assert checks["language model"].fix == (
        f"`dank train language --preset tiny --run {fake_run}`"
    )
    assert checks["generation"].status == "skip"


def test_run_trained_on_another_build(fake_run):
    path = fake_run / constants.CATALOGUE_FILE
    catalogue = json.loads(path.read_text())
    catalogue["templates"][0]["name"] = "Renamed"
    path.write_text(json.dumps(catalogue))
    check = by_name(runcheck.run_checks(fake_run))["run's data build"]
    assert check.status == "fail"
    assert "trained on another data build" in check.cause


def _keras_file(path, version):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": version}))


def test_model_saved_by_another_keras_or_truncated(fake_run):
    import keras

    vision = fake_run / constants.VISION_DIR / constants.MODEL_FILE
    language = fake_run / constants.LANGUAGE_DIR / constants.MODEL_FILE
    _keras_file(vision, "2.15.0")
    language.write_bytes(b"PK\x03\x04 truncated")
    info = json.loads((fake_run / "run.json").read_text())
    checks = by_name(runcheck.check_run_versions(fake_run, info))
    assert checks["dank version"].status == "ok"
    old = checks["vision Keras version"]
    assert old.status == "warn"
    assert old.message == f"saved with Keras 2.15.0, running {keras.__version__}"
    assert checks["language model file"].status == "fail"
    info["versions"] = {"tensorflow": "2.0.0", "keras": keras.__version__}
    changed = by_name(runcheck.check_run_versions(fake_run, info))["package versions"]
    assert changed.status == "warn"
    assert changed.message.startswith("trained with tensorflow 2.0.0 (now 2.")
    info["dank_version"] = "0.0.1"
    assert (
        by_name(runcheck.check_run_versions(fake_run, info))["dank version"].status
        == "warn"
    )


class FakeClassifier:
    """Names every picture as template ``answer`` (or itself when None)."""

    def __init__(self, catalogue, answer=None):
        self.catalogue = catalogue
        self.answer = answer

    def predict(self, images):
        n = len(self.catalogue)
        labels = (
            [self.answer] * len(images)
            if self.answer is not None
            else [self.seen.pop(0) for _ in images]
        )
        return np.eye(n, dtype="float32")[labels], None


@pytest.mark.parametrize("answer,status", [(None, "ok"), (0, "fail")])
def test_template_sanity_classification(
    fake_run, tiny_data, monkeypatch, answer, status
):
    from dank.data.catalogue import Catalogue
    from dank.models.run import Run

    catalogue = Catalogue.load(fake_run)
    fake = FakeClassifier(catalogue, answer)
    fake.seen = list(range(len(catalogue)))  # Pictures come in label order.
    monkeypatch.setattr(Run, "classifier", fake)
    info = json.loads((fake_run / "run.json").read_text())
    checks = by_name(runcheck.check_vision(fake_run, tiny_data, info))
    assert checks["vision accuracy"].status == "ok"  # 90% recorded.
    sanity = checks["template sanity"]
    assert sanity.status == status
    assert sanity.data["total"] == len(catalogue)


def test_low_val_accuracy_fails(fake_run, monkeypatch):
    from dank.data.catalogue import Catalogue
    from dank.models.run import Run

    path = fake_run / constants.VISION_DIR / constants.METRICS_FILE
    path.write_text(json.dumps({"val_top1": 0.2}))
    monkeypatch.setattr(Run, "classifier", FakeClassifier(Catalogue.load(fake_run), 0))
    checks = by_name(runcheck.check_vision(fake_run, None, {}))
    assert checks["vision accuracy"].status == "fail"
    assert "chance 16.7%" in checks["vision accuracy"].message
    assert checks["template sanity"].status == "skip"


@pytest.mark.parametrize(
    "rescored,status,cause",
    [(12.5, "ok", ""), (40.0, "fail", "wrong run"), (10_000.0, "fail", "guessing")],
)
def test_caption_perplexity(fake_run, tiny_data, monkeypatch, rescored, status, cause):
    import dank.models.language.perplexity as perplexity
    from dank.models.run import Run

    monkeypatch.setattr(Run, "captioner", lambda run: None)
    monkeypatch.setattr(
        perplexity,
        "evaluate_captions",
        lambda model, captions: {"perplexity": rescored},
    )
    check = runcheck.check_language(fake_run, tiny_data, {})
    assert check.status == status
    assert cause in check.cause
    assert "kn_trigram_template baseline 15.0" in check.message


def test_worse_than_the_baseline_warns(fake_run, tiny_data, monkeypatch):
    import dank.models.language.perplexity as perplexity
    from dank.models.run import Run

    path = fake_run / constants.LANGUAGE_DIR / constants.METRICS_FILE
    metrics = json.loads(path.read_text())
    metrics["val"]["perplexity"] = 18.0
    path.write_text(json.dumps(metrics))
    monkeypatch.setattr(Run, "captioner", lambda run: None)
    monkeypatch.setattr(
        perplexity, "evaluate_captions", lambda model, captions: {"perplexity": 18.0}
    )
    check = runcheck.check_language(fake_run, tiny_data, {})
    assert check.status == "warn" and "baseline" in check.cause


def test_degenerate_generation_is_reported_with_fixes(fake_run, tiny_data, monkeypatch):
    from dank.data.pipeline import load_captions

    train = load_captions(tiny_data, "train")[0]
    copied = [Sample(f"t{i}", train["top"], train["bottom"]) for i in range(4)]
    unk = [Sample(f"t{i}", "<unk> <unk>", "") for i in range(4)]
    monkeypatch.setattr(runcheck, "sample_captions", lambda run, data: (copied, unk))
    info = json.loads((fake_run / "run.json").read_text())
    checks = by_name(runcheck.check_generation(fake_run, tiny_data, info))
    assert checks["generation"].status == "ok"
    assert checks["identical captions"].status == "fail"
    assert checks["copied from training"].status == "fail"
    assert checks["unknown words"].status == "fail"
    # The run's preset is tiny, so the fix is a real preset, not more epochs.
    assert f"--preset cpu --run {fake_run}" in checks["identical captions"].fix


def test_healthy_generation_passes(fake_run, monkeypatch):
    samples = [Sample(f"t{i}", f"top {i} words", f"bottom {i} here") for i in range(4)]
    monkeypatch.setattr(
        runcheck, "sample_captions", lambda run, data: (samples, samples)
    )
    checks = runcheck.check_generation(fake_run, None, {})
    assert {c.status for c in checks} == {"ok"}, checks
