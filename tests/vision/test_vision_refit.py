"""The head fitted again on inference-mode embeddings (refit.py), alone and in
a training run killed while it ran."""

import numpy as np
import pytest
import tensorflow as tf

SIZE = 32


def _batches(labels, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (len(labels), SIZE, SIZE, 3)).astype(np.float32)
    return tf.data.Dataset.from_tensor_slices((images, np.asarray(labels))).batch(4)


def _model(n, mirror=True):
    from dank.models.vision.model import build_model

    return build_model(n, SIZE, mirror=mirror)


def _predict(model, batches):
    from dank.models.vision.model import inference_function

    forward = inference_function(model)
    return np.concatenate([forward(x)["logits"].numpy().argmax(1) for x, _ in batches])


@pytest.mark.parametrize("n", [2, 4])
def test_the_model_answers_with_the_fitted_head(n):
    """The model's own inference (mirror look included) now gives the labels
    of the memes the head was fitted on: the embeddings fitted on are the ones
    inference computes, and the weights went into the ``logits`` layer."""
    from dank.models.vision.refit import refit_head

    labels = [i % n for i in range(12)]
    batches = _batches(labels)
    model = _model(n, mirror=False)
    stats = refit_head(model, batches, n_batches=3, c=100.0)
    assert stats["memes"] == 12 and stats["train_top1_after"] == 1.0
    np.testing.assert_array_equal(_predict(model, batches), labels)


def test_templates_without_memes_keep_their_weights():
    from dank.models.vision.refit import refit_head

    model = _model(4)
    kernel, bias = (w.copy() for w in model.get_layer("logits").get_weights())
    refit_head(model, _batches([0, 1, 2] * 4), n_batches=3, c=1.0)
    new_kernel, new_bias = model.get_layer("logits").get_weights()
    np.testing.assert_array_equal(new_kernel[:, 3], kernel[:, 3])
    assert new_bias[3] == bias[3]
    assert not np.allclose(new_kernel[:, :3], kernel[:, :3])


def test_one_template_keeps_the_head():
    from dank.models.vision.refit import refit_head

    model = _model(3)
    kernel = model.get_layer("logits").get_weights()[0].copy()
    assert refit_head(model, _batches([1] * 8), n_batches=2, c=1.0) is None
    np.testing.assert_array_equal(model.get_layer("logits").get_weights()[0], kernel)


@pytest.mark.parametrize("changes", [{"refit_c": 0.0}, {"refit_batches": -1}])
def test_the_config_refuses_a_bad_refit(changes):
    from dank.core.errors import DankError
    from dank.models.vision.config import PRESETS

    with pytest.raises(DankError, match="refit"):
        PRESETS["cpu"].replace(**changes)


def test_a_run_killed_while_fitting_the_head_resumes_there(
    tiny_data, tiny_config, tmp_path, monkeypatch
):
    from dank.models.vision import train

    class Killed(RuntimeError):
        pass

    def killed(*args, **kwargs):
        raise Killed

    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(train, "refit_head", killed)
        with pytest.raises(Killed):
            train.train_vision(tiny_data, run, tiny_config)
    vision = run / "vision"
    assert (vision / train.UNREFITTED_FILE).is_file()
    assert not (vision / train.UNEVALUATED_FILE).exists()
    metrics = train.train_vision(tiny_data, run, tiny_config)
    assert metrics["steps_run_this_process"] == 0  # Not trained again.
    assert metrics["head_refit"]["memes"] == (
        tiny_config.refit_batches * tiny_config.batch_size
    )
    assert not (vision / train.UNREFITTED_FILE).exists()
    assert (vision / "model.keras").is_file()
