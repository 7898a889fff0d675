"""``dank experiment run`` end to end on the tiny run: results JSON and table."""

import json
import math
import shutil

import pytest

from dank.apps.reproduce import runner
from dank.apps.reproduce.config import parse_experiment
from dank.apps.reproduce.table import NOT_REPORTED, NOT_RUN, ROWS, write_table
from dank.core import constants
from dank.core.errors import DankError


def experiment(name, run, data, **changes):
    config = {
        "description": f"test {name}",
        "preset": "tiny",
        "variant": "template",
        "run": str(run),
        "data": str(data),
        **changes,
    }
    return parse_experiment(config, name)


GENERATION_KEYS = (
    "bleu1",
    "bleu2",
    "bleu3",
    "bleu4",
    "distinct1",
    "distinct2",
    "novelty",
    "fidelity_generated",
    "fidelity_real",
    "real_vs_generated_accuracy",
    "captions_per_second",
)


def standin(calls):
    """A stand-in for ``generation_metrics`` (tested in tests/metrics) that
    records its arguments and returns distinct values per key."""

    def generation_metrics(run_dir, data_dir=None, variant="template", **kwargs):
        calls.append((str(run_dir), str(data_dir), variant, kwargs))
        values = {k: (i + 1) / 16 for i, k in enumerate(GENERATION_KEYS)}
        return {"decoder": kwargs.get("decoder") or "diverse", **values}

    return generation_metrics


