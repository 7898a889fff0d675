"""The mirror re-scoring experiment (issue 23) runs end to end on the tiny run."""

import json

import tensorflow as tf

from dank.models.vision import data
from dank.models.vision.config import PRESETS
from experiments.vision import mirror


def test_mirror_way_scores_a_set_and_its_mirror_images_alike(tiny_run, tiny_data):
    config = PRESETS["tiny"]
    light = data.val_dataset(tiny_data, config, wild=False).cache()
    datasets = {
        "light": light,
        "wild": light.map(lambda x, y: (tf.reverse(x, [2]), y)),  # Mirrored.
    }
    rows = mirror.compare(tiny_run, datasets, data.unknown_dataset(config))
    assert rows["mirror"]["light"] == rows["mirror"]["wild"]
    for way in ("plain", "mirror"):
        for key in ("light", "wild", "known_recall", "unknown_rejection"):
            assert 0.0 <= rows[way][key] <= 1.0


def test_mirror_experiment_writes_both_ways(tiny_run, tiny_data, tmp_path):
    out = tmp_path / "mirror.json"
    args = ["--data", str(tiny_data), "--preset", "tiny", "--out", str(out)]
    assert mirror.main([*args, str(tiny_run)]) == 0
    results = json.loads(out.read_text())
    assert set(results["runs"]) == {str(tiny_run)}
    for name in ("light", "wild", "known_recall", "unknown_rejection"):
        assert set(results[name]) == {"plain", "mirror"}
        assert results[name]["mirror"]["at_or_above_0.98"].endswith("of 1")
