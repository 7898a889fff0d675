"""The numpy decoders of ``ort_runner`` against ``dank.decoding`` on a fake model.

The fake step model is a hand-written next-token table plus a state that counts
the tokens emitted so far (repeats are penalised), so beam reordering of the
state matters. The same float32 arithmetic runs in TensorFlow and in numpy,
but their log-softmax kernels may round differently in the last bits, so every
method must give the same tokens for the same seed wherever no choice was
closer than that rounding (``decoder_parity``).
"""

import subprocess
import sys

import numpy as np
import pytest
from decoder_parity import Decisions, disagreements, noise_margins

from dank.apps.export import ort_runner
from dank.core import constants

VOCAB = 14
IDS = {"pad": 0, "unk": 1, "start": 2, "end": 3, "sep": 4, "emp": 5}


def _table(seed=7):
    rng = np.random.default_rng(seed)
    table = rng.normal(0.0, 2.0, (VOCAB, VOCAB)).astype(np.float32)
    table[:, constants.END_ID] += 1.0  # Most captions end before max_len.
    return table


TABLE = _table()
CONDITION = np.random.default_rng(3).normal(0, 1, (3, VOCAB)).astype(np.float32)
# TensorFlow's and numpy's float32 log-softmax of the same logits: a few ulps
# apart at most (logits here are at most ~10).
ROUNDING = 1e-5


def np_step(tokens, state):
    (counts,) = state
    logits = TABLE[tokens] + counts[:, :VOCAB] * np.float32(-1.5) + counts[:, VOCAB:]
    counts = counts.copy()
    counts[np.arange(len(tokens)), tokens] += np.float32(1)
    return logits, [counts]


def tf_step(tokens, state):
    import tensorflow as tf

    (counts,) = state
    logits = (
        tf.gather(TABLE, tokens)
        + counts[:, :VOCAB] * np.float32(-1.5)
        + counts[:, VOCAB:]
    )
    hist = counts[:, :VOCAB] + tf.one_hot(tokens, VOCAB, dtype=tf.float32)
    return logits, (tf.concat([hist, counts[:, VOCAB:]], axis=1),)


def initial_state():
    return np.concatenate([np.zeros_like(CONDITION), CONDITION], axis=1)


SAMPLED = [
    dict(method="diverse", beam_size=3, max_len=8, num_return=3, temperature=1.3),
    dict(method="diverse", beam_size=2, max_len=8, top_words=5, temperature=2.4),
    dict(method="sample", max_len=8, num_return=3, temperature=1.0),
    dict(method="sample", max_len=8, num_return=2, top_k=4, top_p=0.8),
]
CASES = [
    (dict(method="greedy", max_len=8), 0),
    (dict(method="greedy", max_len=8, suppress_unk=False, length_penalty=0.0), 0),
    (dict(method="beam", beam_size=1, max_len=8), 0),
    (dict(method="beam", beam_size=3, max_len=8, num_return=3), 0),
    (dict(method="beam", beam_size=4, max_len=6, num_return=2, length_penalty=0.0), 0),
    *[(settings, seed) for settings in SAMPLED for seed in (0, 12345)],
]


@pytest.mark.parametrize(
    ("settings", "seed"),
    CASES,
    ids=lambda c: (
        "-".join(f"{k}={v}" for k, v in c.items())
        if isinstance(c, dict)
        else f"seed={c}"
    ),
)
def test_numpy_decoders_match_tensorflow(settings, seed, monkeypatch):
    import dataclasses

    from dank.decoding import DecodeConfig, decode

    config = DecodeConfig(**settings)
    want = decode(tf_step, (initial_state(),), config, seed=seed)
    decisions = Decisions(VOCAB)
    with decisions.watch(monkeypatch):
        got = ort_runner.decode(
            np_step, [initial_state()], dataclasses.asdict(config), IDS, seed
        )
    decisions.ranked(got.tokens, got.scores)
    clear = decisions.clear(len(CONDITION), noise_margins(ROUNDING, config))
    # Inputs with a choice closer than rounding may differ; no other may, and
    # near ties are rare (one of the 3 inputs in one case, in 1e-5 nats).
    assert clear.sum() >= 2
    assert not disagreements(want.tokens.numpy(), got.tokens, clear).size
    np.testing.assert_array_equal(got.lengths[clear], want.lengths.numpy()[clear])
    np.testing.assert_allclose(
        got.scores[clear], want.scores.numpy()[clear], rtol=1e-5, atol=1e-5
    )
    # The fake model writes real captions: several tokens, ``</s>`` included.
    assert (got.lengths >= 3).any() and (got.tokens == constants.END_ID).any()


def test_gumbel_noise_is_the_same_stream_as_tensorflow():
    from dank.decoding.common import as_seed, gumbel_noise

    for seed, step in [(0, 0), (12345, 3), (2**40 + 7, 17)]:
        want = gumbel_noise([3, 50], as_seed(seed), step).numpy()
        got = ort_runner.gumbel_noise((3, 50), seed, step)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_split_top_bottom_matches_tensorflow():
    from dank.decoding.strings import split_top_bottom

    vocab = [*constants.SPECIAL_TOKENS, "wait", ".", "(", "me", ")", "yes"]
    tokens = np.array(
        [
            [6, 7, 7, 4, 8, 9, 10, 3, 11],
            [11, 5, 4, 11, 4, 6, 3, 0, 0],
            [5, 4, 6, 11, 3, 11, 11, 0, 0],
            [6, 11, 11, 11, 11, 11, 11, 11, 11],
        ],
        np.int32,
    )
    want_top, want_bottom = split_top_bottom(tokens, vocab)
    top, bottom = ort_runner.split_top_bottom(tokens, vocab, IDS)
    assert list(top) == [t.decode() for t in want_top.numpy()]
    assert list(bottom) == [b.decode() for b in want_bottom.numpy()]
    assert top[0] == "wait.." and bottom[0] == "(me)"


