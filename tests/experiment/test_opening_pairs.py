"""The paper's 105 (template, caption-opening) pairs, rebuilt from a test split."""

import math
import random

import keras
import numpy as np
import pytest

from dank.apps.cli import main
from dank.apps.reproduce.protocol import (
    N_PAIRS,
    build_pairs,
    opening_pairs,
    protocol_perplexity,
    template_opening,
)
from dank.core import constants
from dank.core.errors import DankError
from dank.data.catalogue import Catalogue, Template


def catalogue(n):
    return Catalogue(
        Template(label=i, id=f"t{i}", name=f"Template {i}") for i in range(n)
    )


def captions(label, tops):
    return [{"label": label, "top": top, "bottom": "whatever"} for top in tops]


def test_opening_keeps_the_longest_well_shared_prefix():
    tops = [
        t.split()
        for t in (
            "one does not simply walk",
            "one does not simply pass",
            "one does not simply",
            "one does rarely",
        )
    ]
    assert template_opening(tops) == (("one", "does", "not", "simply"), 3)
    tops = [
        t.split()
        for t in (
            "when you see it",
            "when you wake up",
            "when you forget",
            "when my cat",
        )
    ]
    assert template_opening(tops) == (("when", "you"), 3)
    # Ties go to the alphabetically first opening; one caption is not enough.
    assert template_opening([["b", "a"], ["a", "b"]]) == (None, 0)
    assert template_opening([["b", "a"]] * 2 + [["a", "b"]] * 2) == (("a", "b"), 2)


def test_pairs_rank_by_support_one_per_template():
    rows = (
        captions(0, ["y u no call", "y u no write", "y u no sleep"])
        + captions(1, ["brace yourselves exams"] * 4)
        + captions(2, ["", "lonely caption", "other words"])  # No pair.
        + captions(3, ["Y U NO, FRIEND?", "y u no"])
    )
    pairs = opening_pairs(rows, catalogue(4))
    assert [(p["label"], p["text"], p["support"]) for p in pairs] == [
        (1, "brace yourselves exams", 4),
        (0, "y u no", 3),
        (3, "y u no", 2),  # Tokenised as the build does: case and comma fall off.
    ]
    assert pairs[0]["template_id"] == "t1" and pairs[0]["template"] == "Template 1"


def test_a_big_build_yields_exactly_105_pairs_deterministically():
    rng = random.Random(0)
    words = ["cat", "dog", "when", "you", "my", "boss", "code", "runs", "why"]
    rows = []
    for label in range(130):
        opening = f"catch{label} phrase"
        rows += captions(
            label, [f"{opening} {rng.choice(words)}" for _ in range(2 + label % 7)]
        )
        rows += captions(label, [" ".join(rng.choices(words, k=4)) for _ in range(3)])
    pairs = opening_pairs(rows, catalogue(130))
    assert len(pairs) == N_PAIRS == 105
    assert len({p["label"] for p in pairs}) == 105
    supports = [p["support"] for p in pairs]
    assert supports == sorted(supports, reverse=True)
    rng.shuffle(rows)  # Order of the split does not matter.
    assert opening_pairs(rows, catalogue(130)) == pairs


def test_a_small_build_says_how_many_pairs_it_made(tiny_data, capsys):
    pairs = build_pairs(tiny_data)
    assert 1 <= len(pairs) < N_PAIRS
    assert build_pairs(tiny_data) == pairs
    assert main(["experiment", "pairs", "--data", str(tiny_data)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{len(pairs)} of 105 pairs from the test split of {tiny_data}"
    assert len(out) == len(pairs) + 1


def test_no_pairs_is_a_clear_error(tmp_path, monkeypatch):
    import dank.data.pipeline as pipeline

    monkeypatch.setattr(
        pipeline,
        "load_captions",
        lambda d, s: captions(0, ["all different", "words here"]),
    )
    monkeypatch.setattr(pipeline, "load_catalogue", lambda d: catalogue(1))
    with pytest.raises(DankError, match="too small for the paper's protocol"):
        build_pairs(tmp_path)


def test_protocol_perplexity_scores_only_the_openings(tiny_run, tiny_data):
    from dank.models.run import Run

    pairs = build_pairs(tiny_data)
    run = Run.open(tiny_run)
    model, vocab = run.captioner(), run.vocab
    result = protocol_perplexity(model, vocab, pairs)
    assert result["n_pairs"] == result["n"] == len(pairs)
    assert result["tokens"] == sum(len(p["opening"]) for p in pairs)
    assert result["words"] == sum(len(p["text"].split()) for p in pairs)
    assert math.isclose(
        result["perplexity"], math.exp(result["nll"] / result["tokens"])
    )
    # The NLL is the model's for the opening's tokens after <s>, nothing more.
    pair = pairs[0]
    ids = vocab.encode([constants.START, *pair["opening"]])
    logits = model(
        {
            "tokens": np.array([ids[:-1]], "int32"),
            "label": np.array([pair["label"]], "int32"),
        },
        training=False,
    )
    logp = np.asarray(keras.ops.log_softmax(logits, axis=-1))[0]
    expected = -sum(logp[i, t] for i, t in enumerate(ids[1:]))
    one = protocol_perplexity(model, vocab, [pair])
    assert math.isclose(one["nll"], expected, rel_tol=1e-4)
    assert one["tokens"] == len(pair["opening"])
