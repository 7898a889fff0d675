import json

import pytest

from dank.core import constants
from dank.data.vocab import Vocabulary, build_vocabulary
from dank.core.errors import DankError


def test_build_keeps_frequent_words_in_order():
    vocab = build_vocabulary([["a", "b", "a"], ["a", "b", "c", "<s>"]], min_count=2)
    assert vocab.tokens == [*constants.SPECIAL_TOKENS, "a", "b"]
    assert vocab.encode(["a", "c", "b"]) == [6, constants.UNK_ID, 7]
    assert vocab.decode([6, 7, 0]) == ["a", "b", constants.PAD]


def test_max_size_and_always():
    vocab = build_vocabulary(
        [["x"] * 5 + ["y"] * 4], min_count=1, max_size=7, always=["kid"]
    )
    assert vocab.tokens[len(constants.SPECIAL_TOKENS) :] == ["kid"] or len(vocab) == 7
    assert "kid" in vocab and len(vocab) == 7


def test_save_load_round_trip(tmp_path):
    vocab = build_vocabulary([["hi", "hi", "hi"]])
    vocab.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path) == vocab


def test_bad_files_raise_dank_error(tmp_path):
    with pytest.raises(DankError):
        Vocabulary.load(tmp_path / "missing.json")
    (tmp_path / "vocab.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(DankError):
        Vocabulary.load(tmp_path / "vocab.json")
    with pytest.raises(ValueError):
        Vocabulary(["a", "b"])
    with pytest.raises(ValueError):
        build_vocabulary([]).decode([999])
