"""End to end on a tiny trained run: export both formats, load them the way a
user would, and check Keras, SavedModel and onnxruntime agree.

Part of the fast suite (about two minutes): the tiny run is shared with the
other tests, and parity is what CI must guard.
"""

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from decoder_parity import Decisions, disagreements, logit_error, noise_margins

DECODE = dict(method="diverse", beam_size=3, max_len=10, num_return=2)
# Keras and onnxruntime logits, fed the same tokens, differ by about 2e-6 here
# (measured: float32, each with its own kernels); the tests allow 10x that.
LOGIT_TOL = 2e-5
METHODS = ("greedy", "beam", "diverse", "sample")


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    from dank.apps.export.onnx import export_onnx
    from dank.apps.export.savedmodel import export_savedmodel
    from dank.decoding import DecodeConfig

    root = tmp_path_factory.mktemp("exported")
    config = DecodeConfig(**DECODE)
    return {
        "savedmodel": export_savedmodel(tiny_run, root / "savedmodel", config),
        "onnx": export_onnx(tiny_run, root / "onnx", config),
        "config": config,
    }


@pytest.fixture(scope="module")
def loaded(exported):
    import tensorflow as tf

    from dank.apps.export.ort_runner import OnnxCascade

    # Parity of the decoders themselves: the raw captions, before the filter.
    return tf.saved_model.load(str(exported["savedmodel"])), OnnxCascade(
        exported["onnx"], no_filter=True
    )


@pytest.fixture(scope="module")
def parts(tiny_run):
    from dank.apps.export.source import load_run

    return load_run(tiny_run)


