"""Captions as compared word sequences, their n-grams, and the containment test.

A caption is compared as the build's own tokens (``dank.data.text.tokenize``),
with ``<sep>`` between the boxes::

    top "One does not simply", bottom "walk into Mordor"  ->
    one does not simply <sep> walk into mordor

An empty box contributes no words (no ``<emp>``), so the separator still says
which box a word is in. The metrics (``dank.metrics.text``: BLEU, distinct-n,
novelty) and the humour reranker's copy test (``dank.models.humor.rerank``)
both read captions this way, so they live here, below both.
"""

import collections

import numpy as np

from dank.core import constants
from dank.data.text import tokenize

SEP = constants.SEP


def caption_sequence(top, bottom):
    """The compared word sequence: ``top words <sep> bottom words``."""
    return [*tokenize(top), SEP, *tokenize(bottom)]


def visible_words(top, bottom):
    """The words a drawn caption shows; ``<sep>`` only when both boxes have words."""
    top_words, bottom_words = tokenize(top), tokenize(bottom)
    if top_words and bottom_words:
        return [*top_words, SEP, *bottom_words]
    return top_words or bottom_words


def ngrams(words, n):
    """The list of n-grams (tuples) of ``words``, in order."""
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


class ContainmentIndex:
    """Answers "is this word sequence inside some training caption?" quickly.

    Each training caption is kept as one space-joined string, and every word
    points to the captions that contain it. A query is checked only against the
    captions of its rarest word (a whole-word substring test on those), so a
    lookup costs a few hundred string searches instead of one per training
    caption (59k on the starter set).

    Args:
        sequences: word sequences of the training captions
            (``caption_sequence``).
    """

    def __init__(self, sequences):
        self._texts = []
        postings = collections.defaultdict(list)
        for i, words in enumerate(sequences):
            self._texts.append(" " + " ".join(words) + " ")
            for word in set(words):
                postings[word].append(i)
        self._postings = {w: np.asarray(ids, np.int32) for w, ids in postings.items()}

    def __len__(self):
        return len(self._texts)

    def contains(self, words):
        """True when ``words`` occur consecutively inside a training caption."""
        if not words:
            return False
        candidates = None
        for word in set(words):
            ids = self._postings.get(word)
            if ids is None:
                return False  # A word no training caption has.
            if candidates is None or len(ids) < len(candidates):
                candidates = ids
        needle = " " + " ".join(words) + " "
        return any(needle in self._texts[i] for i in candidates)
