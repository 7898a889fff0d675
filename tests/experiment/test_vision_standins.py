"""The stand-in experiment (issue 26) runs end to end on the tiny run."""

import json

from experiments.vision import standins


def test_standins_report_both_sets_effects_baseline_and_unknowns(
    tiny_run, tiny_data, tiny_source, tmp_path
):
    out = tmp_path / "standins.json"
    results = standins.experiment(
        tiny_run, tiny_data, out, tiny_source, per_template=1, n_unknown=4
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
