"""Humour presets are data and bad settings fail with clear messages."""

import pytest

from dank.core.errors import DankError
from dank.models.humor.config import PRESETS, TARGETS, HumorConfig, preset


def test_presets_valid_and_round_trip():
    assert set(PRESETS) == {"tiny", "cpu", "paper"}
    for config in PRESETS.values():
        assert config.target in TARGETS
        assert HumorConfig.from_json(config.to_json()) == config


def test_preset_overrides_and_errors():
    assert preset("cpu", target="percentile", epochs=None).target == "percentile"
    with pytest.raises(DankError, match="unknown preset"):
        preset("huge")
    with pytest.raises(DankError, match="unknown humour target"):
        preset("cpu", target="likes")
    with pytest.raises(ValueError, match="dropout"):
        HumorConfig(dropout=1.0)
