"""The decoding entry point: one call for every method."""

import tensorflow as tf

from dank.decoding import common
from dank.decoding.beam import beam_decode
from dank.decoding.config import DecodeConfig
from dank.decoding.diverse import diverse_decode
from dank.decoding.greedy import greedy_decode
from dank.decoding.nucleus import nucleus_decode
from dank.decoding.sampling import sample_decode


def decode(step_fn, initial_state, config, seed=None, batch_size=None):
    """Generates captions with ``config.method``.

    Pure TensorFlow with one ``tf.while_loop`` over static shapes: wrap it in a
    ``tf.function`` (optionally ``jit_compile=True``) to compile the whole
    generation for a batch. Eager, graph and compiled runs give the same tokens
    for the same seed.

    Args:
        step_fn: ``(tokens int32 [R], state) -> (logits float32 [R, V], state)``.
            The first tokens are ``<s>``. Beam methods call it with R = B * K
            rows (the state tiled with ``repeat`` on axis 0 and reordered with
            ``gather`` on axis 0), sampling with R = B * num_return.
        initial_state: a nest of tensors, each with leading dim B.
        config: a ``DecodeConfig``.
        seed: int, or int32 [2] tensor, for ``diverse`` and ``sample``; None
            draws a fresh seed on every call. Ignored by greedy and beam.
        batch_size: B, when the state's leading dim is not the batch size.

    Returns:
        ``Decoded(tokens [B, N, max_len], scores [B, N], lengths [B, N])``.
    """
    if not isinstance(config, DecodeConfig):
        raise TypeError(f"config must be a DecodeConfig, got {type(config)}")
    batch = common.batch_size_of(initial_state, batch_size)
    if config.method == "greedy":
        return greedy_decode(step_fn, initial_state, config, batch)
    if config.method == "beam":
        return beam_decode(step_fn, initial_state, config, batch)
    if config.method == "diverse":
        return diverse_decode(step_fn, initial_state, config, seed, batch)
    if config.method == "nucleus":
        return nucleus_decode(step_fn, initial_state, config, seed, batch)
    return sample_decode(step_fn, initial_state, config, seed, batch)


def compiled_decoder(step_fn, config, jit_compile=False):
    """A ``tf.function(initial_state, seed) -> Decoded`` for one config.

    The seed is a tensor argument (int32 [2]), so new seeds do not retrace.
    """

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def run(initial_state, seed):
        return decode(step_fn, initial_state, config, seed=seed)

    def call(initial_state, seed=None):
        return run(initial_state, common.as_seed(seed))

    return call
