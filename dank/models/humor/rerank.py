"""``rerank``: the funniest candidates first, but never a copy and never unsafe.

The combined score of a candidate caption is::

    combined = humour - novelty_weight * copied

``humour`` is the humour model's score (0..1). ``copied`` (0..1) is 1 for a
caption that appears verbatim as a training caption, or whose words occur
consecutively inside one (the paper's "percent in data" test, made as the
novelty metric ``dank.metrics.text.novelty`` makes it: whole words, ``<sep>``
kept between the boxes); otherwise it is the share of the caption's word
4-grams (fewer words: its whole text) seen in training captions. So a reranker
cannot win by picking captions copied from the data. Captions the safety
filter flags are dropped before ranking, so none can be returned. Equal scores
are ordered by a seeded hash of the text: the same seed gives the same order.
"""

import dataclasses

from dank.core.errors import DankError
from dank.data import splits, text
from dank.data.ngrams import ContainmentIndex, caption_sequence, visible_words

NGRAM = 4  # Words per n-gram in the partial-copy share.
# Weight of the copy penalty. The humour scores of one template's 20 candidates
# span 0.15 (median max - min; 0.08-0.22 from the 10th to the 90th percentile
# over the starter templates, cpu run), so 0.5 puts any verbatim copy (copied =
# 1) below every original candidate, while a caption sharing one 4-gram in four
# (0.25) loses about one span. experiments/generation/rerank.py measures the
# effect: novelty 92% with it, 73% with weight 0, 89% without reranking.
NOVELTY_WEIGHT = 0.5


def _words(top, bottom):
    return text.tokenize(top) + text.tokenize(bottom)


def _ngrams(words, n=NGRAM):
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class NoveltyIndex:
    """What training captions look like, for measuring how copied a caption is.

    Containment uses ``dank.data.ngrams.ContainmentIndex`` (the same test as
    the novelty metric), which stays fast on any number of training captions.

    Args:
        train_texts: ``(top, bottom)`` pairs of the training captions.
    """

    def __init__(self, train_texts):
        self.keys = set()
        self.ngrams = set()
        sequences = []
        for top, bottom in train_texts:
            self.keys.add(text.caption_key(top, bottom))
            self.ngrams |= _ngrams(_words(top, bottom))
            sequences.append(caption_sequence(top, bottom))
        self._contained = ContainmentIndex(sequences)

    def copied(self, top, bottom):
        """How much of the caption comes verbatim from training data (0..1)."""
        if text.caption_key(top, bottom) in self.keys:
            return 1.0
        words = _words(top, bottom)
        if not words:
            return 0.0
        if self._contained.contains(visible_words(top, bottom)):
            return 1.0
        grams = _ngrams(words)
        return sum(g in self.ngrams for g in grams) / len(grams)


@dataclasses.dataclass(frozen=True)
class RankedCaption:
    """A reranked caption and the scores that put it there."""

    top: str
    bottom: str
    score: float  # The combined score the ranking uses.
    humor: float  # The humour model's score, 0..1.
    copied: float  # Share copied from training captions, 0..1.


def rerank(
    candidates,
    template_label,
    k,
    novelty_weight=NOVELTY_WEIGHT,
    train_texts=None,
    scorer=None,
    seed=0,
    safety=None,
):
    """Returns the best ``k`` candidates by humour combined with novelty.

    Args:
        candidates: ``(top, bottom)`` pairs, e.g. K decoded captions of one image.
        template_label: the template's catalogue label (``None``: unknown).
        k: how many to return (fewer when fewer survive the filters).
        novelty_weight: weight of the copy penalty; 0 ranks by humour only.
        train_texts: training captions as ``(top, bottom)`` pairs or a prebuilt
            ``NoveltyIndex`` (build it once when reranking many images);
            ``None`` disables the copy penalty.
        scorer: a ``HumorScorer`` (``Run.open(run_dir).humor``), or any object
            with ``score(captions, labels) -> array``.
        seed: orders equal scores; the same seed gives the same result.
        safety: a ``SafetyFilter``; default ``dank.safety.default_filter()``.

    Returns:
        Up to ``k`` ``RankedCaption``s, best first, without duplicate texts or
        captions the safety filter flags.

    Raises:
        DankError: ``k`` < 1, a negative weight, or no scorer.
    """
    from dank.safety import default_filter

    if k < 1:
        raise DankError(f"rerank needs k >= 1, got {k}")
    if novelty_weight < 0:
        raise DankError(f"novelty weight must be >= 0, got {novelty_weight}")
    if scorer is None:
        raise DankError(
            "rerank needs a humour scorer; train one with `dank train humor`"
        )
    safety = safety or default_filter()
    seen, kept = set(), []
    for top, bottom in candidates:
        key = text.caption_key(top, bottom)
        if key in seen or safety.is_flagged(top, bottom):
            continue
        seen.add(key)
        kept.append((top, bottom))
    if not kept:
        return []
    index = train_texts
    if index is not None and not isinstance(index, NoveltyIndex):
        index = NoveltyIndex(index)
    humor = scorer.score(kept, template_label)
    ranked = []
    for (top, bottom), h in zip(kept, humor):
        copied = index.copied(top, bottom) if index is not None else 0.0
        ranked.append(
            RankedCaption(
                top, bottom, float(h) - novelty_weight * copied, float(h), copied
            )
        )
    ranked.sort(
        key=lambda r: (-r.score, splits.hash01(text.caption_key(r.top, r.bottom), seed))
    )
    return ranked[:k]
