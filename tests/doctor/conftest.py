"""Runs for the doctor's tests: a fake one (no models, instant) and a tiny
trained one (``tiny_run``, shared from ``tests/conftest.py``)."""

import pytest

from dank.core import constants
from dank.core.io import write_json

VISION_METRICS = {"val_top1": 0.9, "val_top5": 1.0, "n_templates": 6}
LANGUAGE_METRICS = {
    "variant": "template",
    "val": {"perplexity": 12.0, "perplexity_per_word": 20.0},
    "test": {"perplexity": 13.0, "perplexity_per_word": 21.0},
    "baselines": {"kn_trigram_template": {"perplexity": 15.0}},
}


@pytest.fixture
def fake_run(tiny_data, tmp_path):
    """A run directory with run.json, catalogue, vocabulary and metrics, but no
    trained models."""
    from dank.core.run import prepare_run

    run = tmp_path / "run"
    vision = prepare_run(run, tiny_data, constants.VISION_DIR, {"image_size": 32})
    language = prepare_run(
        run, tiny_data, constants.LANGUAGE_DIR, {"preset": "tiny", "epochs": 2}
    )
    write_json(vision / constants.METRICS_FILE, VISION_METRICS)
    write_json(language / constants.METRICS_FILE, LANGUAGE_METRICS)
    return run
