"""Caption text: normalisation, the paper's tokenizer, the filtering rule.

A caption is a (top, bottom) pair. It becomes one token sequence::

    top "Day 20 of quarantine", bottom ""   ->
    <s> day 20 of quarantine <sep> <emp> </s>

``<sep>`` marks the boundary the paper lacked, ``<emp>`` stands for an empty box.

Filtering rule (``check_caption``), applied in this order; the first that
matches names the reason a caption is dropped:

* ``empty``: neither box has a word token (``[\\w']+``) after cleaning; this
  covers blank, whitespace-only, emoji-only and punctuation-only captions
  (shorter than one word).
* ``too_long``: more than ``MAX_CAPTION_TOKENS`` (24) tokens over both boxes
  together, special tokens not counted. The paper decoded up to 25 tokens.
* ``non_english``: a cheap two-part test. (a) Fewer than 90% of the letters are
  ASCII letters (catches Cyrillic, Greek, CJK, accented-heavy text), or (b) the
  caption has at least two function words from a small Spanish/Portuguese/
  French/German/Italian list and more of those than English function words.
  It will miss some foreign captions and keep none written in other scripts.

Emoji, other pictographic symbols and invisible control/format characters are
removed during normalisation (they are not words and the paper's regex drops
them anyway).
"""

import re
import unicodedata

from dank.core import constants

MAX_CAPTION_TOKENS = 24  # Tokens over both boxes, specials excluded.
MIN_ASCII_LETTER_SHARE = 0.9  # Below this share of ASCII letters: non-English.

_TOKEN_RE = re.compile(constants.TOKEN_PATTERN)
_WORD_RE = re.compile(r"[\w']+")
_LETTER_OR_DIGIT_RE = re.compile(r"\w")
_SPACE_RE = re.compile(r"\s+")
# Typographic quotes and dashes to their ASCII forms, so "don’t" == "don't".
_ASCII_FORMS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)
# No space before these when tokens are joined back into text.
_ATTACH_LEFT = set(".,!?:;%)")
_ATTACH_RIGHT = set("(")

_ENGLISH = frozenset(
    (
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "this",
        "that",
        "these",
        "those",
        "not",
        "no",
        "when",
        "what",
        "why",
        "how",
        "who",
        "me",
        "him",
        "them",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "will",
        "would",
        "can",
        "just",
        "so",
        "if",
        "like",
        "all",
        "get",
        "got",
        "when",
    )
)
_FOREIGN = (
    frozenset(
        (
            "que",
            "el",
            "los",
            "las",
            "del",
            "por",
            "para",
            "con",
            "una",
            "uno",
            "pero",
            "cuando",
            "porque",
            "como",
            "esta",
            "est",
            "muy",
            "tambien",
            "ella",
            "ellos",
            "nosotros",
            "soy",
            "eres",
            "hay",
            "todo",
            "nada",
            "le",
            "les",
            "du",
            "des",
            "une",
            "est",
            "pas",
            "avec",
            "pour",
            "mais",
            "qui",
            "sont",
            "dans",
            "je",
            "tu",
            "il",
            "nous",
            "vous",
            "ils",
            "der",
            "die",
            "das",
            "und",
            "nicht",
            "ist",
            "ich",
            "sie",
            "mit",
            "auf",
            "ein",
            "eine",
            "wenn",
            "aber",
            "che",
            "non",
            "sono",
            "della",
            "perche",
            "questo",
            "quando",
            "sei",
            "ho",
            "mas",
            "ou",
            "nao",
            "voce",
            "isso",
        )
    )
    - _ENGLISH
)


def _keep_char(ch):
    """False for emoji/pictographs (So) and control/format/private characters."""
    category = unicodedata.category(ch)
    if category == "So" or (category == "Sk" and not ch.isascii()):
        return False  # Emoji, pictographs, skin-tone modifiers.
    if "\ufe00" <= ch <= "\ufe0f":
        return False  # Emoji variation selectors.
    return not (category[0] == "C" and not ch.isspace())


def normalize(text):
    """Lower-cases, applies NFKC, drops emoji/control characters, collapses spaces.

    Args:
        text: a caption box (``None`` is treated as empty).

    Returns:
        The cleaned text; ``""`` when nothing readable is left.
    """
    text = unicodedata.normalize("NFKC", text or "").translate(_ASCII_FORMS)
    if not (text.isascii() and text.isprintable()):  # Printable ASCII all stays.
        text = "".join(ch for ch in text if _keep_char(ch))
    return _SPACE_RE.sub(" ", text.lower()).strip()


def tokenize(text):
    """Splits ``text`` into tokens with the paper's regex, after ``normalize``."""
    return _TOKEN_RE.findall(normalize(text))


def caption_tokens(top, bottom):
    """Returns ``[<s>, *top or <emp>, <sep>, *bottom or <emp>, </s>]`` for a caption."""
    top_tokens = tokenize(top) or [constants.EMP]
    bottom_tokens = tokenize(bottom) or [constants.EMP]
    return [constants.START, *top_tokens, constants.SEP, *bottom_tokens, constants.END]


def join_tokens(tokens):
    """Joins tokens into readable text: ``["hi", ",", "you"]`` -> "hi, you"."""
    text = ""
    for token in tokens:
        if not text or token in _ATTACH_LEFT or text[-1] in _ATTACH_RIGHT:
            text += token
        else:
            text += " " + token
    return text


def detokenize(tokens):
    """Turns a token sequence back into ``(top, bottom)`` text.

    ``<s>`` and ``<pad>`` are skipped, ``<sep>`` switches from top to bottom,
    ``<emp>`` reads as an empty box and ``</s>`` ends the caption. A second
    ``<sep>`` is treated as a space, since a meme here has two boxes.

    Args:
        tokens: token strings, e.g. from ``Vocabulary.decode``.

    Returns:
        A ``(top, bottom)`` pair of strings.
    """
    boxes = [[], []]
    box = 0
    for token in tokens:
        if token == constants.END:
            break
        if token in (constants.START, constants.PAD, constants.EMP):
            continue
        if token == constants.SEP:
            box = 1
            continue
        boxes[box].append(token)
    return join_tokens(boxes[0]), join_tokens(boxes[1])


def _is_non_english(text):
    letters = [ch for ch in text if ch.isalpha()]
    if letters:
        ascii_letters = sum(1 for ch in letters if ch.isascii())
        if ascii_letters / len(letters) < MIN_ASCII_LETTER_SHARE:
            return True
    words = _WORD_RE.findall(text)
    foreign = sum(1 for w in words if w in _FOREIGN)
    english = sum(1 for w in words if w in _ENGLISH)
    return foreign >= 2 and foreign > english


def check_caption(top, bottom):
    """Cleans a caption and applies the filtering rule (see the module docstring).

    Args:
        top: raw top text.
        bottom: raw bottom text.

    Returns:
        ``(top, bottom, reason)``: the normalised boxes and ``None`` when the
        caption is kept, else the name of the rule that dropped it.
    """
    top, bottom = normalize(top), normalize(bottom)
    both = f"{top} {bottom}"
    if not _LETTER_OR_DIGIT_RE.search(both):
        return top, bottom, "empty"
    if (
        len(_TOKEN_RE.findall(top)) + len(_TOKEN_RE.findall(bottom))
        > MAX_CAPTION_TOKENS
    ):
        return top, bottom, "too_long"
    if _is_non_english(both):
        return top, bottom, "non_english"
    return top, bottom, None


def caption_key(top, bottom):
    """The normalised text used for duplicate detection and split hashing."""
    return " ".join(tokenize(top)) + " | " + " ".join(tokenize(bottom))
