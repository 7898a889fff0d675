"""The stand-in experiment (issue 26) runs end to end on the tiny run."""

import json

import numpy as np

from experiments.vision import standins


def test_standins_report_both_sets_effects_baseline_and_unknowns(
    tiny_run, tiny_data, tiny_source, tmp_path
):
    out = tmp_path / "standins.json"
    keep = tmp_path / "kept"
    results = standins.experiment(
        tiny_run, tiny_data, out, tiny_source, per_template=2, n_unknown=4, keep=keep
    )
    assert json.loads(out.read_text()) == json.loads(json.dumps(results))
    for name in ("clean", "wild"):
        s = results["standins"][name]
        assert s["classifier"]["n"] == s["phash"]["n"] > 0
        for scores in (s["classifier"], s["second_look"], s["phash"]):
            assert 0.0 <= scores["top1"] <= scores["top5"] <= 1.0
    by_effect = results["standins"]["wild"]["classifier"]["top1_by_effect"]
    assert by_effect and sum(v["n"] for v in by_effect.values()) >= 1
    unknown = results["unknown"]["calibrated_on_a"]
    assert 0.0 <= unknown["false_reject"] <= 1.0
    assert 0.0 <= unknown["false_accept"] <= 1.0
    table = out.with_suffix(".md").read_text()
    assert "perceptual-hash" in table and "by effect" in table and "views" in table
    wild = results["standins"]["wild"]
    for how in ("classifier", "views"):
        groups = wild[how]["top1_by_group"]
        assert sum(g["n"] for g in groups.values()) == wild[how]["n"]
        assert 0.0 <= wild[how]["top1"] <= 1.0
    assert results["views"]["images_per_s"] > 0
    # rerank's own weights are reported beside the fitted ones, and the first
    # meme of each template (what a 1-per-template run scores) on its own.
    defaults = wild["second_look_defaults"]
    assert 0.0 <= defaults["top1"] <= defaults["top5"] <= 1.0
    first = wild["first_per_template"]
    assert first["n"] * 2 == wild["classifier"]["n"]
    assert 0.0 <= first["second_look"] <= 1.0
    assert "rerank" in table and "first meme" in table
    # --keep: the rendered sets and their scores stay for re-scoring.
    scores = np.load(keep / "wild" / "scores.npz")
    assert len(scores["views"]) == len(scores["evidence"]) == wild["classifier"]["n"]
    assert (keep / "wild" / "labels.csv").exists()
