"""Loads the trained caption model of a run, for the cascade and the decoders.

The loaded ``CaptionModel`` keeps the decoding contract (see
``dank.models.language.models``)::

    state = model.initial_state({"template": w, "image": f})
        # w: float32 [B, n_templates], one-hot or mixing weights over templates
        # f: float32 [B, image_dim] vision embeddings (ignored by "template")
        # state: tuple of tensors, each with leading dim B
    logits, state = model.step(tokens, state)
        # tokens: int32 [B], START_ID first; logits: float32 [B, V]

Both are keras.ops code with static shapes, usable inside a ``tf.function``
(``jit_compile`` included); beams are tiled or reordered by
``ops.take(x, idx, axis=0)`` on every tensor of the state. ``model.variant``
says which inputs matter and ``model.n_templates`` the width of ``w``.
"""

from dank.core import constants


def load_caption_model(run_dir, variant="template"):
    """Returns the run's ``CaptionModel`` of ``variant`` (inference, not compiled).

    Raises:
        DankError: the run is missing, unreadable, or has no language model.
    """
    import keras

    import dank.models.language.losses  # noqa: F401  (registers dank serializables)
    import dank.models.language.models  # noqa: F401
    from dank.core.errors import DankError
    from dank.core.run import component_dir

    component = constants.language_dir(variant)
    path = component_dir(run_dir, component) / constants.MODEL_FILE
    try:
        return keras.saving.load_model(path, compile=False)
    except (ValueError, OSError, TypeError) as e:
        raise DankError(
            f"cannot load the caption model {path} ({e}); retrain it with "
            f"`dank train language --variant {variant} --run {run_dir}`"
        ) from e


def load_caption_run(run_dir):
    """``(model, vocab, catalogue)`` of a run, read from the run itself."""
    from pathlib import Path

    from dank.data.catalogue import Catalogue
    from dank.data.vocab import Vocabulary

    model = load_caption_model(run_dir)
    vocab = Vocabulary.load(Path(run_dir) / constants.VOCAB_FILE)
    catalogue = Catalogue.load(Path(run_dir) / constants.CATALOGUE_FILE)
    return model, vocab, catalogue
