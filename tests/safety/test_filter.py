"""The generation filter catches listed terms in disguise, and spares harmless words."""

import pytest

from dank.safety.filter import (
    SafetyFilter,
    default_filter,
    load_lexicon,
    normalise_words,
)


@pytest.fixture(scope="module")
def safety():
    return default_filter()


@pytest.mark.parametrize(
    "top, bottom",
    [
        ("what the fuck", ""),  # Plain.
        ("WHAT THE FUCK", ""),  # Any case.
        ("what the FuCk", ""),
        ("what the fuuuuuuck", ""),  # Repeated letters.
        ("this is bullshiiit", ""),
        ("what the sh1t", ""),  # Leetspeak.
        ("you @sshole", ""),
        ("what a b!tch", ""),
        ("$hit happens", ""),
        ("that is shit!", ""),  # Trailing punctuation is not leet.
        ("f u c k", "this"),  # Spelt out.
        ("when you say fu", "ck"),  # Split across top and bottom.
        ("one does not simply", "blow job"),  # Multi-word term.
    ],
)
def test_flags_disguised_terms(safety, top, bottom):
    assert safety.is_flagged(top, bottom), (top, bottom)


@pytest.mark.parametrize(
    "top, bottom",
    [
        ("first class problems", "in scunthorpe"),  # Substrings of flagged terms.
        ("grab a cocktail", "at the cockpit"),
        ("assistant manager", "passes the assessment"),
        ("as you wish", "shiitake mushrooms"),
        ("dickens was a classic", "by charles"),
        ("i am the therapist", "of the shitake"),
        ("title", "cucumber"),
        ("pen is mightier", "than the sword"),
        ("", ""),
        ("🙂 ünïcödé", "日本語"),
    ],
)
def test_harmless_captions_pass(safety, top, bottom):
    assert safety.check(top, bottom) == [], (top, bottom)


def test_flag_names_category_and_term(safety):
    flags = safety.check("holy fuuuck", "")
    assert [(f.category, f.term) for f in flags] == [("profanity", "fuck")]


def test_lexicon_loads_with_categories():
    pairs = load_lexicon()
    assert {c for c, _ in pairs} == {"slur", "profanity", "sexual"}
    assert all(term for _, term in pairs)


def test_custom_terms_and_normalisation():
    f = SafetyFilter([("test", "bad word"), ("test", "zonk")])
    assert f.is_flagged("a BAD   word", "")
    assert f.is_flagged("z0nk", "")
    assert not f.is_flagged("bad", "words")
    assert normalise_words("Don't 5T0P!") == ["dont", "stop"]
