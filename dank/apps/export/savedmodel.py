"""The whole cascade as one SavedModel with named, documented endpoints.

Written with ``keras.export.ExportArchive`` (which tracks both Keras models), it
loads with plain ``tf.saved_model.load(path)``, with no ``dank`` installed.
``B`` is the batch, ``n`` the number of templates, ``N`` captions per input,
``L`` the decoder's ``max_len``, ``S`` the classifier's input side::

    classify(image_bytes: string [B])
        -> probs f32 [B, n], embedding f32 [B, 2048], known bool [B]
    classify_pixels(pixels: f32 [B, S, S, 3], RGB 0..255, already resized)
        -> probs, embedding, known                      (what classifier.onnx sees)
    caption(template_weights: f32 [B, n], image_embedding: f32 [B, 2048],
            seed: int32 [2])
        -> tokens int32 [B, N, L], scores f32 [B, N], top string [B, N],
           bottom string [B, N]                         (the export's decoder)
    caption_template(template_id: int32 [B], seed: int32 [2]) -> as caption
    caption_greedy / caption_beam / caption_diverse / caption_sample(
            template_weights, image_embedding, seed)    -> as caption
    generate(image_bytes: string [B], seed: int32 [2])
        -> classify's outputs and caption's outputs together
    caption_init(template_weights, image_embedding) -> state_0 .. state_{k-1}
    caption_step(tokens: int32 [R], state_0 .. state_{k-1})
        -> logits f32 [R, V], new_state_0 .. new_state_{k-1}  (as the ONNX files)

``template_weights`` is a one-hot row (or top-k probabilities that sum to 1);
``image_embedding`` is ``classify``'s embedding (zeros are fine for the
``template`` caption variant, which ignores it). The seed only matters for
``diverse`` and ``sample``. ``dank_export.json`` beside ``saved_model.pb``
records the endpoints, the decoder settings, the catalogue and the vocabulary.
"""

import dataclasses
from pathlib import Path

from dank import __version__
from dank.core import constants
from dank.core.io import atomic_path, write_json

MANIFEST_FILE = "dank_export.json"
METHOD_ENDPOINTS = ("greedy", "beam", "diverse", "sample")


def method_config(base, method):
    """``base`` with another decoding method (greedy returns one caption)."""
    changes = {"method": method}
    if method == "greedy":
        changes["num_return"] = 1
    return dataclasses.replace(base, **changes)


def state_specs(captioner):
    """``tf.TensorSpec`` per caption-state tensor, from one eager call."""
    import numpy as np
    import tensorflow as tf

    state = captioner.initial_state(
        {
            "template": np.eye(1, captioner.n_templates, dtype="float32"),
            "image": np.zeros((1, captioner.config.image_dim), "float32"),
        }
    )
    return [
        tf.TensorSpec([None, *s.shape[1:]], s.dtype, name=f"state_{i}")
        for i, s in enumerate(state)
    ]


def build_endpoints(parts, decode_config, mix_top_k=1):
    """The endpoint ``tf.function``s of a run, by name (see the module docstring).

    Args:
        parts: a ``dank.apps.export.source.RunParts``.
        decode_config: the ``DecodeConfig`` of ``caption`` and ``generate``.
        mix_top_k: ``generate`` conditions on the top-k templates mixed by
            probability.
    """
    import tensorflow as tf

    from dank.cascade.module import Cascade

    def cascade(config):
        return Cascade(
            parts.classifier,
            parts.captioner,
            parts.vocab_tokens,
            parts.threshold,
            parts.image_size,
            config,
            mix_top_k=mix_top_k,
        )

    main = cascade(decode_config)
    captioner, size = parts.captioner, parts.image_size
    image_dim = captioner.config.image_dim
    specs = state_specs(captioner)
    weights_spec = tf.TensorSpec(
        [None, captioner.n_templates], tf.float32, name="template_weights"
    )
    embedding_spec = tf.TensorSpec(
        [None, image_dim], tf.float32, name="image_embedding"
    )
    seed_spec = tf.TensorSpec([2], tf.int32, name="seed")

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, size, size, 3], tf.float32, name="pixels")
        ]
    )
    def classify_pixels(pixels):
        outputs = parts.classifier(pixels, training=False)
        probs = tf.nn.softmax(outputs["logits"], axis=-1)
        known = tf.reduce_max(probs, axis=-1) >= parts.threshold
        return {"probs": probs, "embedding": outputs["embedding"], "known": known}

    def known_caption(module):
        """``module.caption`` with every row marked known: the exported cascade
        has no image-variant fallback, so the main model captions every row."""

        @tf.function(input_signature=[weights_spec, embedding_spec, seed_spec])
        def caption(template_weights, image_embedding, seed):
            known = tf.ones([tf.shape(template_weights)[0]], tf.bool)
            return module.caption(template_weights, image_embedding, known, seed)

        return caption

    caption = known_caption(main)

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.int32, name="template_id"), seed_spec]
    )
    def caption_template(template_id, seed):
        condition = captioner.condition_for_labels(template_id)
        image = condition.get("image")
        if image is None:  # The template variant ignores the image.
            image = tf.zeros([tf.shape(template_id)[0], image_dim], tf.float32)
        return caption(condition["template"], image, seed)

    @tf.function(input_signature=[weights_spec, embedding_spec])
    def caption_init(template_weights, image_embedding):
        state = captioner.initial_state(
            {"template": template_weights, "image": image_embedding}
        )
        return {f"state_{i}": s for i, s in enumerate(state)}

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.int32, name="tokens"), *specs]
    )
    def caption_step(tokens, *state):
        logits, state = captioner.step(tokens, tuple(state))
        # Outputs are not called ``state_i``: an ONNX graph output that shares
        # an input's name makes tf2onnx drop that input.
        return {
            "logits": tf.cast(logits, tf.float32),
            **{f"new_state_{i}": s for i, s in enumerate(state)},
        }

    endpoints = {
        "classify": main.classify,
        "classify_pixels": classify_pixels,
        "caption": caption,
        "caption_template": caption_template,
        "generate": main.generate,
        "caption_init": caption_init,
        "caption_step": caption_step,
    }
    for method in METHOD_ENDPOINTS:
        endpoints[f"caption_{method}"] = known_caption(
            cascade(method_config(decode_config, method))
        )
    return endpoints


