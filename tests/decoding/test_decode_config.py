"""Decoding configuration in one place: presets, decoders and request options."""

import subprocess
import sys

import pytest

from dank.decoding.config import (
    DECODERS,
    DEFAULT_DECODER,
    METHOD_PRESETS,
    METHODS,
    PRESETS,
    DecodeConfig,
)


def test_default_preset_is_what_generate_used_before():
    # `dank generate` with no flags before issue 24: config_for("nucleus") with
    # no overrides, returning -n 1 (plus 2 spare samples).
    assert DECODERS[0] == DEFAULT_DECODER == "nucleus"
    assert PRESETS["default"] == PRESETS["nucleus"]
    assert DecodeConfig.from_options() == DecodeConfig(
        method="nucleus",
        temperature=1.05,
        top_p=1.0,
        min_len=4,
        no_repeat_ngram=4,
        num_return=3,
    )
    paper = PRESETS["paper"]
    assert (paper.method, paper.beam_size, paper.temperature, paper.max_len) == (
        "diverse",
        5,
        1.3,
        25,
    )


def test_from_options_applies_overrides_that_are_given():
    config = DecodeConfig.from_options(
        "diverse", 2, beam_size=None, temperature=2.0, max_len=None
    )
    assert config == DecodeConfig(
        method="diverse", beam_size=5, temperature=2.0, max_len=25, num_return=5
    )
    assert DecodeConfig.from_options("beam", 7).beam_size == 7  # Widened to n.
    assert DecodeConfig.from_options("sample", 1) == PRESETS["sample"].returning(1)
    with pytest.raises(ValueError, match="greedy"):
        DecodeConfig.from_options("greedy", 2)
    with pytest.raises(ValueError, match="unknown decoding method"):
        DecodeConfig.from_options("telepathy")
    with pytest.raises(ValueError, match="temperature"):
        DecodeConfig.from_options("sample", temperature=0)


def test_every_decoder_has_a_preset():
    assert set(DECODERS) == set(METHODS) == set(METHOD_PRESETS)
    for name in DECODERS:
        assert PRESETS[METHOD_PRESETS[name]].method == name


def test_the_configuration_imports_without_tensorflow():
    code = (
        "import sys, dank.decoding as d; "
        "assert d.DECODERS and d.PRESETS; "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; "
        "d.decode; assert 'tensorflow' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
