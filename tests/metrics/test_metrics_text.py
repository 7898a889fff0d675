"""BLEU, distinct-n and novelty against values worked out by hand."""

import math

import pytest

from dank.metrics.text import (
    ContainmentIndex,
    caption_sequence,
    corpus_bleu,
    distinct_n,
    novelty,
    visible_words,
)


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


def test_bleu_identical_caption_is_one():
    hyp = ["the", "quick", "brown", "fox", "jumps"]
    got = corpus_bleu([hyp], [[hyp, ["something", "else", "entirely", "here"]]])
    assert got == pytest.approx({"bleu1": 1, "bleu2": 1, "bleu3": 1, "bleu4": 1})


def test_bleu_disjoint_caption_is_zero():
    got = corpus_bleu([["a", "b", "c", "d"]], [[["w", "x", "y", "z"]]])
    assert got == {"bleu1": 0.0, "bleu2": 0.0, "bleu3": 0.0, "bleu4": 0.0}


def test_bleu_partial_overlap_by_hand():
    # Matches: unigrams 3/5, bigrams (a b),(b c) 2/4, trigram (a b c) 1/3, 4-grams 0.
    got = corpus_bleu([["a", "b", "c", "d", "e"]], [[["a", "b", "c", "x", "y"]]])
    assert got["bleu1"] == pytest.approx(0.6)
    assert got["bleu2"] == pytest.approx(math.sqrt(0.6 * 0.5))
    assert got["bleu3"] == pytest.approx((0.6 * 0.5 / 3) ** (1 / 3))
    assert got["bleu4"] == 0.0


def test_bleu_clips_counts_and_uses_the_best_reference():
    # "the" x3 is clipped to 2, its largest count in any one reference.
    refs = [["the", "cat"], ["the", "the", "dog"]]
    got = corpus_bleu([["the", "the", "the"]], [refs], max_n=1)
    assert got["bleu1"] == pytest.approx(2 / 3)


def test_bleu_brevity_penalty_and_corpus_sums():
    # Closest reference lengths 4 (to 2) and 2 (to 2): r = 6, c = 4.
    short = corpus_bleu(
        [["a", "b"], ["c", "d"]],
        [[["a", "b", "x", "y"], ["q"] * 9], [["c", "d"]]],
        max_n=1,
    )
    assert short["bleu1"] == pytest.approx(math.exp(1 - 6 / 4))
    # Ties between reference lengths go to the shorter one: r = 2 for c = 3.
    tie = corpus_bleu([["a", "b", "c"]], [[["a", "b"], ["a", "b", "c", "d"]]], 1)
    assert tie["bleu1"] == pytest.approx(1.0)


def test_bleu_rejects_bad_input():
    with pytest.raises(ValueError):
        corpus_bleu([["a"]], [])
    with pytest.raises(ValueError):
        corpus_bleu([["a"]], [[]])


def test_distinct_n_by_hand():
    seqs = [["a", "b", "a"], ["a", "c"]]
    assert distinct_n(seqs, 1) == pytest.approx(3 / 5)  # a, b, c of 5 unigrams.
    assert distinct_n(seqs, 2) == pytest.approx(1.0)  # ab, ba, ac: all unique.
    assert distinct_n([["a", "b"], ["a", "b"]], 2) == pytest.approx(0.5)
    assert distinct_n([["a"]], 2) == 0.0


TRAIN = [
    ("one does not simply", "walk into mordor"),
    ("y u no", "answer"),
    ("memes", ""),
]


def test_novelty_counts_captions_inside_training_captions():
    index = ContainmentIndex(caption_sequence(t, b) for t, b in TRAIN)
    assert len(index) == 3
    copies = [
        ("One does not simply", "walk into Mordor"),  # Verbatim, any case.
        ("does not simply", ""),  # Inside the top box.
        ("", "walk into"),  # Inside the bottom box.
        ("not simply", "walk"),  # Across the boxes, separator in place.
        ("y u no", ""),
    ]
    for top, bottom in copies:
        assert novelty([(top, bottom)], index) == 0.0, (top, bottom)
    new = [
        ("not simply walk", ""),  # The words span the separator: not verbatim.
        ("meme", ""),  # A substring of "memes" but not a whole word.
        ("y u no", "sleep"),
        ("unseen words", ""),
    ]
    for top, bottom in new:
        assert novelty([(top, bottom)], index) == 1.0, (top, bottom)
    assert novelty(copies[:2] + new[:2], index) == pytest.approx(0.5)
    assert math.isnan(novelty([], index))