def manifest(parts, decode_config, mix_top_k, endpoints):
    """The JSON description written beside the exported files."""
    return {
        "dank_version": __version__,
        "endpoints": sorted(endpoints),
        "decode_config": dataclasses.asdict(decode_config),
        "method_endpoints": {
            f"caption_{m}": dataclasses.asdict(method_config(decode_config, m))
            for m in METHOD_ENDPOINTS
        },
        "mix_top_k": mix_top_k,
        "image_size": parts.image_size,
        "threshold": parts.threshold,
        "caption_variant": parts.captioner.variant,
        "image_dim": parts.captioner.config.image_dim,
        "n_templates": len(parts.catalogue),
        "templates": [{"id": t.id, "name": t.name} for t in parts.catalogue],
        "special_ids": {
            "pad": constants.PAD_ID,
            "unk": constants.UNK_ID,
            "start": constants.START_ID,
            "end": constants.END_ID,
            "sep": constants.SEP_ID,
            "emp": constants.EMP_ID,
        },
        "vocab": parts.vocab_tokens,
    }


def write_savedmodel(parts, path, decode_config, mix_top_k=1):
    """Writes the SavedModel of ``parts`` to ``path`` (not atomic; see export)."""
    import keras

    endpoints = build_endpoints(parts, decode_config, mix_top_k)
    archive = keras.export.ExportArchive()
    archive.track(parts.classifier)
    archive.track(parts.captioner)
    for name, fn in endpoints.items():
        archive.add_endpoint(name, fn)
    archive.write_out(str(path), verbose=False)
    write_json(
        Path(path) / MANIFEST_FILE, manifest(parts, decode_config, mix_top_k, endpoints)
    )
    return Path(path)


def export_savedmodel(run_dir, out_dir, decode_config=None, mix_top_k=1):
    """Exports ``run_dir`` as one SavedModel at ``out_dir``, atomically.

    Args:
        run_dir: a finished run (both models trained): a path or a ``Run``.
        out_dir: the SavedModel directory to write (replaced if it exists).
        decode_config: the ``DecodeConfig`` of ``caption``/``generate``
            (default: the paper's diverse beam, ``PRESETS["paper"]``).
        mix_top_k: ``generate`` mixes the top-k templates by probability.

    Returns:
        ``out_dir`` as a ``Path``.

    Raises:
        DankError: the run is missing a model or another file (all are named).
    """
    from dank.apps.export.card import write_model_card
    from dank.apps.export.source import load_run
    from dank.core.progress import Progress
    from dank.decoding.config import PRESETS

    config = decode_config or PRESETS["paper"]
    with Progress("export savedmodel", 2, "steps") as progress:
        with progress.step("loading the run"):
            parts = load_run(run_dir)
        with progress.step("writing the SavedModel"), atomic_path(out_dir) as tmp:
            write_savedmodel(parts, tmp, config, mix_top_k)
            write_model_card(run_dir, tmp, config, "savedmodel", mix_top_k)
    return Path(out_dir)
