"""Exporting an unfinished run names what is missing; failed exports leave no trace."""

import dataclasses
import json

import pytest

from dank.apps.export import source
from dank.core import constants
from dank.core.errors import DankError
from dank.models.language import models
from dank.models.run import Run


def _partial_run(root, files):
    run = root / "run"
    run.mkdir()
    for name in files:
        path = run / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"format": 1}) if name == "run.json" else "{}")
    return run


BASE = [constants.RUN_CONFIG_FILE, constants.CATALOGUE_FILE, constants.VOCAB_FILE]
VISION = ["vision/model.keras", "vision/calibration.json"]


def test_missing_run_directory(tmp_path):
    with pytest.raises(DankError, match="not found"):
        source.check_run(tmp_path / "nope")


def test_untrained_run_lists_every_missing_model(tmp_path):
    run = _partial_run(tmp_path, BASE)
    with pytest.raises(DankError) as info:
        source.check_run(run)
    message = str(info.value)
    for part in (
        "vision/model.keras",
        "vision/calibration.json",
        "language/model.keras",
    ):
        assert part in message
    assert "dank train vision --run" in message
    assert "dank train language --run" in message


def test_run_without_caption_model_names_only_that(tmp_path):
    run = _partial_run(tmp_path, BASE + VISION)
    with pytest.raises(DankError) as info:
        source.check_run(run)
    message = str(info.value)
    assert "language/model.keras" in message
    assert "language training has not finished" in message
    assert "vision/" not in message and "dank train vision" not in message


def test_run_without_vision_model(tmp_path):
    run = _partial_run(tmp_path, [*BASE, "language/model.keras"])
    with pytest.raises(DankError, match="vision model") as info:
        source.check_run(run)
    assert "dank train language" not in str(info.value)


def test_cli_reports_missing_model_and_writes_nothing(tmp_path, capsys):
    from dank.apps.cli import main

    run = _partial_run(tmp_path, BASE + VISION)
    out = tmp_path / "out"
    code = main(["export", "--run", str(run), "--format", "onnx", "--out", str(out)])
    assert code == 2
    assert "dank: error: cannot export" in capsys.readouterr().err
    assert not out.exists()


def test_cli_rejects_bad_decoder_flags(tmp_path, capsys):
    from dank.apps.cli import main

    run = _partial_run(tmp_path, BASE + VISION + ["language/model.keras"])
    code = main(
        [
            "export",
            "--run",
            str(run),
            "--format",
            "savedmodel",
            "--out",
            str(tmp_path / "o"),
            "--decoder",
            "beam",
            "--beam",
            "2",
            "-n",
            "3",
        ]
    )
    assert code == 2
    assert "num_return" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["savedmodel", "onnx"])
def test_failed_export_keeps_the_old_output(tmp_path, monkeypatch, fmt):
    from dank.apps.export import onnx, savedmodel

    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("previous export")

    def broken(parts, path, *args, **kwargs):
        path.mkdir(parents=True, exist_ok=True)
        (path / "half.bin").write_bytes(b"x")
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(source, "load_run", lambda run_dir: object())
    monkeypatch.setattr(savedmodel, "write_savedmodel", broken)
    monkeypatch.setattr(onnx, "write_onnx", broken)
    export = savedmodel.export_savedmodel if fmt == "savedmodel" else onnx.export_onnx
    with pytest.raises(RuntimeError, match="converter crashed"):
        export(tmp_path / "run", out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in out.iterdir()) == ["old.txt"]


def test_export_decoders_read_the_presets(tmp_path, capsys):
    from dank.apps.cli import build_parser, main
    from dank.apps.cli.export import decode_config
    from dank.decoding.config import PRESETS, DecodeConfig

    def config(*flags, fmt="savedmodel"):
        argv = ["export", "--format", fmt, "--out", "o", *flags]
        return decode_config(build_parser().parse_args(argv))

    # The paper's diverse beam by default, as before issue 24.
    assert config() == DecodeConfig(
        method="diverse", beam_size=5, temperature=1.3, max_len=25, num_return=1
    )
    assert config("--decoder", "sample", "-n", "2") == DecodeConfig(
        method="sample", beam_size=5, temperature=1.3, max_len=25, num_return=2
    )
    # The SavedModel runs dank.decoding, so it has nucleus with its guards.
    nucleus = config("--decoder", "nucleus", "--temperature", "0.9")
    assert nucleus == dataclasses.replace(PRESETS["nucleus"], temperature=0.9)
    # The ONNX runner's numpy decoders do not: a clear error, before any work.
    run = _partial_run(tmp_path, BASE + VISION + ["language/model.keras"])
    argv = ["export", "--run", str(run), "--format", "onnx", "--out", str(tmp_path)]
    assert main([*argv, "--decoder", "nucleus"]) == 2
    assert "cannot be exported to ONNX" in capsys.readouterr().err


def test_exports_trace_float32_logits_whatever_the_run_trained_with(
    tiny_run, monkeypatch
):
    """A run trained with logits_dtype "auto" gets bfloat16 logits on a CPU
    with AVX512_BF16; its exports must not carry bfloat16 (ONNX Runtime, CPUs
    without it)."""
    monkeypatch.setattr(models, "resolve_logits_dtype", lambda name: "bfloat16")
    assert Run.open(tiny_run).captioner().logits_dtype == "bfloat16"
    assert source.load_run(tiny_run).captioner.logits_dtype == "float32"
