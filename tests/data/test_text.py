from dank.core import constants
from dank.data import text


def test_normalize_lowercases_and_strips_emoji_and_spaces():
    assert (
        text.normalize("  Don\u2019t  STOP\u00a0me \U0001f602\ufe0f ")
        == "don't stop me"
    )


def test_normalize_keeps_every_printable_ascii_character_and_drops_controls():
    """The printable-ASCII shortcut gives what the per-character filter gives."""
    printable = "".join(chr(i) for i in range(32, 127))
    assert text.normalize(printable) == "".join(
        ch for ch in printable.lower() if text._keep_char(ch)
    ).strip()
    assert text.normalize(printable) == printable.lower().strip()
    assert text.normalize("Bell\x07 and\ttab\x00") == "bell and tab"


def test_tokenize_uses_the_paper_regex():
    assert text.tokenize("Y U NO, call me?!") == [
        "y",
        "u",
        "no",
        ",",
        "call",
        "me",
        "?",
        "!",
    ]


def test_caption_tokens_mark_empty_boxes():
    assert text.caption_tokens("One does", "") == [
        constants.START,
        "one",
        "does",
        constants.SEP,
        constants.EMP,
        constants.END,
    ]


def test_detokenize_joins_punctuation_and_stops_at_end():
    tokens = [
        "<s>",
        "don't",
        "stop",
        ",",
        "me",
        "!",
        "<sep>",
        "(",
        "ok",
        ")",
        "</s>",
        "x",
    ]
    assert text.detokenize(tokens) == ("don't stop, me!", "(ok)")
    assert text.detokenize(["<s>", "<emp>", "<sep>", "hi", "</s>"]) == ("", "hi")


def test_round_trip_through_tokens():
    top, bottom = text.detokenize(text.caption_tokens("I'm done.", "Or am I?"))
    assert (top, bottom) == ("i'm done.", "or am i?")


def test_check_caption_reasons():
    assert text.check_caption("", "  ")[2] == "empty"
    assert text.check_caption("\U0001f602", "!!")[2] == "empty"
    assert text.check_caption("word " * 20, "word " * 5)[2] == "too_long"
    assert text.check_caption("привет мир", "как дела")[2] == "non_english"
    assert text.check_caption("cuando el perro", "que es para mi")[2] == "non_english"
    assert text.check_caption("One does not simply", "walk into Mordor") == (
        "one does not simply",
        "walk into mordor",
        None,
    )
