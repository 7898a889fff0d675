"""dank.decoding.common.top_k_masked: the chunked top-k is tf.math.top_k."""

import numpy as np
import pytest
import tensorflow as tf

from dank.decoding import common


def _reference(x, k, banned):
    mask = np.isin(np.arange(x.shape[-1]), banned)
    top = tf.math.top_k(tf.where(mask, -np.inf, x), k)
    return top.values.numpy(), top.indices.numpy()


@pytest.mark.parametrize("seed", range(6))
def test_same_values_and_ids_as_top_k_ties_included(seed):
    rng = np.random.default_rng(seed)
    for vocab, k in ((38821, 5), (10530, 5), (4097, 6), (38821, 100), (40, 5)):
        shape = (int(rng.integers(1, 4)), 2, vocab)
        if seed % 2:  # Few distinct values: ties everywhere.
            x = rng.integers(-3, 3, shape).astype("float32")
        else:
            x = rng.normal(size=shape).astype("float32")
        x[..., rng.integers(0, vocab, 5)] = -np.inf
        banned = [[], [0], [0, 2, 3], [0, 1, 2, 3]][seed % 4]
        values, ids = common.top_k_masked(tf.constant(x), k, banned)
        ref_values, ref_ids = _reference(x, k, banned)
        assert values.shape == ref_values.shape == (*shape[:-1], k)
        np.testing.assert_array_equal(values.numpy(), ref_values)
        np.testing.assert_array_equal(ids.numpy(), ref_ids)


def test_chunked_only_where_it_pays_and_compiles():
    assert common._chunk_width(38821, 5) == 512
    assert common._chunk_width(38821, 100) == 32
    assert common._chunk_width(40, 5) is None  # tf.math.top_k whole.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 38821)).astype("float32")
    x[0, 0, :4] = 99.0  # Banned ids may hold the largest logits.
    compiled = tf.function(
        lambda x: common.top_k_masked(x, 5, [0, 1, 2, 3]), jit_compile=True
    )
    values, ids = compiled(x)
    ref_values, ref_ids = _reference(x, 5, [0, 1, 2, 3])
    np.testing.assert_array_equal(ids.numpy(), ref_ids)
    np.testing.assert_array_equal(values.numpy(), ref_values)
    assert ids.numpy().min() >= 4
