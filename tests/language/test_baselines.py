"""Count baselines: proper distributions, template conditioning, shared scoring."""

import math

import pytest

from dank.core.constants import END_ID, SEP_ID, START_ID
from dank.models.ngram import BASELINES, evaluate_baselines, score
from dank.models.ngram.ngram import KneserNeyTrigram, TemplateKneserNey, UnigramModel

V = 30


def _caption(label, words_top, words_bottom, top="", bottom=""):
    return {
        "label": label,
        "tokens": [START_ID, *words_top, SEP_ID, *words_bottom, END_ID],
        "top": top,
        "bottom": bottom,
    }


TRAIN = [
    _caption(0, [10, 11], [12]),
    _caption(0, [10, 11], [13]),
    _caption(0, [10, 14], [12]),
    _caption(1, [20, 21], [22]),
    _caption(1, [20, 21], [23, 24]),
    _caption(1, [10], [22]),
]


@pytest.mark.parametrize(
    "history", [(START_ID, START_ID), (10, 11), (SEP_ID, 12), (7, 8), (START_ID, 10)]
)
def test_kneser_ney_is_a_distribution(history):
    shared = KneserNeyTrigram(V).fit(TRAIN)
    template = TemplateKneserNey(V).fit(TRAIN)
    models = [
        shared.prob,
        lambda w, u, v: template.prob(w, u, v, 0),
        lambda w, u, v: template.prob(w, u, v, 1),
    ]
    for prob in models:
        total = sum(prob(w, *history) for w in range(V))
        assert total == pytest.approx(1.0, abs=1e-9)
        assert all(prob(w, *history) > 0 for w in range(V))


def test_template_conditioning_prefers_the_templates_own_words():
    model = TemplateKneserNey(V).fit(TRAIN)
    shared = KneserNeyTrigram(V).fit(TRAIN)
    first_word_0 = model.prob(10, START_ID, START_ID, 0)
    first_word_1 = model.prob(10, START_ID, START_ID, 1)
    assert first_word_0 > shared.prob(10, START_ID, START_ID) > first_word_1
    held_out = _caption(1, [20, 21], [22])
    assert model.nll(held_out) < shared.nll(held_out)
    unseen_template = _caption(9, [20, 21], [22])
    assert model.nll(unseen_template) == pytest.approx(shared.nll(unseen_template))


def test_unigram_add_one():
    model = UnigramModel(V).fit(TRAIN)
    caption = _caption(0, [10], [29])
    n = sum(len(c["tokens"]) - 1 for c in TRAIN)
    expected = -(
        math.log(5 / (n + V))
        + math.log(7 / (n + V))
        + math.log(1 / (n + V))
        + math.log(7 / (n + V))
    )
    assert model.nll(caption) == pytest.approx(expected)


def test_score_counts_tokens_and_words():
    caption = _caption(0, [10, 11], [12], top="One  Does", bottom="simply")
    result = score(UnigramModel(V).fit(TRAIN), [caption])
    assert result["tokens"] == 5 and result["words"] == 4 and result["n"] == 1
    assert result["perplexity_per_word"] == pytest.approx(math.exp(result["nll"] / 4))


def test_on_a_tiny_build_template_kn_beats_the_others(tiny_data):
    results = evaluate_baselines(tiny_data)
    assert set(results) == set(BASELINES)
    ppl = {name: r["perplexity_per_word"] for name, r in results.items()}
    assert ppl["kn_trigram_template"] < ppl["kn_trigram"] < ppl["unigram"]
