"""Reranking: funniest first, never a copy, never unsafe, deterministic."""

import numpy as np
import pytest

from dank.core.errors import DankError
from dank.models.humor.rerank import NoveltyIndex, rerank
from dank.safety import default_filter


class FakeScorer:
    """Scores by a hand-written table; unknown captions score ``default``."""

    def __init__(self, table, default=0.5):
        self.table, self.default = table, default
        self.calls = []

    def score(self, captions, labels=None):
        self.calls.append((list(captions), labels))
        return np.array([self.table.get(c, self.default) for c in captions])


CANDIDATES = [
    ("when the code compiles", "first try"),
    ("what the fuck", "is this"),  # Flagged by the safety filter.
    ("one does not simply", "walk into mordor"),  # A training caption.
    ("me trying to sleep", "my brain at 3am"),
    ("$hit happens", ""),  # Flagged in disguise.
]
TRAIN = [("one does not simply", "walk into mordor"), ("y u no", "answer")]


def test_funniest_first_with_scores():
    scorer = FakeScorer({CANDIDATES[0]: 0.9, CANDIDATES[3]: 0.7})
    got = rerank(CANDIDATES, 4, k=2, scorer=scorer)
    assert [(r.top, r.bottom) for r in got] == [CANDIDATES[0], CANDIDATES[3]]
    assert [r.score for r in got] == pytest.approx([0.9, 0.7])
    assert scorer.calls[0][1] == 4  # The template label reaches the scorer.


def test_never_returns_flagged_even_when_funniest():
    table = {CANDIDATES[1]: 1.0, CANDIDATES[4]: 0.99}
    got = rerank(CANDIDATES, 0, k=len(CANDIDATES), scorer=FakeScorer(table))
    safety = default_filter()
    assert got and not any(safety.is_flagged(r.top, r.bottom) for r in got)
    assert len(got) == 3
    # Flagged captions are not even scored.
    only_bad = rerank([CANDIDATES[1], CANDIDATES[4]], 0, k=5, scorer=FakeScorer(table))
    assert only_bad == []


def test_copies_are_penalised():
    table = {CANDIDATES[2]: 0.95, CANDIDATES[0]: 0.6}
    scorer = FakeScorer(table)
    plain = rerank(CANDIDATES, 0, k=1, scorer=scorer, novelty_weight=0.0)
    assert (plain[0].top, plain[0].bottom) == CANDIDATES[2]
    guarded = rerank(CANDIDATES, 0, k=1, scorer=scorer, train_texts=TRAIN)
    assert (guarded[0].top, guarded[0].bottom) == CANDIDATES[0]
    copy = rerank([CANDIDATES[2]], 0, k=1, scorer=scorer, train_texts=TRAIN)[0]
    assert copy.copied == 1.0 and copy.score == pytest.approx(0.95 - 0.5)


def test_novelty_index_grades_partial_copies():
    index = NoveltyIndex([("the quick brown fox jumps", "over the lazy dog")])
    assert index.copied("THE QUICK BROWN FOX JUMPS", "over the lazy dog") == 1.0
    assert index.copied("quick brown fox", "") == 1.0  # Contained verbatim.
    # 4-grams: "a quick brown fox", "quick brown fox jumps" (seen), "brown fox
    # jumps again".
    assert index.copied("a quick brown fox jumps", "again") == pytest.approx(1 / 3)
    assert index.copied("something new", "entirely") == 0.0


def test_deterministic_under_a_seed_and_ties_broken_by_seed():
    texts = [(f"caption number {i}", "") for i in range(12)]
    scorer = FakeScorer({}, default=0.5)  # All tie.
    first = rerank(texts, 1, k=5, scorer=scorer, seed=3)
    again = rerank(list(texts), 1, k=5, scorer=scorer, seed=3)
    assert first == again
    orders = {
        tuple(r.top for r in rerank(texts, 1, k=5, scorer=scorer, seed=s))
        for s in range(5)
    }
    assert len(orders) > 1  # The seed, not input order, breaks ties.
    shuffled = rerank(texts[::-1], 1, k=5, scorer=scorer, seed=3)
    assert shuffled == first


def test_duplicates_removed_and_bad_arguments():
    scorer = FakeScorer({})
    got = rerank([("Hi there", ""), ("hi  THERE", "")], 0, k=5, scorer=scorer)
    assert len(got) == 1
    with pytest.raises(DankError, match="k >= 1"):
        rerank(CANDIDATES, 0, k=0, scorer=scorer)
    with pytest.raises(DankError, match="scorer"):
        rerank(CANDIDATES, 0, k=1)