def test_runner_imports_neither_tensorflow_nor_keras():
    code = (
        "import sys; import dank.apps.export.ort_runner; "
        "bad = [m for m in ('tensorflow', 'keras', 'tf2onnx') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


class FakeCascade(ort_runner.OnnxCascade):
    """``OnnxCascade`` over the fake step model instead of ONNX sessions."""

    def __init__(self, no_filter=False):  # No export folder to read.
        self.manifest = {
            "decode_config": dict(
                method="sample",
                max_len=8,
                num_return=3,
                temperature=1.0,
                top_k=0,
                top_p=1.0,
                suppress_unk=True,
                length_penalty=0.0,
                beam_size=3,
                top_words=100,
            )
        }
        self.ids = IDS
        self.vocab = [*constants.SPECIAL_TOKENS] + [f"w{i}" for i in range(6, VOCAB)]
        self.safety = None if no_filter else ort_runner.default_filter()

    def initial_state(self, template_weights, image_embedding):
        return [initial_state()]

    def step(self, tokens, state):
        return np_step(tokens, state)


@pytest.mark.parametrize("method", ["sample", "diverse"])
def test_runner_resamples_flagged_captions(method):
    from collections import Counter

    from dank.safety.filter import SafetyFilter

    raw = FakeCascade(no_filter=True).caption(None, None, seed=5, method=method)
    assert list(raw["found"]) == [3, 3, 3]
    words = Counter(
        w
        for t, b in zip(raw["top"].ravel(), raw["bottom"].ravel())
        for w in f"{t} {b}".split()
    )
    banned = SafetyFilter([("profanity", words.most_common(1)[0][0])])
    runner = FakeCascade()
    runner.safety = banned  # A forced lexicon hit on the model's favourite word.
    got = runner.caption(None, None, seed=5, method=method)
    shown = [
        (got["top"][r, s], got["bottom"][r, s])
        for r in range(3)
        for s in range(got["found"][r])
    ]
    assert any(
        banned.is_flagged(t, b)
        for t, b in zip(raw["top"].ravel(), raw["bottom"].ravel())
    )
    assert shown and not any(banned.is_flagged(t, b) for t, b in shown)
    # Slots past ``found`` are empty; tokens and text agree in the others.
    top, bottom = ort_runner.split_top_bottom(got["tokens"], runner.vocab, IDS)
    np.testing.assert_array_equal(top, got["top"])
    np.testing.assert_array_equal(bottom, got["bottom"])
    for r in range(3):
        assert np.all(got["scores"][r, got["found"][r] :] == -np.inf)
    # The same seed gives the same captions.
    again = runner.caption(None, None, seed=5, method=method)
    np.testing.assert_array_equal(again["tokens"], got["tokens"])


def test_parity_check_excuses_near_ties_and_nothing_else(monkeypatch):
    """``decoder_parity`` on greedy decoding: a flip inside the rounding noise
    is excused, a flip of a clear choice is reported."""
    from dank.decoding import DecodeConfig

    config = DecodeConfig(method="greedy", max_len=4)
    settings = {**config.__dict__}
    start = initial_state()
    top = TABLE[IDS["start"]] + start[:, VOCAB:]  # Step 0's logits per input.
    top[:, [IDS["pad"], IDS["unk"], IDS["start"]]] = -np.inf  # Never chosen.
    first, second = np.argsort(-top[0])[:2]
    tie = start.copy()  # Input 0: its two best first words a rounding apart.
    tie[0, VOCAB + second] += top[0, first] - top[0, second]

    def shifted(delta, word):
        def step(tokens, state):
            logits, state = np_step(tokens, state)
            logits = logits.copy()
            logits[:, word] += np.float32(delta)
            return logits, state

        return step

    decisions = Decisions(VOCAB)
    with decisions.watch(monkeypatch):
        want = ort_runner.decode(np_step, [tie], settings, IDS)
    clear = decisions.clear(3, noise_margins(ROUNDING, config))
    assert list(clear) == [False, True, True]
    other = second if want.tokens[0, 0, 0] == first else first
    flipped = ort_runner.decode(shifted(1e-5, other), [tie], settings, IDS)
    assert flipped.tokens[0, 0, 0] != want.tokens[0, 0, 0]  # Noise flips input 0,
    assert not disagreements(want.tokens, flipped.tokens, clear).size  # excused.
    worst = np.nanargmin(np.where(np.isfinite(top[1]), top[1], np.nan))  # Input 1's
    # least likely word (of those allowed) becomes its best.
    wrong = ort_runner.decode(shifted(50.0, worst), [tie], settings, IDS)
    assert 1 in disagreements(want.tokens, wrong.tokens, clear)
