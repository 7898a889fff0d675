import dataclasses

import pytest

from dank.core.errors import DankError
from dank.models.vision.config import PRESETS, VisionConfig, get_config


def test_presets_are_complete_configs():
    assert set(PRESETS) == {"tiny", "cpu", "full", "paper"}
    assert PRESETS["paper"].image_size == 224
    # The CPU presets train in graph mode (XLA measured slower on CPU) and only
    # the full-catalogue preset, meant to start from the starter model, imprints.
    assert not PRESETS["cpu"].jit_compile and not PRESETS["full"].jit_compile
    assert PRESETS["full"].imprint and not PRESETS["cpu"].imprint
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


@pytest.mark.parametrize(
    "name", ["flip_prob", "cover_prob", "stack_prob", "frame_prob"]
)
@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_a_share_outside_zero_to_one_is_refused(name, share):
    with pytest.raises(DankError, match=name):
        get_config("tiny").replace(**{name: share})


def test_wild_shares_name_only_what_the_preset_sets():
    assert get_config("cpu").wild_shares() == {}
    shares = get_config("full").wild_shares()
    assert set(shares) == {"cover", "stacked", "screenshot"}
    assert all(0.0 < share < 1.0 for share in shares.values())
