"""Beam search and the paper's diversity beam against a hand-written table."""

import math

import numpy as np
import pytest
import tensorflow as tf
from decoding_fakes import (
    END,
    MAIN,
    PAD,
    START,
    UNK,
    A,
    B,
    C,
    D,
    FakeModel,
    table,
)

from dank.decoding import DecodeConfig, decode
from dank.decoding.beam import top_k_tokens


def run(probs, batch=1, seed=None, prefix_rows=None, **kwargs):
    model = FakeModel(probs, prefix_rows)
    config = DecodeConfig(**kwargs)
    out = decode(model, model.initial_state(batch), config, seed=seed)
    return out, model


def padded(tokens, max_len):
    return list(tokens) + [PAD] * (max_len - len(tokens))


# Beam widths 1, 2, 3 on MAIN with alpha = 0 (raw log-probabilities).
# K=1 keeps only "a", then "a d" (0.2) beats "a </s>" (0.125).
# K=2 also keeps "b", whose "b </s>" (0.36) wins.
# K=3 also keeps "c"; the pool is the three best of all finished captions.
BEAM_CASES = {
    1: [([A, D, END], 0.5 * 0.4)],
    2: [([B, END], 0.4 * 0.9), ([A, D, END], 0.5 * 0.4)],
    3: [([B, END], 0.4 * 0.9), ([A, D, END], 0.2), ([A, C, END], 0.5 * 0.35)],
}


@pytest.mark.parametrize("k", [1, 2, 3])
def test_beam_exact_outputs_and_scores(k):
    out, _ = run(
        MAIN, method="beam", beam_size=k, num_return=k, max_len=5, length_penalty=0
    )
    expected = BEAM_CASES[k]
    assert out.tokens.shape == (1, k, 5)
    for i, (tokens, prob) in enumerate(expected):
        assert out.tokens[0, i].numpy().tolist() == padded(tokens, 5)
        assert out.lengths[0, i] == len(tokens)
        assert out.scores[0, i].numpy() == pytest.approx(math.log(prob), abs=1e-5)


def test_beam_batch_rows_are_independent():
    out, _ = run(
        MAIN, batch=3, method="beam", beam_size=2, num_return=2, length_penalty=0
    )
    for row in range(3):
        assert out.tokens[row, 0, :2].numpy().tolist() == [B, END]
        assert out.tokens[row, 1, :3].numpy().tolist() == [A, D, END]


def test_beam_reorders_state_with_beams():
    # After the prefix "a c" the model now says "d" (not END): only a decoder
    # that carries each beam's own state sees this override.
    out, _ = run(
        MAIN,
        prefix_rows={(A, C): {D: 1.0}},
        method="beam",
        beam_size=3,
        num_return=3,
        max_len=5,
        length_penalty=0,
    )
    assert out.tokens[0, 2].numpy().tolist() == padded([A, C, D, END], 5)
    assert out.scores[0, 2].numpy() == pytest.approx(math.log(0.175), abs=1e-5)


def test_length_normalisation_changes_the_ranking():
    # alpha = 2: "a d </s>" log(.2)/9 beats "a c </s>" log(.175)/9, and both beat
    # the short "b </s>" log(.36)/4 that wins with alpha = 0.
    out, _ = run(
        MAIN, method="beam", beam_size=2, num_return=2, max_len=5, length_penalty=2.0
    )
    assert out.tokens[0, 0].numpy().tolist() == padded([A, D, END], 5)
    assert out.tokens[0, 1].numpy().tolist() == padded([A, C, END], 5)
    assert out.scores[0, 0].numpy() == pytest.approx(math.log(0.2) / 9, abs=1e-5)
    assert out.scores[0, 1].numpy() == pytest.approx(math.log(0.175) / 9, abs=1e-5)


LOOP = table({START: {A: 1.0}, A: {B: 1.0}, B: {A: 1.0}})


@pytest.mark.parametrize("method", ["greedy", "beam", "diverse"])
def test_max_length_cuts_off_captions_that_never_end(method):
    out, model = run(LOOP, method=method, beam_size=2, max_len=4, length_penalty=0)
    assert out.tokens[0, 0].numpy().tolist() == [A, B, A, B]
    assert out.lengths[0, 0] == 4
    assert out.scores[0, 0].numpy() == pytest.approx(0.0, abs=1e-6)
    assert model.calls == 4


def test_a_cut_off_beam_only_fills_slots_finished_captions_leave():
    probs = table({START: {A: 0.6, B: 0.4}, A: {A: 1.0}, B: {END: 1.0}})
    out, _ = run(
        probs, method="beam", beam_size=2, num_return=2, max_len=3, length_penalty=0
    )
    # "a a a" (0.6) is more likely but never finished: it ranks after "b </s>".
    assert out.tokens[0, 0].numpy().tolist() == [B, END, PAD]
    assert out.tokens[0, 1].numpy().tolist() == [A, A, A]
    assert out.lengths[0].numpy().tolist() == [2, 3]


