"""Text metrics of generated captions: corpus BLEU, distinct-n and novelty.

Captions are compared as word sequences of the build's own normalisation and
tokeniser (``dank.data.text.tokenize``), with ``<sep>`` between the boxes::

    top "One does not simply", bottom "walk into Mordor"  ->
    one does not simply <sep> walk into mordor

An empty box contributes no words (no ``<emp>``), so the separator still says
which box a word is in.

* **BLEU-n** (``corpus_bleu``): Papineni et al.'s corpus BLEU with uniform
  weights over 1..n-grams. Each generated caption is scored against *all* the
  reference captions of its template: an n-gram's count is clipped to its
  largest count in any one reference; clipped matches and candidate n-grams are
  summed over the corpus before the precisions are taken. The brevity penalty
  uses, per caption, the reference length closest to the caption's (ties: the
  shorter), summed over the corpus. No smoothing: a corpus with no matching
  n-gram of some order scores 0 for that BLEU-n and above, as in the original
  metric and ``nltk``'s ``corpus_bleu`` without a smoothing function (at corpus
  level a zero count means there really is no overlap). ``<sep>`` counts as a
  word, so n-grams do not run across the two boxes unnoticed.
* **distinct-n** (``distinct_n``): unique n-grams / all n-grams over every
  generated caption together (Li et al., 2016).
* **novelty** (``ContainmentIndex``, ``novelty``): the share of generated
  captions whose word sequence does not occur, as whole consecutive words,
  inside any training caption: the paper's "percent in data", inverted. A
  caption with one empty box is looked up by its visible words alone, so
  "one does not simply" (no bottom) is inside the training caption above.
"""

import collections
import math

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


def _max_counts(references, max_n):
    """Per order, each n-gram's largest count in any one reference."""
    best = [collections.Counter() for _ in range(max_n)]
    for ref in references:
        for n in range(1, max_n + 1):
            for gram, count in collections.Counter(ngrams(ref, n)).items():
                if count > best[n - 1][gram]:
                    best[n - 1][gram] = count
    return best


def _closest_length(length, ref_lengths):
    return min(ref_lengths, key=lambda r: (abs(r - length), r))


def corpus_bleu(hypotheses, references, max_n=4):
    """Corpus BLEU-1..``max_n`` (see the module docstring).

    Args:
        hypotheses: word sequences of the generated captions.
        references: one reference set per hypothesis: a list of word
            sequences. Hypotheses of one template may share the same list
            object; its n-gram table is then built once.
        max_n: the highest n-gram order.

    Returns:
        ``{"bleu1": ..., "bleu<max_n>": ...}``, floats in [0, 1].

    Raises:
        ValueError: the lists differ in length or a reference set is empty.
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} reference sets"
        )
    matches, totals = np.zeros(max_n), np.zeros(max_n)
    hyp_length = ref_length = 0
    tables = {}  # id(reference set) -> (max counts, lengths)
    for hyp, refs in zip(hypotheses, references):
        if not refs:
            raise ValueError("every hypothesis needs at least one reference")
        key = id(refs)
        if key not in tables:
            tables[key] = (_max_counts(refs, max_n), [len(r) for r in refs])
        best, lengths = tables[key]
        hyp_length += len(hyp)
        ref_length += _closest_length(len(hyp), lengths)
        for n in range(1, max_n + 1):
            counts = collections.Counter(ngrams(hyp, n))
            matches[n - 1] += sum(min(c, best[n - 1][g]) for g, c in counts.items())
            totals[n - 1] += sum(counts.values())
    if hyp_length == 0:
        brevity = 0.0
    elif hyp_length > ref_length:
        brevity = 1.0
    else:
        brevity = math.exp(1.0 - ref_length / hyp_length)
    out, log_sum = {}, 0.0
    for n in range(1, max_n + 1):
        if matches[n - 1] == 0 or log_sum == -math.inf:
            log_sum = -math.inf
            out[f"bleu{n}"] = 0.0
            continue
        log_sum += math.log(matches[n - 1] / totals[n - 1])
        out[f"bleu{n}"] = brevity * math.exp(log_sum / n)
    return out


def distinct_n(sequences, n):
    """Unique n-grams / all n-grams over ``sequences`` (0.0 when there are none)."""
    grams = [g for seq in sequences for g in ngrams(seq, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


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


def novelty(captions, index):
    """Share of ``(top, bottom)`` captions not found inside a training caption.

    Args:
        captions: generated ``(top, bottom)`` pairs.
        index: a ``ContainmentIndex`` of the training captions.

    Returns:
        A float in [0, 1]; NaN for no captions.
    """
    if not captions:
        return float("nan")
    copied = sum(index.contains(visible_words(t, b)) for t, b in captions)
    return 1.0 - copied / len(captions)