def table_rows(text):
    """``{row label: [cells]}`` of the main table in paper.md."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and cells[0] in {r[0] for r in ROWS}:
            rows[cells[0]] = cells[1:]
    return rows


def test_tiny_experiment_writes_results_and_table(tmp_path, tiny_run, tiny_data):
    results = tmp_path / "results"
    ours = experiment(
        "template-tiny", tiny_run, tiny_data, generation={"per_template": 2, "seed": 3}
    )
    never = experiment(
        "attention-tiny", tmp_path / "no-run", tiny_data, variant="attention"
    )
    calls = []
    result = runner.run_experiment(ours, results, generation=standin(calls))
    assert calls == [
        (str(tiny_run), str(tiny_data), "template", {"per_template": 2, "seed": 3})
    ]

    saved = json.loads((results / "template-tiny.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert saved["preset"] == "tiny" and saved["variant"] == "template"
    assert saved["data"]["path"] == str(tiny_data) and saved["data"]["templates"]
    assert saved["machine"]["cpu"] and saved["machine"]["cores"] >= 1
    assert saved["date"][:2] == "20"
    metrics = json.loads(
        (tiny_run / constants.LANGUAGE_DIR / constants.METRICS_FILE).read_text()
    )
    assert saved["heldout"] == metrics["test"]
    protocol = saved["protocol"]
    assert protocol["n_pairs"] == len(protocol["pairs"]) >= 1
    assert protocol["n_pairs_wanted"] == 105
    assert math.isfinite(protocol["perplexity"]) and protocol["perplexity"] > 1
    vision = json.loads((tiny_run / "vision" / "metrics.json").read_text())
    assert saved["vision"]["val_top1"] == vision["val_top1"]

    big = experiment("template-big", tmp_path / "no-run", tiny_data, preset="paper")
    text = write_table([ours, never, big], results).read_text()
    header = next(line for line in text.splitlines() if line.startswith("| metric"))
    assert "attention-tiny" in header and "template-big" not in header
    assert "| template-big | template | paper | none |" in text
    rows = table_rows(text)
    assert set(rows) == {r[0] for r in ROWS}
    for label, cells in rows.items():
        ours_cell, never_cell, paper_cell = cells
        assert never_cell == NOT_RUN, label
        assert ours_cell != NOT_RUN, label  # Every metric was produced.
    assert (
        rows["held-out perplexity, per token"][0]
        == f"{metrics['test']['perplexity']:.1f}"
    )
    assert rows["BLEU-1"] == ["0.062", NOT_RUN, NOT_REPORTED]
    assert rows["novelty (not inside a training caption)"][0] == "43.8%"
    assert rows["real-vs-generated accuracy (50% = indistinguishable)"][2].startswith(
        "about 70%"
    )
    assert "| attention-tiny | attention | tiny | none |" in text


def test_missing_generation_metrics_leave_cells_not_run(
    tmp_path, tiny_run, tiny_data, monkeypatch
):
    monkeypatch.setattr(runner, "load_generation_metrics", lambda: None)
    ours = experiment("template-tiny", tiny_run, tiny_data)
    result = runner.run_experiment(ours, tmp_path)
    assert result["generation"] is None and "generation" in result["not_run"]
    rows = table_rows(write_table([ours], tmp_path).read_text())
    assert rows["BLEU-4"][0] == NOT_RUN
    assert rows["held-out perplexity, per word"][0] != NOT_RUN


@pytest.mark.slow
def test_real_generation_metrics_fill_the_table(tmp_path, tiny_run, tiny_data):
    ours = experiment(
        "template-tiny", tiny_run, tiny_data, generation={"per_template": 2, "seed": 3}
    )
    generation = runner.run_experiment(ours, tmp_path)["generation"]
    assert generation["per_template"] == 2 and generation["seed"] == 3
    assert generation["n_generated"] >= 1
    rows = table_rows(write_table([ours], tmp_path).read_text())
    assert NOT_RUN not in {cells[0] for cells in rows.values()}


def test_refuses_a_model_trained_with_other_settings(tmp_path, tiny_run, tiny_data):
    other = experiment("template-tiny", tiny_run, tiny_data, overrides={"epochs": 7})
    with pytest.raises(DankError, match=r"epochs=2 \(wanted 7\)"):
        runner.run_experiment(other, tmp_path)
    assert not (tmp_path / "template-tiny.json").exists()


def test_refuses_a_run_of_another_build(tmp_path, tiny_run, tiny_data):
    build = tmp_path / "build"
    shutil.copytree(tiny_data, build)
    vocab = build / constants.VOCAB_FILE
    vocab.write_text(vocab.read_text().replace("]", ', "zzz"]', 1))
    with pytest.raises(DankError, match="vocab.json differs"):
        runner.evaluate(experiment("x", tiny_run, build))


@pytest.mark.slow
def test_trains_the_missing_variant_then_evaluates(
    tmp_path, tiny_run, tiny_data, monkeypatch
):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    monkeypatch.setattr(runner, "load_generation_metrics", lambda: None)
    image = experiment("image-tiny", run, tiny_data, variant="image")
    assert [kind for kind, _ in runner.plan(image, tmp_path)] == [
        "language",
        "evaluate",
    ]  # The copied run has a vision model.
    result = runner.run_experiment(image, tmp_path, verbose=0)
    assert (run / "language-image" / constants.MODEL_FILE).is_file()
    assert result["heldout"]["n"] > 0 and result["protocol"]["n_pairs"] >= 1
    assert [kind for kind, _ in runner.plan(image, tmp_path)] == ["evaluate"]


def test_recorded_tuples_compare_with_the_wanted_config(tmp_path, tiny_run, tiny_data):
    """run.json keeps adaptive_softmax as a JSON list; the preset, a tuple."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    info_path = run / constants.RUN_CONFIG_FILE
    info = json.loads(info_path.read_text())
    info["components"]["language"]["adaptive_softmax"] = [8, 16]
    info_path.write_text(json.dumps(info))
    same = experiment(
        "template-tiny", run, tiny_data, overrides={"adaptive_softmax": [8, 16]}
    )
    runner.check_trained_config(same)  # No error.
    other = experiment("template-tiny", run, tiny_data)
    with pytest.raises(DankError, match=r"adaptive_softmax=\(8, 16\) \(wanted \(\)\)"):
        runner.check_trained_config(other)


def test_overrides_that_break_the_config_are_clear_errors(tiny_run, tiny_data):
    with pytest.raises(DankError, match="adaptive_softmax"):
        experiment("x", tiny_run, tiny_data, overrides={"adaptive_softmax": [20, 10]})
    with pytest.raises(DankError, match="y: overrides: .*not both"):
        experiment(
            "y", tiny_run, tiny_data, preset="cpu", overrides={"sampled_softmax": 8}
        )
