"""The mirror re-scoring experiment (issue 23) runs end to end on the tiny run."""

import json

import keras
import numpy as np
import tensorflow as tf

from dank.core import constants
from dank.models.vision import data
from dank.models.vision.config import PRESETS
from dank.models.vision.model import build_model, inference_function
from dank.models.vision.train import predict_arrays, topk_accuracy
from experiments.vision import mirror


def test_choose_takes_the_mirror_image_only_when_surer_by_the_margin():
    probs = np.array([[0.6, 0.4], [0.5, 0.5]])
    mirrored = np.array([[0.2, 0.8], [0.45, 0.55]])  # Surer by 0.2 and 0.05.
    np.testing.assert_array_equal(mirror.choose(probs, mirrored, 0.1)[0], [0.2, 0.8])
    np.testing.assert_array_equal(mirror.choose(probs, mirrored, 0.1)[1], [0.5, 0.5])
    np.testing.assert_array_equal(mirror.choose(probs, mirrored, 0.3), probs)


def test_mirror_way_is_what_the_mirror_model_does(tiny_run, tiny_data):
    config = PRESETS["tiny"]
    light = data.val_dataset(tiny_data, config, wild=False).cache()
    datasets = {
        "light": light,
        "wild": light.map(lambda x, y: (tf.reverse(x, [2]), y)),  # Mirrored.
    }
    rows = mirror.compare(tiny_run, datasets, data.unknown_dataset(config))
    # With no margin the surer orientation answers: blind to mirroring.
    assert rows["margin 0.0"]["light"] == rows["margin 0.0"]["wild"]
    for way in ("plain", "mirror", "margin 0.3"):
        for key in ("light", "wild", "known_recall", "unknown_rejection"):
            assert 0.0 <= rows[way][key] <= 1.0
    # The experiment's "mirror" way scores as the mirror-blind model itself.
    saved = keras.saving.load_model(tiny_run / constants.VISION_DIR / "model.keras")
    model = build_model(6, config.image_size, mirror=True)
    model.set_weights(saved.get_weights())
    probs, _, labels = predict_arrays(inference_function(model), light)
    assert round(topk_accuracy(probs, labels, 1), 4) == rows["mirror"]["light"]


def test_mirror_experiment_writes_every_way(tiny_run, tiny_data, tmp_path):
    out = tmp_path / "mirror.json"
    args = ["--data", str(tiny_data), "--preset", "tiny", "--out", str(out)]
    assert mirror.main([*args, "--valsplit", "1", "--standin", "1", str(tiny_run)]) == 0
    results = json.loads(out.read_text())
    assert set(results["runs"]) == {str(tiny_run)}
    assert results["standin_per_template"] == results["valsplit_per_template"] == 1
    names = ("light", "wild", "valsplit_wild", "standin_wild", "known_recall")
    for name in names:
        assert {"plain", "mirror", "margin 0.0", "margin 0.5"} <= set(results[name])
        assert results[name]["mirror"]["at_or_above_0.98"].endswith("of 1")