def test_beam_stops_calling_the_model_once_no_beam_can_improve():
    # Regression for "an end token that never matches": every beam ends by step
    # 3, so a decoder that misses </s> would call the model max_len = 25 times.
    _, model = run(MAIN, method="beam", beam_size=3, num_return=3, max_len=25)
    assert model.calls == 3


def test_top_k_selects_the_largest_not_the_inverted_slice():
    # im2txt's shipped bug: np.argsort(p)[:-k][::-1] drops the k *largest*.
    p = np.array([0.1, 0.5, 0.2, 0.15, 0.05])
    values, ids = top_k_tokens(tf.constant(np.log(p), tf.float32), 2)
    assert ids.numpy().tolist() == [1, 2]
    assert np.allclose(np.exp(values.numpy()), [0.5, 0.2])
    buggy = np.argsort(p)[:-2][::-1]
    assert buggy.tolist() != ids.numpy().tolist()  # The test tells them apart.


@pytest.mark.parametrize("method", ["beam", "diverse"])
def test_beam_methods_never_emit_unk_pad_or_start(method):
    probs = table({START: {UNK: 0.5, PAD: 0.2, START: 0.1, A: 0.1, B: 0.1}})
    out, _ = run(
        probs,
        seed=1,
        method=method,
        beam_size=2,
        num_return=2,
        max_len=3,
        temperature=1.0,
    )
    firsts = sorted(out.tokens[0, :, 0].numpy().tolist())
    assert firsts == [A, B]


def test_beam_keeps_unk_when_asked():
    probs = table({START: {UNK: 0.6, A: 0.4}})
    out, _ = run(probs, method="beam", beam_size=1, suppress_unk=False, max_len=3)
    assert out.tokens[0, 0].numpy().tolist() == [UNK, END, PAD]


def _diverse_expected(temperature, alpha):
    """All finished captions of MAIN under the paper's adjusted probabilities."""

    def adjusted(row):
        q = {w: p ** (1 / temperature) for w, p in row.items() if p > 0}
        total = sum(q.values())
        return {w: v / total for w, v in q.items()}

    rows = {
        t: adjusted({w: MAIN[t, w] for w in range(10)}) for t in (START, A, B, C, D)
    }
    finished = []

    def walk(prefix, logq, last):
        for word, q in rows[last].items():
            if word == END:
                length = len(prefix) + 1
                finished.append((prefix + [END], (logq + math.log(q)) / length**alpha))
            else:
                walk(prefix + [word], logq + math.log(q), word)

    walk([], 0.0, START)
    return sorted(finished, key=lambda f: -f[1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_diverse_beam_exact_when_every_word_is_drawn(seed):
    # Three beams and at most three possible words per step: sampling three
    # without replacement draws them all, so any seed gives the same result,
    # scored with the log of the adjusted probabilities p**(1/T) / Z.
    out, _ = run(
        MAIN,
        seed=seed,
        method="diverse",
        beam_size=3,
        num_return=3,
        max_len=5,
        temperature=2.0,
        length_penalty=0.2,
    )
    expected = _diverse_expected(2.0, 0.2)[:3]
    for i, (tokens, score) in enumerate(expected):
        assert out.tokens[0, i].numpy().tolist() == padded(tokens, 5)
        assert out.scores[0, i].numpy() == pytest.approx(score, abs=1e-5)
        assert out.lengths[0, i] == len(tokens)


def test_diverse_top_words_limits_the_candidates():
    # top_words = 1 keeps only each beam's most likely word: a -> d -> </s>.
    out, _ = run(MAIN, seed=3, method="diverse", beam_size=2, num_return=1, top_words=1)
    assert out.tokens[0, 0, :3].numpy().tolist() == [A, D, END]
    # With one word the adjusted probability is 1 at every step.
    assert out.scores[0, 0].numpy() == pytest.approx(0.0, abs=1e-6)


def test_diverse_samples_rather_than_taking_the_top_words():
    # Four words equally likely after <s>, beam 2: arg-top-k would always take the
    # two lowest ids; sampling draws different pairs for different seeds.
    probs = table({START: {w: 1 / 4 for w in (A, B, C, D)}})
    pairs = set()
    for seed in range(12):
        out, _ = run(
            probs, seed=seed, method="diverse", beam_size=2, num_return=2, max_len=3
        )
        pairs.add(tuple(sorted(out.tokens[0, :, 0].numpy().tolist())))
    assert len(pairs) >= 3
    assert all(len(set(p)) == 2 for p in pairs)  # Without replacement.


def test_diverse_always_suppresses_unk():
    # The paper zeroes <unk> whatever suppress_unk says.
    probs = table({START: {UNK: 0.9, A: 0.1}})
    out, _ = run(
        probs, seed=0, method="diverse", beam_size=2, suppress_unk=False, max_len=3
    )
    assert out.tokens[0, 0].numpy().tolist() == [A, END, PAD]
