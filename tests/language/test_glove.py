"""GloVe initialisation from a local text file, and what a wrong file gets."""

import numpy as np
import pytest

from dank.core import constants
from dank.core.errors import DankError
from dank.data.vocab import Vocabulary
from dank.models.language.glove import load_glove

VOCAB = Vocabulary([*constants.SPECIAL_TOKENS, "cat", "dog"])


def _file(tmp_path, text):
    path = tmp_path / "glove.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_known_words_get_their_vectors_and_the_rest_stay_zero(tmp_path):
    path = _file(tmp_path, "cat 1 2 3\nzebra 9 9 9\n")
    vectors, found = load_glove(path, VOCAB, 3)
    assert found.nonzero()[0].tolist() == [VOCAB.id_of("cat")]
    np.testing.assert_array_equal(vectors[VOCAB.id_of("cat")], [1, 2, 3])
    assert not vectors[VOCAB.id_of("dog")].any()


@pytest.mark.parametrize(
    "text, message",
    [
        ("cat 1 2\n", "line 1: 2 values, but the model's embedding_dim is 3"),
        ("dog 1 two 3\n", "line 1: not numbers"),
        ("hello this is prose\nnot vectors at all\n", "a vector for none of"),
    ],
)
def test_a_wrong_file_is_refused_with_its_line(tmp_path, text, message):
    with pytest.raises(DankError, match=message):
        load_glove(_file(tmp_path, text), VOCAB, 3)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(DankError, match="not found"):
        load_glove(tmp_path / "nope.txt", VOCAB, 3)
