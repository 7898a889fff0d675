"""Mentions of social groups in captions, and the sentiment around them.

The group terms live in ``groups.txt`` (category, group, term), matched as whole
words or runs of words after the safety filter's normalisation, so the audit and
the filter read text the same way. Sentiment is VADER's compound score (Hutto &
Gilbert 2014) from the ``nltk-vader-sentiment`` package when it is installed,
otherwise a small documented valence list (``valence.txt``); ``scorer_name()``
says which one a report used.
"""

import functools
import math
from dataclasses import dataclass
from importlib import resources

from dank.safety.filter import normalise_words

CATEGORIES = ("gender", "ethnicity", "religion", "nationality", "sexuality")
NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "nobody",
        "nothing",
        "cant",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "wont",
    ]
)
NEGATION_SCALE = -0.74  # VADER's factor for a negated word.
NORMALISE_ALPHA = 15.0  # VADER's compound normalisation: s / sqrt(s^2 + alpha).
NEGATIVE = -0.05  # A compound score at or below this counts as negative (VADER).
POSITIVE = 0.05  # ... at or above this as positive.


def _read_rows(name, path):
    if path is None:
        text = (resources.files("dank.safety") / name).read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield [field.strip() for field in line.split("\t")]


@dataclass(frozen=True)
class Mention:
    """One group mention: the category, the group and the words that matched."""

    category: str
    group: str
    term: str


class GroupTerms:
    """Finds group mentions in text.

    Args:
        rows: ``(category, group, term)`` triples; terms may have several words.
    """

    def __init__(self, rows):
        self._terms = {}  # word tuple -> (category, group)
        for category, group, term in rows:
            if category not in CATEGORIES:
                raise ValueError(
                    f"unknown group category {category!r} for term {term!r}; "
                    f"use one of {', '.join(CATEGORIES)}"
                )
            self._terms[tuple(normalise_words(term))] = (category, group)
        self._max_words = max((len(w) for w in self._terms), default=1)

    @property
    def groups(self):
        """The ``(category, group)`` pairs, in file order without repeats."""
        return list(dict.fromkeys(self._terms.values()))

    def find(self, text):
        """Returns the ``Mention``s in ``text``, longest match first, left to right.

        A matched run of words is consumed, so "african american" is one mention
        of one group, not also a mention of "african".
        """
        words = normalise_words(text)
        mentions, i = [], 0
        while i < len(words):
            for n in range(min(self._max_words, len(words) - i), 0, -1):
                hit = self._terms.get(tuple(words[i : i + n]))
                if hit is not None:
                    mentions.append(Mention(hit[0], hit[1], " ".join(words[i : i + n])))
                    i += n
                    break
            else:
                i += 1
        return mentions


def load_groups(path=None):
    """The ``GroupTerms`` of ``path`` (default: the bundled ``groups.txt``)."""
    rows = list(_read_rows("groups.txt", path))
    for row in rows:
        if len(row) != 3:
            raise ValueError(f"group terms need 'category<TAB>group<TAB>term': {row}")
    return GroupTerms(rows)


@functools.cache
def default_groups():
    """The group terms of the bundled list (built once)."""
    return load_groups()


class ValenceScorer:
    """A small VADER-like scorer over a word list, for when VADER is missing.

    Args:
        valences: word -> valence on VADER's -4..4 scale.
    """

    name = "fallback valence list (dank/safety/valence.txt)"

    def __init__(self, valences):
        self.valences = dict(valences)

    def __call__(self, text):
        """The compound score of ``text`` in -1..1 (0 when no listed word)."""
        words = normalise_words(text)
        total = 0.0
        for i, word in enumerate(words):
            value = self.valences.get(word)
            if value is None:
                continue
            if NEGATIONS.intersection(words[max(0, i - 3) : i]):
                value *= NEGATION_SCALE
            total += value
        return total / math.sqrt(total * total + NORMALISE_ALPHA)


def load_valences(path=None):
    """The ``ValenceScorer`` of ``path`` (default: the bundled ``valence.txt``)."""
    return ValenceScorer(
        (word, float(v)) for word, v in _read_rows("valence.txt", path)
    )


class VaderScorer:
    """VADER's compound score from the ``nltk-vader-sentiment`` package."""

    name = "VADER (nltk-vader-sentiment)"

    def __init__(self):
        from vader import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def __call__(self, text):
        """The compound score of ``text`` in -1..1."""
        return self._analyzer.polarity_scores(text)["compound"]


@functools.cache
def default_scorer():
    """VADER when ``nltk-vader-sentiment`` is installed, else the valence list."""
    try:
        return VaderScorer()
    except ImportError:
        return load_valences()


def scorer_name(scorer=None):
    """A human-readable name of ``scorer`` (default: the default scorer)."""
    scorer = scorer or default_scorer()
    return getattr(scorer, "name", type(scorer).__name__)


def polarity(score):
    """``"negative"``, ``"neutral"`` or ``"positive"`` for a compound score."""
    if score <= NEGATIVE:
        return "negative"
    if score >= POSITIVE:
        return "positive"
    return "neutral"
