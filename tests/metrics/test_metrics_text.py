"""BLEU, distinct-n and novelty against values worked out by hand or published."""

import math

import pytest

from dank.data.ngrams import ContainmentIndex, caption_sequence
from dank.metrics.text import corpus_bleu, distinct_n, novelty


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


def words(*sentences):
    return [sentence.split() for sentence in sentences]


def test_bleu_matches_published_values():
    # Papineni et al. (2002), section 2.1.1: "the" x7 scores a modified unigram
    # precision of 2/7, and the 7-word reference leaves no brevity penalty.
    refs = words("the cat is on the mat", "there is a cat on the mat")
    assert corpus_bleu([["the"] * 7], [refs], max_n=1)["bleu1"] == pytest.approx(2 / 7)
    # nltk.translate.bleu_score's documented examples (its sentence_bleu and
    # corpus_bleu docstrings print 0.5045... and 0.5920...).
    hyp1, hyp2 = words(
        "It is a guide to action which ensures that the military always obeys "
        "the commands of the party",
        "he read the book because he was interested in world history",
    )
    refs1 = words(
        "It is a guide to action that ensures that the military will forever "
        "heed Party commands",
        "It is the guiding principle which guarantees the military forces always "
        "being under the command of the Party",
        "It is the practical guide for the army always to heed the directions of "
        "the party",
    )
    refs2 = words("he was interested in world history because he read the book")
    assert corpus_bleu([hyp1], [refs1])["bleu4"] == pytest.approx(0.5045666840058485)
    got = corpus_bleu([hyp1, hyp2], [refs1, refs2])
    assert got["bleu4"] == pytest.approx(0.5920778868801042)


REFS_A = [
    caption_sequence("one does not simply", "walk into mordor"),
    caption_sequence("one does not simply", "train a model"),
    caption_sequence("one does not", "simply walk"),
]
REFS_B = [caption_sequence("y u no", "answer my email"), caption_sequence("y u no", "")]


@pytest.mark.parametrize(
    "hypotheses, references, expected",
    [
        (
            [
                ("one does not simply", "walk into a bar"),
                ("one does", "simply walk into mordor"),
                ("y u no", "answer"),
                ("y u no", "answer my texts"),
            ],
            [REFS_A, REFS_A, REFS_B, REFS_B],
            [
                0.9285714285714286,
                0.8796644381862461,
                0.8151622077514581,
                0.7429569665502104,
            ],
        ),
        (  # Shorter than the closest references: a brevity penalty of e^(1 - 10/9).
            [("one does not", "walk"), ("y u", "answer")],
            [REFS_A, REFS_B],
            [
                0.8948393168143697,
                0.8284602255734815,
                0.6263005476615026,
                0.5202870834435168,
            ],
        ),
    ],
)
def test_bleu_agrees_with_the_hand_written_version(hypotheses, references, expected):
    # The expected values are what the hand-written corpus_bleu this module had
    # before sacrebleu (git 855f5c1, dank/metrics/text.py) gave on these corpora.
    got = corpus_bleu([caption_sequence(t, b) for t, b in hypotheses], references)
    assert list(got.values()) == pytest.approx(expected, rel=1e-12)
    assert list(got) == ["bleu1", "bleu2", "bleu3", "bleu4"]


def test_bleu_rejects_bad_input():
    with pytest.raises(ValueError):
        corpus_bleu([["a"]], [])
    with pytest.raises(ValueError):
        corpus_bleu([["a"]], [[]])
    assert corpus_bleu([], [], max_n=2) == {"bleu1": 0.0, "bleu2": 0.0}


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
