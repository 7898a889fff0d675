import dataclasses

import pytest

from dank.errors import DankError
from dank.vision.config import PRESETS, VisionConfig, get_config


def test_presets_are_complete_configs():
    assert set(PRESETS) == {"tiny", "cpu", "paper"}
    assert PRESETS["paper"].image_size == 224
    for config in PRESETS.values():
        assert isinstance(config, VisionConfig)
        assert config.steps >= config.steps_per_epoch > 0
        assert config.jpeg_quality[0] < config.jpeg_quality[1] <= 100


def test_config_is_frozen_and_replace_ignores_none():
    config = get_config("tiny")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.steps = 3
    assert config.replace(steps=None, batch_size=4).batch_size == 4
    assert config.replace(steps=None).steps == config.steps


def test_unknown_preset_names_choices():
    with pytest.raises(DankError, match="tiny"):
        get_config("huge")
