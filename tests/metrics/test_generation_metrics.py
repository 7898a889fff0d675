"""``generation_metrics`` and ``dank evaluate captions`` on the shared tiny run."""

import json
import math

import pytest

from dank.apps.cli import main
from dank.core.errors import DankError
from dank.metrics import generation_metrics

KEYS = {
    "decoder",
    "n_generated",
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
    "flagged_share",
    "flagged_share_output",
    "captions_per_second",
    "perplexity_generated",
    "per_template",
    "seed",
    "safety_filter",
    "variant",
    "rerank",
    "n_templates",
    "max_templates",
    "csv",
    "data",
    "run",
}
SHARES = KEYS & {
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
    "flagged_share",
    "flagged_share_output",
}


def _without_speed(result):
    return {k: v for k, v in result.items() if k != "captions_per_second"}


def test_every_key_and_deterministic_under_a_seed(tiny_run):
    args = dict(decoder="diverse", per_template=2, seed=0, max_templates=3)
    first = generation_metrics(tiny_run, **args)
    assert set(first) >= KEYS
    json.dumps(first)  # JSON-able.
    assert first["decoder"] == "diverse" and first["per_template"] == 2
    assert 0 < first["n_generated"] <= 2 * first["n_templates"]
    for key in SHARES:
        assert 0.0 <= first[key] <= 1.0, key
    assert first["bleu1"] >= first["bleu4"]
    assert first["flagged_share_output"] == 0.0  # The filter was on.
    assert first["captions_per_second"] > 0 and first["perplexity_generated"] > 1
    again = generation_metrics(tiny_run, **args)
    assert _without_speed(again) == _without_speed(first)


def test_decoder_configs_return_enough_captions():
    from dank.decoding.config import PRESETS, DecodeConfig

    assert PRESETS["greedy"].returning(1).num_return == 1
    with pytest.raises(ValueError, match="greedy"):
        PRESETS["greedy"].returning(3)
    paper = PRESETS["paper"].returning(7)
    assert (paper.beam_size, paper.num_return, paper.temperature) == (7, 7, 1.3)
    assert PRESETS["beam"].returning(2).num_return == 5  # Every beam comes back.
    assert DecodeConfig(method="sample").returning(4).num_return == 6  # 2 spare.


def test_bad_settings_raise_clear_errors(tiny_run, tmp_path):
    with pytest.raises(DankError, match="per_template"):
        generation_metrics(tiny_run, per_template=0)
    with pytest.raises(DankError, match="unknown decoder"):
        generation_metrics(tiny_run, decoder="telepathy")
    with pytest.raises(DankError, match="rerank"):
        generation_metrics(tiny_run, rerank="loudest")
    with pytest.raises(DankError, match="not found"):
        generation_metrics(tiny_run, data_dir=tmp_path / "nowhere")
    with pytest.raises(DankError, match="humor"):
        generation_metrics(tiny_run, rerank="humor", max_templates=1)


def test_evaluate_captions_prints_perplexity_and_generation(tiny_run, capsys):
    argv = ["evaluate", "captions", "--run", str(tiny_run)]
    assert main([*argv, "--decoder", "beam", "--per-template", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] > 0 and math.isfinite(out["perplexity"])
    assert out["generation"]["decoder"] == "beam"
    assert set(out["generation"]) >= KEYS
    assert main([*argv, "--no-generation"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "generation" not in out and out["n"] > 0


def test_save_generated_writes_jsonl_atomically(tiny_run, tmp_path, capsys):
    from dank.metrics.saved import load_captions

    out = tmp_path / "sub" / "gen.jsonl"
    argv = ["evaluate", "captions", "--run", str(tiny_run), "--seed", "3"]
    assert (
        main([*argv, "--decoder", "sample", "-n", "2", "--save-generated", str(out)])
        == 0
    )
    result = json.loads(capsys.readouterr().out)["generation"]
    rows = load_captions(out)
    assert len(rows) == result["n_generated"] > 0
    assert {r["decoder"] for r in rows} == {"sample"} and rows[0]["seed"] == 3
    from dank.data.catalogue import Catalogue

    ids = {t.id for t in Catalogue.load(tiny_run / "catalogue.json")}
    assert {r["template"] for r in rows} <= ids
    assert list(out.parent.iterdir()) == [out]  # No temporary left behind.
    for key in (
        "real_vs_generated_weak",
        "words_ratio",
        "degenerate_share",
        "distinct_per_template",
        "real_vs_generated_ci_low",
    ):
        assert key in result


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-n", "0"], "per template must be >= 1"),
        (["--save-generated", "/proc/nope/gen.jsonl"], "cannot write"),
        (["--save-generated", "."], "is a directory"),
        (["--no-generation", "--save-generated", "x.jsonl"], "needs generation"),
    ],
)
def test_evaluate_bad_input_is_one_line_exit_2(tiny_run, capsys, extra, message):
    assert main(["evaluate", "captions", "--run", str(tiny_run), *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and captured.err.count("\n") == 1


def test_templates_without_held_out_captions_are_an_error(tiny_run):
    from dank.data.catalogue import Catalogue
    from dank.metrics.generation import _references

    catalogue = Catalogue.load(tiny_run / "catalogue.json")
    test = [{"label": 0, "top": "a", "bottom": "b"}]
    with pytest.raises(DankError, match=r"no test captions for \d+ template"):
        _references("DATA", None, test, catalogue, None)
    assert list(_references("DATA", None, test, [catalogue[0]], None)) == [0]
