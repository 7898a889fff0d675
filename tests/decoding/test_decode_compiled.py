"""Eager, graph and XLA-compiled decoding give the same captions."""

import numpy as np
import pytest
import tensorflow as tf
from decoding_fakes import random_model

from dank.decoding import DecodeConfig, compiled_decoder, decode

CONFIGS = {
    "greedy": DecodeConfig(method="greedy", max_len=10),
    "beam": DecodeConfig(method="beam", beam_size=3, num_return=3, max_len=10),
    "diverse": DecodeConfig(
        method="diverse", beam_size=3, num_return=2, max_len=10, top_words=12
    ),
    "sample": DecodeConfig(
        method="sample", num_return=3, max_len=10, top_k=8, top_p=0.9
    ),
}


@pytest.mark.parametrize("method", sorted(CONFIGS))
def test_eager_graph_and_xla_agree(method):
    step_fn = random_model(vocab=40, seed=3)
    config = CONFIGS[method]
    state = (tf.zeros([3], tf.int32),)
    seed = tf.constant([5, 9], tf.int32)
    eager = decode(step_fn, state, config, seed=seed)
    graph = compiled_decoder(step_fn, config)(state, seed)
    xla = compiled_decoder(step_fn, config, jit_compile=True)(state, seed)
    for other in (graph, xla):
        np.testing.assert_array_equal(eager.tokens, other.tokens)
        np.testing.assert_array_equal(eager.lengths, other.lengths)
        np.testing.assert_allclose(eager.scores, other.scores, rtol=1e-5, atol=1e-5)
    # The test would notice a decoder that emits nothing.
    assert np.all(eager.lengths.numpy() >= 1)


def test_compiled_decoder_takes_new_seeds_without_retracing():
    step_fn = random_model(vocab=40, seed=4)
    run = compiled_decoder(step_fn, CONFIGS["diverse"], jit_compile=True)
    state = (tf.zeros([2], tf.int32),)
    a = run(state, 1)
    b = run(state, 2)
    c = run(state, 1)
    np.testing.assert_array_equal(a.tokens, c.tokens)
    assert not np.array_equal(a.tokens, b.tokens)


@pytest.mark.parametrize("method", sorted(CONFIGS))
def test_dynamic_batch_signature(method):
    """A batch of unknown size (as a served model gets) still decodes.

    Regression: reshaping logits to ``[batch, k, -1]`` with a dynamic batch lost
    the static vocabulary size that the top-k expansions need.
    """
    step_fn = random_model(vocab=40, seed=3)
    config = CONFIGS[method]

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([2], tf.int32)]
    )
    def run(start, seed):
        return decode(step_fn, (start,), config, seed=seed)

    seed = tf.constant([5, 9], tf.int32)
    out = run(tf.zeros([3], tf.int32), seed)
    eager = decode(step_fn, (tf.zeros([3], tf.int32),), config, seed=seed)
    np.testing.assert_array_equal(out.tokens, eager.tokens)
