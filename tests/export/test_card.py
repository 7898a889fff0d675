"""The model card: written beside an export, filled from the run's own files."""

import pytest

from dank import DISTRIBUTION
from dank.apps.export.card import CARD_FILE, model_card, write_model_card
from dank.core import constants
from dank.core.io import write_json, write_text
from dank.core.run import RUN_FORMAT
from dank.data.catalogue import Catalogue, Template
from dank.data.vocab import Vocabulary
from dank.decoding.config import DecodeConfig
from dank.models.run import Run

DECODE = DecodeConfig(method="beam", beam_size=3, max_len=10, num_return=2)


def _run(root, data=None, metrics=True):
    """A run directory with the files a card reads; no models (none are needed)."""
    run = root / "run"
    run.mkdir()
    info = {"format": RUN_FORMAT, "dank_version": "0.0.9", "components": {}}
    if data is not None:
        info["data"] = str(data)
    info["components"]["language"] = {"variant": "template", "preset": "cpu"}
    write_json(run / constants.RUN_CONFIG_FILE, info)
    Catalogue(
        [
            Template(0, "imgflip-A", "A", n_captions=30),
            Template(1, "imgflip-B", "B", n_captions=12),
        ]
    ).save(run / constants.CATALOGUE_FILE)
    Vocabulary([*constants.SPECIAL_TOKENS, "such", "doge", "wow"]).save(
        run / constants.VOCAB_FILE
    )
    if metrics:
        write_json(
            run / constants.VISION_DIR / constants.METRICS_FILE,
            {"val_top1": 0.91, "val_top5": 0.99, "n_val": 10, "n_templates": 2},
        )
        write_json(
            run / constants.LANGUAGE_DIR / constants.METRICS_FILE,
            {
                "test": {"n": 7, "perplexity": 56.04, "perplexity_per_word": 125.36},
                "baselines": {"test": {"kn_trigram_template": {"perplexity": 76.43}}},
                "generation": {"novelty": 0.794, "flagged_share": 0.0},
            },
        )
    return run


@pytest.fixture
def data_build(tmp_path):
    data = tmp_path / "build"
    write_json(
        data / "summary.json",
        {
            "source": "data/starter",
            "captions_per_split": {"train": 30, "val": 6, "test": 6},
            "safety_filter": {"enabled": True, "mode": "drop"},
        },
    )
    write_text(data / constants.CARD_FILE, "# Dataset card\n")
    return data


def test_the_card_reports_data_metrics_decoder_and_versions(tmp_path, data_build):
    card = model_card(_run(tmp_path, data_build), DECODE, "savedmodel")
    for heading in (
        "Training data",
        "Intended use",
        "Out-of-scope uses",
        "Known biases and limits",
        "Metrics",
        "Decoder",
        "Versions",
    ):
        assert f"\n## {heading}\n" in card
    assert "Source: `data/starter`" in card
    assert "2 templates, 42 captions" in card and "vocabulary of 9 tokens" in card
    assert "30 train, 6 val, 6 test" in card and "filter: mode `drop`" in card
    assert str(data_build / constants.CARD_FILE) in card
    assert "top-1 91.0%, top-5 99.0% on 10 held-out" in card
    assert "on 7 test captions: 56.0 per token, 125.4 per word" in card
    assert "trigram per template, 76.4 per token" in card
    assert "novelty: generated captions not in the training set: 79.4%" in card
    assert "flags: 0.0%" in card
    assert "`beam`: method=beam, beam_size=3, max_len=10" in card
    assert "Trained with dank 0.0.9" in card and f"`{DISTRIBUTION}`" in card
    assert "docs/bias.md" in card and "dank/safety/lexicon.txt" in card


def test_each_format_says_what_it_does_with_flagged_captions(tmp_path, data_build):
    run = _run(tmp_path, data_build)
    savedmodel = model_card(run, DECODE, "savedmodel")
    onnx = model_card(run, DECODE, "onnx")
    assert "endpoints return the decoder's captions unfiltered" in savedmodel
    assert "unfiltered" not in onnx and "`ort_runner.py` ships with the filter" in onnx
    assert "caption_greedy" in savedmodel and "any decoder at run time" in onnx


def test_a_run_without_its_build_or_metrics_still_gets_a_card(tmp_path):
    card = model_card(_run(tmp_path, tmp_path / "moved", metrics=False), DECODE, "onnx")
    assert "summary was not found" in card
    assert "The run recorded no metrics." in card
    assert "2 templates, 42 captions" in card


def test_write_model_card_puts_it_in_the_export_folder(tmp_path, data_build):
    run = Run.open(_run(tmp_path, data_build))
    out = tmp_path / "export"
    out.mkdir()
    path = write_model_card(run, out, DECODE, "onnx", mix_top_k=3)
    assert path == out / CARD_FILE
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"# Model card: dank, run `{run.path}`")
    assert "top 3 template(s)" in text