def _jpegs(n, size=48):
    from PIL import Image

    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        buffer = io.BytesIO()
        pixels = rng.integers(0, 255, (size, size + 7, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def _pixels(parts, jpegs):
    import tensorflow as tf

    from dank.cascade.module import decode_and_resize

    return tf.stack([decode_and_resize(b, parts.image_size) for b in jpegs]).numpy()


def test_classifier_probabilities_agree(parts, loaded):
    import keras

    saved, runner = loaded
    jpegs = _jpegs(5)
    pixels = _pixels(parts, jpegs)
    out = parts.classifier(pixels, training=False)
    want = keras.ops.softmax(out["logits"]).numpy()
    from_bytes = saved.classify(np.array(jpegs, object))
    from_pixels = saved.classify_pixels(pixels)
    ort = runner.classify(pixels)
    for probs in (from_bytes["probs"], from_pixels["probs"], ort["probs"]):
        assert np.abs(np.asarray(probs) - want).max() <= 1e-4
    # The 2048-d embedding is ResNet50's raw pooled output (values up to ~10),
    # where runtimes differ by a few 1e-4 (measured 3e-4); the spec's 1e-4 is
    # for the probabilities above.
    np.testing.assert_allclose(ort["embedding"], out["embedding"], rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(ort["known"], from_pixels["known"].numpy())


def _keras_step(captioner):
    """The Keras caption step with numpy in and out (``ort_runner``'s step type)."""

    def step(tokens, state):
        logits, state = captioner.step(np.asarray(tokens, np.int32), tuple(state))
        return np.asarray(logits), [np.asarray(s) for s in state]

    return step


def _conditions(parts, mixes=18):
    """Template weights and image embeddings: every template alone, then random
    mixtures of them, so each test decodes a few dozen different inputs."""
    n = len(parts.catalogue)
    rng = np.random.default_rng(1)
    weights = np.concatenate([np.eye(n), rng.dirichlet(np.ones(n), mixes)])
    embedding = rng.normal(0, 1, (len(weights), 2048))
    return weights.astype(np.float32), embedding.astype(np.float32)


def _rows(state, n):
    """Each input's state repeated for its N captions (rows input-major)."""
    return [np.repeat(np.asarray(s), n, axis=0) for s in state]


def _check_logits(parts, runner, tokens, weights, embedding):
    """``logit_error`` of Keras against ``runner`` along ``tokens`` [B, N, L]."""
    n = tokens.shape[1]
    keras_state = parts.captioner.initial_state(
        {"template": weights, "image": embedding}
    )
    return logit_error(
        _keras_step(parts.captioner),
        runner.step,
        _rows(keras_state, n),
        _rows(runner.initial_state(weights, embedding), n),
        tokens.reshape(-1, tokens.shape[-1]),
        runner.ids["start"],
    )


def _decode_watched(runner, monkeypatch, weights, embedding, seed, config):
    """The runner's raw captions and the ``Decisions`` made for them."""
    decisions = Decisions(len(runner.vocab))
    with decisions.watch(monkeypatch):
        got = runner.caption(
            weights, embedding, seed, method=config.method, num_return=config.num_return
        )
    decisions.ranked(got["tokens"], got["scores"])
    return got, decisions


def _noise(logit_error, config):
    """Margins a choice needs to be clear: from the logits' measured difference
    (twice it, for the paths not teacher-forced), at most ``LOGIT_TOL``."""
    return noise_margins(min(2 * logit_error, LOGIT_TOL), config)


def _cascade(parts, config):
    from dank.cascade.module import Cascade

    return Cascade(
        parts.classifier,
        parts.captioner,
        parts.vocab_tokens,
        parts.threshold,
        parts.image_size,
        config,
    )


@pytest.mark.parametrize("method", METHODS)
def test_captions_agree_wherever_the_choice_was_clear(
    parts, loaded, exported, monkeypatch, method
):
    """Keras (the cascade in-process), SavedModel and onnxruntime: the same
    logits at every step, and the same tokens for every input whose choices
    all had a margin above the runtimes' noise (``decoder_parity``).

    Sampled decoders match too: the runner reimplements the decoders' own
    integer-hash random stream instead of TensorFlow's stateless RNG.
    """
    from dank.apps.export.savedmodel import method_config

    saved, runner = loaded
    config = method_config(exported["config"], method)
    cascade = _cascade(parts, config)
    weights, embedding = _conditions(parts)
    compared = 0
    for seed in (0, 977):
        seed_pair = np.array([seed, 0], np.int32)
        want = cascade.caption(
            weights, embedding, np.ones(len(weights), bool), seed_pair
        )
        want = {k: v.numpy() for k, v in want.items()}
        got_saved = getattr(saved, f"caption_{method}")(weights, embedding, seed_pair)
        got_ort, decisions = _decode_watched(
            runner, monkeypatch, weights, embedding, seed, config
        )
        assert (want["tokens"] > 0).any()
        # The model: the same logits along Keras's captions, step by step.
        error = _check_logits(parts, runner, want["tokens"], weights, embedding)
        assert error <= LOGIT_TOL
        # The decoders: the same captions wherever no choice was a near tie.
        clear = decisions.clear(len(weights), _noise(error, config))
        for name, tokens in (
            ("SavedModel", got_saved["tokens"].numpy()),
            ("onnxruntime", got_ort["tokens"]),
        ):
            bad = disagreements(want["tokens"], tokens, clear)
            assert not bad.size, f"{name} differs from Keras for inputs {bad}"
        compared += clear.sum()
        assert got_ort["top"][clear].tolist() == [
            [t.decode() for t in row] for row in want["top"][clear]
        ]
        np.testing.assert_allclose(
            got_ort["scores"][clear], want["scores"][clear], rtol=1e-4, atol=1e-4
        )
    # Not a vacuous check: a good share of inputs is compared. (The paper's
    # diverse beam has the most near ties here: it draws from the tiny model's
    # top 100 of 121 words, whose log-probabilities are often a few 1e-6 apart;
    # one fresh-clone run compared 23 of its 48 inputs, so half is too tight.)
    assert compared >= 0.25 * 2 * len(weights), compared


def _perturbed(folder, target, factor):
    """A copy of the ONNX export at ``target`` with the caption step's largest
    weight (an LSTM kernel) scaled by ``factor``: an export gone wrong."""
    import shutil

    import onnx
    from onnx import numpy_helper

    from dank.apps.export.ort_runner import OnnxCascade

    shutil.copytree(folder, target)
    model = onnx.load(str(target / "caption_step.onnx"))
    largest = max(
        (t for t in model.graph.initializer if t.data_type == 1),
        key=lambda t: np.prod(t.dims),
    )
    largest.CopyFrom(
        numpy_helper.from_array(
            numpy_helper.to_array(largest) * np.float32(factor), largest.name
        )
    )
    onnx.save(model, str(target / "caption_step.onnx"))
    return OnnxCascade(target, no_filter=True)


def test_parity_check_fails_when_an_onnx_weight_is_perturbed(
    parts, exported, monkeypatch, tmp_path
):
    """The check above can fail: a weight 1% off fails the logits, one 30% off
    (enough to change sampled words) fails the tokens too."""
    from dank.apps.export.savedmodel import method_config

    config = method_config(exported["config"], "sample")
    weights, embedding = _conditions(parts)
    want = _cascade(parts, config).caption(
        weights, embedding, np.ones(len(weights), bool), np.array([0, 0], np.int32)
    )
    tokens = want["tokens"].numpy()
    slightly = _perturbed(exported["onnx"], tmp_path / "slightly", 1.01)
    assert _check_logits(parts, slightly, tokens, weights, embedding) > 10 * LOGIT_TOL
    runner = _perturbed(exported["onnx"], tmp_path / "badly", 1.3)
    got, decisions = _decode_watched(runner, monkeypatch, weights, embedding, 0, config)
    clear = decisions.clear(len(weights), _noise(LOGIT_TOL, config))
    assert disagreements(tokens, got["tokens"], clear).size > 0


def test_generate_and_caption_template_agree(parts, loaded, exported, monkeypatch):
    """The whole chain from pixels or template ids: classify, pick, decode."""
    saved, runner = loaded
    jpegs = _jpegs(3)
    seed = np.array([5, 0], np.int32)
    ids = np.arange(len(parts.catalogue), dtype=np.int32)
    weights = np.eye(len(ids), dtype=np.float32)
    image = np.zeros((len(ids), runner.manifest["image_dim"]), np.float32)
    tokens = saved.caption_template(ids, seed)["tokens"].numpy()
    error = _check_logits(parts, runner, tokens, weights, image)
    assert error <= LOGIT_TOL
    noise, clear_total = _noise(error, exported["config"]), 0
    for want, run, n in (
        (
            saved.generate(np.array(jpegs, object), seed),
            lambda: runner.generate(_pixels(parts, jpegs), seed=5),
            len(jpegs),
        ),
        (
            saved.caption_template(ids, seed),
            lambda: runner.caption_template(ids, seed=5),
            len(ids),
        ),
    ):
        decisions = Decisions(len(runner.vocab))
        with decisions.watch(monkeypatch):  # The template pick is a choice too.
            got = run()
        decisions.ranked(got["tokens"], got["scores"])
        clear = decisions.clear(n, noise)
        assert not disagreements(want["tokens"].numpy(), got["tokens"], clear).size
        clear_total += clear.sum()
    assert clear_total > 0


def test_every_onnx_file_loads_and_runs(exported):
    import onnx
    import onnxruntime as ort

    files = sorted(exported["onnx"].glob("*.onnx"))
    assert [f.name for f in files] == [
        "caption_init.onnx",
        "caption_step.onnx",
        "classifier.onnx",
    ]
    for path in files:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
        opsets = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
        assert max(opsets) >= 17
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {}
        for arg in session.get_inputs():
            shape = [d if isinstance(d, int) else 2 for d in arg.shape]
            dtype = np.int32 if "int32" in arg.type else np.float32
            feeds[arg.name] = np.full(shape, 2, dtype)  # 2 is <s> for tokens.
        outputs = session.run(None, feeds)
        assert all(np.isfinite(o).all() for o in outputs if o.dtype.kind == "f")


def test_each_export_has_its_model_card(exported):
    for fmt in ("savedmodel", "onnx"):
        card = (exported[fmt] / "MODEL_CARD.md").read_text(encoding="utf-8")
        assert card.startswith("# Model card: dank, run ")
        assert "## Known biases and limits" in card and "top-1" in card
        assert f"`{exported['config'].method}`: method=" in card


def test_savedmodel_loads_in_plain_tensorflow(exported):
    code = f"""
import json, sys
import numpy as np, tensorflow as tf
m = tf.saved_model.load({str(exported["savedmodel"])!r})
img = tf.io.encode_png(tf.zeros([20, 30, 3], tf.uint8))
out = m.generate(tf.stack([img, img]), tf.constant([1, 2]))
cap = m.caption_template(tf.constant([0, 1], tf.int32), tf.constant([3, 4]))
print(json.dumps({{
    "dank": any(k == "dank" or k.startswith("dank.") for k in sys.modules),
    "probs": out["probs"].shape.as_list(), "tokens": out["tokens"].shape.as_list(),
    "top": cap["top"].shape.as_list(), "signatures": sorted(m.signatures),
}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd="/"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["dank"] is False
    assert result["probs"][0] == 2 and result["tokens"] == [2, 2, 10]
    assert result["top"] == [2, 2]
    for name in ("classify", "caption", "generate", "caption_template"):
        assert name in result["signatures"]


def test_onnx_folder_runs_standalone(exported):
    from dank.safety import default_filter

    folder = exported["onnx"]
    code = """
import json, sys
import numpy as np
from ort_runner import OnnxCascade
m = OnnxCascade(".")
pixels = np.zeros((2, m.image_size, m.image_size, 3), np.float32)
out = m.generate(pixels, seed=1, method="beam")
heavy = [k for k in ("tensorflow", "keras", "dank") if k in sys.modules]
print(json.dumps({"heavy": heavy, "terms": len(m.safety.terms),
                  "top": [list(map(str, r)) for r in out["top"]]}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=folder
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    # The filter runs there, with the bundled lexicon copied beside the runner.
    assert result["terms"] == len(default_filter().terms) > 0
    assert len(result["top"]) == 2


@pytest.mark.parametrize("method", ["sample", "diverse"])
def test_runner_never_returns_a_flagged_caption(exported, parts, caplog, method):
    """The runner's output passes the same filter and resampling as `dank
    generate`: here the tiny model's favourite word stands in for a slur."""
    from collections import Counter

    from dank.apps.export.ort_runner import OnnxCascade, split_top_bottom
    from dank.safety.filter import SafetyFilter

    ids = np.arange(len(parts.catalogue))
    settings = dict(seed=3, method=method, num_return=3, beam_size=3)
    with caplog.at_level("WARNING"):
        raw = OnnxCascade(exported["onnx"], no_filter=True)
    assert "safety filter OFF" in caplog.text
    before = raw.caption_template(ids, **settings)
    words = Counter(
        w
        for t, b in zip(before["top"].ravel(), before["bottom"].ravel())
        for w in f"{t} {b}".split()
    )
    banned = words.most_common(1)[0][0]
    runner = OnnxCascade(exported["onnx"])
    runner.safety = SafetyFilter([("profanity", banned)])  # A forced lexicon hit.
    after = runner.caption_template(ids, **settings)
    shown = [
        (after["top"][row, slot], after["bottom"][row, slot])
        for row, found in enumerate(after["found"])
        for slot in range(found)
    ]
    assert any(
        runner.safety.is_flagged(t, b)
        for t, b in zip(before["top"].ravel(), before["bottom"].ravel())
    )
    assert shown and not any(runner.safety.is_flagged(t, b) for t, b in shown)
    assert len(set(shown)) == len(shown)  # Distinct, as dank generate's.
    # The tokens returned are those of the captions returned.
    top, _ = split_top_bottom(after["tokens"], runner.vocab, runner.ids)
    np.testing.assert_array_equal(top, after["top"])


@pytest.fixture(scope="module")
def adaptive(tiny_run, tiny_data, tmp_path_factory):
    """A copy of the tiny run whose caption model is retrained with an adaptive
    softmax, exported to ONNX: ``(Keras parts, onnxruntime runner)``."""
    import shutil

    from dank.apps.export.onnx import export_onnx
    from dank.apps.export.ort_runner import OnnxCascade
    from dank.apps.export.source import load_run
    from dank.decoding import DecodeConfig
    from dank.models.language.config import PRESETS
    from dank.models.language.train import train_language

    root = tmp_path_factory.mktemp("adaptive")
    run = shutil.copytree(tiny_run, root / "run")
    config = PRESETS["tiny"].replace(adaptive_softmax=(8, 20))
    train_language(tiny_data, run, config, preset="tiny", verbose=0, force=True)
    exported = export_onnx(run, root / "onnx", DecodeConfig(**DECODE))
    return load_run(run), OnnxCascade(exported, no_filter=True)


@pytest.mark.slow  # A second export: about 3 minutes more (`make test-all`).
def test_an_adaptive_softmax_run_exports_with_parity(adaptive, monkeypatch):
    """The exported step of an adaptive-softmax model gives Keras's full
    log-probabilities (a normalised distribution), and the decoders agree."""
    from dank.decoding import DecodeConfig

    parts, runner = adaptive
    assert parts.captioner.cutoffs == (8, 20)
    config = DecodeConfig(**DECODE)
    weights, embedding = _conditions(parts, mixes=6)
    want = _cascade(parts, config).caption(
        weights, embedding, np.ones(len(weights), bool), np.array([0, 0], np.int32)
    )
    tokens = want["tokens"].numpy()
    error = _check_logits(parts, runner, tokens, weights, embedding)
    assert error <= LOGIT_TOL
    start = np.full(len(weights), runner.ids["start"], np.int32)
    log_probs, _ = runner.step(start, runner.initial_state(weights, embedding))
    np.testing.assert_allclose(np.exp(log_probs).sum(-1), 1.0, rtol=1e-4)
    got, decisions = _decode_watched(runner, monkeypatch, weights, embedding, 0, config)
    clear = decisions.clear(len(weights), _noise(error, config))
    assert not disagreements(tokens, got["tokens"], clear).size
    assert clear.sum() >= 0.25 * len(weights), clear.sum()
