"""The generation-time filter: every caption passes ``SafetyFilter.check``.

Matching works on whole words after normalisation, which is what keeps harmless
words that merely contain a listed term ("class", "Scunthorpe", "cocktail")
from being flagged. A listed term is caught:

* in any case ("FUCK");
* with repeated letters ("fuuuuck"): runs are squeezed, but only when the word
  really has a run, so "as" never matches a squeezed "ass";
* in leetspeak ("sh1t", "@ss", "b!tch");
* spelt out letter by letter ("f u c k");
* split across the top and bottom boxes ("fu" / "ck").

The module needs only the standard library: the ONNX export copies it (as
``safety_filter.py``) and ``lexicon.txt`` beside its numpy runner.
"""

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
        "+": "t",
    }
)
WORD = re.compile(r"[a-z0-9@$!|+']+")


def _squeeze(word):
    """Collapses every run of a repeated letter to one letter."""
    return re.sub(r"(.)\1+", r"\1", word)


def normalise_words(text):
    """Returns the lower-cased, de-leeted words of ``text``."""
    words = []
    for raw in WORD.findall(text.lower()):
        # Trailing "!" is punctuation, not a leet "i" ("shit!" is "shit").
        word = raw.rstrip("!|+'").translate(LEET).replace("'", "")
        if word:
            words.append(word)
    return words


@dataclass(frozen=True)
class Flag:
    """One match: the lexicon category, the listed term and the text that matched."""

    category: str
    term: str
    matched: str


class SafetyFilter:
    """Flags captions that contain lexicon terms.

    Args:
        terms: ``(category, term)`` pairs; terms may have several words.
    """

    def __init__(self, terms):
        self.terms = tuple(terms)
        self._exact = {}  # word tuple -> (category, term)
        self._squeezed = {}  # squeezed single word -> (category, term)
        for category, term in self.terms:
            words = tuple(normalise_words(term))
            self._exact[words] = (category, term)
            if len(words) == 1:
                self._squeezed.setdefault(_squeeze(words[0]), (category, term))
        self._max_words = max((len(w) for w in self._exact), default=1)

    def _match_word(self, word):
        hit = self._exact.get((word,))
        if hit is None and _squeeze(word) != word:
            hit = self._squeezed.get(_squeeze(word))
        return hit

    def check(self, top, bottom=""):
        """Returns the list of ``Flag``s for a caption (empty when it is clean)."""
        top_words, bottom_words = normalise_words(top), normalise_words(bottom)
        words = top_words + bottom_words
        candidates = list(words)
        # Multi-word terms as consecutive words.
        for n in range(2, self._max_words + 1):
            candidates += [
                " ".join(words[i : i + n]) for i in range(len(words) - n + 1)
            ]
        # A word split across the two boxes.
        if top_words and bottom_words:
            candidates.append(top_words[-1] + bottom_words[0])
        # Letters spelt out one by one: "f u c k".
        run = []
        for word in [*words, ""]:
            if len(word) == 1:
                run.append(word)
                continue
            if len(run) > 2:
                candidates.append("".join(run))
            run = []
        flags = []
        for candidate in candidates:
            if " " in candidate:
                hit = self._exact.get(tuple(candidate.split()))
            else:
                hit = self._match_word(candidate)
            if hit is not None:
                flags.append(Flag(hit[0], hit[1], candidate))
        return flags

    def is_flagged(self, top, bottom=""):
        """True when the caption contains any lexicon term."""
        return bool(self.check(top, bottom))


def _bundled(name):
    """A data file of this package, or the file beside this module when it was
    copied out of the package (an ONNX export)."""
    if __package__:
        return resources.files(__package__) / name
    return Path(__file__).with_name(name)


def load_lexicon(path=None):
    """Reads ``(category, term)`` pairs from ``path`` (default: the bundled lexicon)."""
    if path is None:
        text = _bundled("lexicon.txt").read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            category, _, term = line.partition("\t")
            pairs.append((category.strip(), term.strip()))
    return pairs


@functools.cache
def default_filter():
    """The filter over the bundled lexicon (built once)."""
    return SafetyFilter(load_lexicon())
