"""ConditionedLSTM: the three layer tests, a match with keras.layers.LSTM, masking."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import ops  # noqa: E402

from dank.models.language.lstm import ConditionedLSTM  # noqa: E402

B, T, D, U, C = 3, 5, 6, 4, 7


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, D)).astype("float32")
    cond = rng.normal(size=(B, C)).astype("float32")
    return x, cond


def _model(layer):
    x = keras.Input((T, D))
    cond = keras.Input((C,))
    return keras.Model([x, cond], layer(x, condition=cond))


@pytest.mark.parametrize("conditioning", ["init", "input", "both"])
def test_config_round_trip(conditioning):
    layer = ConditionedLSTM(
        U,
        num_layers=2,
        conditioning=conditioning,
        condition_dim=C,
        dropout=0.3,
        init_scale=0.08,
        name="lstm",
    )
    clone = ConditionedLSTM.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.conditioning == conditioning and clone.num_layers == 2


def test_keras_save_load(tmp_path):
    layer = ConditionedLSTM(U, num_layers=2, conditioning="both", condition_dim=C)
    model = _model(layer)
    x, cond = _inputs()
    expected = model.predict([x, cond], verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict([x, cond], verbose=0), expected, rtol=1e-5, atol=1e-6
    )
    # The conditioning really matters: another condition gives other outputs.
    other = model.predict([x, cond[::-1]], verbose=0)
    assert not np.allclose(other, expected)


@pytest.mark.parametrize("unroll", [False, True])
def test_jit_compile_forward(unroll):
    layer = ConditionedLSTM(
        U, num_layers=2, conditioning="input", condition_dim=C, unroll=unroll
    )
    model = _model(layer)
    x, cond = _inputs()
    eager = np.asarray(model([x, cond]))
    model.compile(jit_compile=True)
    compiled = model.predict([x, cond], verbose=0)
    np.testing.assert_allclose(compiled, eager, rtol=1e-5, atol=1e-5)
    assert compiled.shape == (B, T, U)


@pytest.mark.parametrize("unroll", [False, True])
def test_matches_keras_lstm_without_conditioning(unroll):
    x, _ = _inputs(1)
    reference = keras.layers.LSTM(U, return_sequences=True)
    expected = np.asarray(reference(x))
    layer = ConditionedLSTM(U, unroll=unroll)
    layer.build(x.shape)
    kernel, recurrent, bias = reference.get_weights()
    layer.set_weights([kernel, recurrent, bias])
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-6)


def test_masked_steps_keep_state_and_match_keras():
    x, _ = _inputs(2)
    lengths = np.array([5, 3, 1])
    mask = np.arange(T)[None, :] < lengths[:, None]
    reference = keras.layers.LSTM(U, return_sequences=True, return_state=True)
    ref_out, ref_h, _ = reference(x, mask=mask)
    layer = ConditionedLSTM(U)
    layer.build(x.shape)
    layer.set_weights(reference.get_weights())
    out, (h, _) = layer(x, mask=mask, return_state=True)
    out = np.asarray(out)
    np.testing.assert_allclose(np.asarray(h), np.asarray(ref_h), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        out[mask], np.asarray(ref_out)[mask], rtol=1e-5, atol=1e-6
    )
    assert np.all(out[~mask] == 0)


@pytest.mark.parametrize("conditioning", ["none", "init", "input", "both"])
def test_step_matches_sequence(conditioning):
    x, cond = _inputs(3)
    layer = ConditionedLSTM(
        U,
        num_layers=2,
        conditioning=conditioning,
        condition_dim=0 if conditioning == "none" else C,
    )
    condition = None if conditioning == "none" else cond
    full = np.asarray(layer(x, condition=condition))
    state = layer.initial_state(condition, batch_size=B)
    assert len(state) == layer.state_size()
    for t in range(T):
        out, state = layer.step(ops.convert_to_tensor(x[:, t]), state)
        np.testing.assert_allclose(np.asarray(out), full[:, t], rtol=1e-5, atol=1e-6)


def test_dropout_only_in_training():
    x, cond = _inputs(4)
    layer = ConditionedLSTM(
        U, conditioning="init", condition_dim=C, dropout=0.5, seed=1
    )
    a = np.asarray(layer(x, condition=cond, training=False))
    b = np.asarray(layer(x, condition=cond, training=False))
    c = np.asarray(layer(x, condition=cond, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.mean(c == 0) > 0.3  # Output dropout zeroes about half the units.


def test_bad_arguments():
    with pytest.raises(ValueError, match="conditioning must be"):
        ConditionedLSTM(U, conditioning="sideways")
    with pytest.raises(ValueError, match="condition_dim"):
        ConditionedLSTM(U, conditioning="init")
