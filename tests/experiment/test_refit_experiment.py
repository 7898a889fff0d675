"""The head-refit experiment (issue 23) runs end to end on the tiny run."""

import json

from experiments.vision import refit


def test_refit_experiment_writes_every_way(tiny_run, tiny_data, tmp_path):
    out = tmp_path / "refit.json"
    args = ["--data", str(tiny_data), "--preset", "tiny", "--out", str(out)]
    ways = ["--batches", "1", "2", "--c", "1.0"]
    assert refit.main([*args, *ways, "--valsplit", "1", str(tiny_run)]) == 0
    results = json.loads(out.read_text())
    assert results["preset_way"] == "refit 2 C 1.0"  # The tiny preset's.
    rows = results["runs"][str(tiny_run)]
    assert set(rows) == {"trained head", "refit 1 C 1.0", "refit 2 C 1.0"}
    for way in ("refit 1 C 1.0", "refit 2 C 1.0"):
        assert 0.0 <= rows[way]["train_top1_after"] <= 1.0
    assert "train_top1_after" not in rows["trained head"]
    for name in ("light", "wild", "valsplit_wild", "known_recall"):
        assert set(results[name]) == set(rows)
        for way in rows:
            assert 0.0 <= rows[way][name] <= 1.0
