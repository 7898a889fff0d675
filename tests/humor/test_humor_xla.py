"""The humour model trains the same with XLA as without."""

import keras
import numpy as np

from dank.models.humor.config import preset
from dank.models.humor.model import build_humor_model


def test_training_steps_under_xla_match_graph_mode():
    config = preset("tiny", dropout=0.0)
    rng = np.random.default_rng(0)
    x = {
        "tokens": rng.integers(1, 30, (16, config.max_len)).astype("int32"),
        "label": rng.integers(0, 4, 16).astype("int32"),
    }
    y = rng.normal(size=16).astype("float32")
    keras.utils.set_random_seed(0)
    reference = build_humor_model(config, 30, 4)
    losses = {}
    for jit in (False, True):
        model = build_humor_model(config, 30, 4)
        model.set_weights(reference.get_weights())
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=jit)
        losses[jit] = [float(model.test_on_batch(x, y))]
        losses[jit] += [float(model.train_on_batch(x, y)) for _ in range(3)]
        losses[jit].append(float(model.test_on_batch(x, y)))
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-4)
    assert losses[False][-1] < losses[False][0]  # It really trained.
