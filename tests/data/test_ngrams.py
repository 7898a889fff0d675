"""Captions as word sequences, their n-grams and the containment index."""

from dank.data.ngrams import ContainmentIndex, caption_sequence, ngrams, visible_words


def test_caption_sequence_normalises_and_separates():
    assert caption_sequence("One Does NOT simply", "walk into Mordor!") == [
        "one",
        "does",
        "not",
        "simply",
        "<sep>",
        "walk",
        "into",
        "mordor",
        "!",
    ]
    assert caption_sequence("", "bottom only") == ["<sep>", "bottom", "only"]
    assert visible_words("", "bottom only") == ["bottom", "only"]
    assert visible_words("a", "b") == ["a", "<sep>", "b"]


def test_ngrams_in_order():
    assert ngrams(["a", "b", "c"], 2) == [("a", "b"), ("b", "c")]
    assert ngrams(["a"], 2) == []


def test_containment_is_whole_consecutive_words():
    index = ContainmentIndex([["y", "u", "no", "<sep>", "answer"], ["memes"]])
    assert len(index) == 2
    assert index.contains(["u", "no", "<sep>"])
    assert not index.contains(["y", "no"])  # Not consecutive.
    assert not index.contains(["meme"])  # Part of a word only.
    assert not index.contains(["unseen"])
    assert not index.contains([])
