"""The guarded nucleus sampler (dank's default decoder) against hand-written tables."""

import numpy as np
import pytest
import tensorflow as tf
from decoding_fakes import (
    END,
    PAD,
    SEP,
    START,
    A,
    B,
    FakeModel,
    random_model,
    table,
)

from dank.decoding import PRESETS, DecodeConfig, compiled_decoder, decode
from dank.decoding.config import DEFAULT_DECODER
from dank.decoding.nucleus import block_repeats

# Near-zero temperature: the sampler becomes argmax, so outputs are exact.
COLD = dict(method="nucleus", temperature=0.01, max_len=8)


def run(probs, batch=1, **kwargs):
    model = FakeModel(probs)
    config = DecodeConfig(**{**COLD, **kwargs})
    return decode(model, model.initial_state(batch), config, seed=7)


def tokens(out, row=0, k=0):
    return out.tokens[row, k].numpy().tolist()


LOOP = table({START: {A: 1.0}, A: {A: 0.9, B: 0.1}, B: {END: 1.0}})


def test_without_guards_it_loops_and_with_them_it_does_not():
    assert tokens(run(LOOP)) == [A] * 8  # A A A ... up to max_len.
    # Bigram blocking: "A A" may not come again, so the third token is B.
    assert tokens(run(LOOP, no_repeat_ngram=2)) == [A, A, B, END, PAD, PAD, PAD, PAD]
    # Trigram blocking allows "A A A" once, then "A A" cannot be followed by A.
    assert tokens(run(LOOP, no_repeat_ngram=3))[:5] == [A, A, A, B, END]


SHORT = table(
    {
        START: {END: 0.8, SEP: 0.15, A: 0.05},
        A: {SEP: 0.8, B: 0.2},
        B: {END: 1.0},
        SEP: {END: 1.0},
    }
)


@pytest.mark.parametrize(
    "min_len, expected",
    [
        (0, [END, PAD, PAD]),
        (1, [A, SEP, END]),
        (2, [A, B, END]),
    ],
)
def test_min_len_holds_back_the_end(min_len, expected):
    out = run(SHORT, max_len=3, min_len=min_len)
    assert tokens(out) == expected
    assert out.lengths.numpy()[0, 0] == expected.index(END) + 1


def test_block_repeats_bans_only_completed_ngrams():
    logits = tf.zeros([2, 10])
    history = tf.constant([[6, 7, 6, 0, 0], [6, 7, 8, 0, 0]], tf.int32)
    out = block_repeats(logits, history, tf.constant(3), 2).numpy()
    # Row 0 ends in 6 and "6 7" occurred: 7 is banned, nothing else.
    assert np.isneginf(out[0, 7]) and np.isfinite(np.delete(out[0], 7)).all()
    assert np.isfinite(out[1]).all()  # Row 1 ends in 8: no earlier "8 x".
    # At step 1 "6 7" is not complete yet, so nothing is banned.
    assert np.isfinite(block_repeats(logits, history, tf.constant(1), 2)).all()


def test_eager_and_xla_agree_and_seeds_matter():
    step_fn = random_model(vocab=40, seed=3)
    config = DecodeConfig(
        method="nucleus",
        num_return=3,
        max_len=10,
        top_p=0.9,
        min_len=2,
        no_repeat_ngram=2,
    )
    state = (tf.zeros([3], tf.int32),)
    seed = tf.constant([5, 9], tf.int32)
    eager = decode(step_fn, state, config, seed=seed)
    xla = compiled_decoder(step_fn, config, jit_compile=True)(state, seed)
    np.testing.assert_array_equal(eager.tokens, xla.tokens)
    np.testing.assert_allclose(eager.scores, xla.scores, rtol=1e-5, atol=1e-5)
    assert np.all(eager.lengths.numpy() >= 3)  # min_len 2, then </s>.
    other = decode(step_fn, state, config, seed=tf.constant([6, 9], tf.int32))
    assert not np.array_equal(eager.tokens, other.tokens)
    scores = eager.scores.numpy()
    assert (np.diff(scores, axis=1) <= 0).all()  # Best first.


def test_default_preset_and_config_checks():
    assert PRESETS[DEFAULT_DECODER].method == "nucleus"
    assert PRESETS[DEFAULT_DECODER].returning(4).num_return == 6  # 2 spare.
    with pytest.raises(ValueError, match="min_len"):
        DecodeConfig(method="nucleus", min_len=25, max_len=25)
    with pytest.raises(ValueError, match="no_repeat_ngram"):
        DecodeConfig(method="nucleus", no_repeat_ngram=1)


def test_config_for_starts_from_the_method_preset():
    from dank.decoding.config import config_for

    paper = config_for("diverse")
    assert paper == PRESETS["paper"]
    assert config_for("nucleus", temperature=None) == PRESETS["nucleus"]
    assert config_for("nucleus", temperature=0.7).temperature == 0.7
    assert config_for("beam", beam_size=3, max_len=None).beam_size == 3
    with pytest.raises(ValueError, match="unknown decoding method"):
        config_for("telepathy")
