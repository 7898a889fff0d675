"""``dank doctor`` and ``dank summary`` through the command line."""

import json

import pytest

from dank.apps import cli
from dank.apps.cli import doctor as doctor_cli
from dank.apps.doctor import environment
from dank.apps.doctor.report import fail, ok
from dank.core import constants


@pytest.fixture
def quick_environment(monkeypatch):
    """Environment checks replaced by one passing check (they are tested alone)."""
    monkeypatch.setattr(
        environment, "environment_checks", lambda work_dir: [ok("Python", "3.11")]
    )


def test_doctor_json_all_good(quick_environment, tiny_data, capsys):
    code = cli.main(
        [
            "doctor",
            "--json",
            "--data",
            str(tiny_data),
            "--starter",
            str(tiny_data / "none"),
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"] is True
    assert [s["title"] for s in report["sections"]] == ["Environment", "Data"]
    assert report["counts"]["fail"] == 0


def test_doctor_exits_one_on_a_wrong_version(monkeypatch, tiny_data, capsys):
    monkeypatch.setattr(
        environment,
        "environment_checks",
        lambda work_dir: [
            fail(
                "keras",
                "3.9.0 installed, pinned 3.15.1",
                "drift",
                environment.SETUP_FIX,
            )
        ],
    )
    code = cli.main(
        ["doctor", "--data", str(tiny_data), "--starter", str(tiny_data / "none")]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "keras: 3.9.0 installed, pinned 3.15.1" in out
    assert "make setup" in out
    assert "1 problem to fix" in out


def test_doctor_with_an_untrained_run(quick_environment, fake_run, capsys):
    code = cli.main(
        [
            "doctor",
            "--run",
            str(fake_run),
            "--starter",
            str(fake_run / "none"),
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    run_section = report["sections"][-1]
    assert run_section["title"] == f"Run {fake_run}"
    failed = {c["name"] for c in run_section["checks"] if c["status"] == "fail"}
    assert failed == {"vision model", "language model"}


def test_summary_of_a_run(fake_run, capsys):
    samples = fake_run / constants.SAMPLES_DIR
    samples.mkdir()
    (samples / "a-1.png").write_bytes(b"png")
    assert cli.main(["summary", "--run", str(fake_run)]) == 0
    out = capsys.readouterr().out
    assert f"Run: {fake_run.resolve()}" in out
    assert "val top-1 90.0%, top-5 100.0% over 6 templates" in out
    assert "test perplexity 13.0 per token, 21.0 per word" in out
    assert "kn_trigram_template baseline 15.0 (beaten)" in out
    assert f"sample memes: 1 in {fake_run / 'samples'}/" in out
    for command in (
        "make tensorboard",
        f"dank generate --run {fake_run} IMAGE",
        f"dank export --run {fake_run}",
        f"dank doctor --run {fake_run}",
    ):
        assert command in out


def test_summary_json_of_a_half_trained_run(fake_run, capsys):
    (fake_run / constants.LANGUAGE_DIR / constants.METRICS_FILE).unlink()
    assert cli.main(["summary", "--run", str(fake_run), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["language"] is None
    assert summary["vision"]["val_top1"] == 0.9
    assert summary["samples"] == []


def test_summary_of_a_missing_run(tmp_path, capsys):
    assert cli.main(["summary", "--run", str(tmp_path / "nope")]) == 2
    assert "make train" in capsys.readouterr().err


def test_doctor_function_reports_progress(quick_environment, tiny_data):
    seen = []
    report = doctor_cli.doctor(None, tiny_data, tiny_data / "none", seen.append)
    assert seen == ["Environment", "Data"]
    assert report.ok
