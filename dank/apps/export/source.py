"""The parts of a run an export needs, with one error naming everything missing."""

from dataclasses import dataclass

from dank.core import constants
from dank.core.errors import DankError

# The components an export holds.
COMPONENTS = (constants.VISION_DIR, constants.LANGUAGE_DIR)


def check_run(run_dir):
    """Opens ``run_dir`` (a path or a ``Run``), or raises ``DankError`` listing
    every file an export needs that is missing; returns the ``Run``."""
    from dank.models.run import Run

    run = Run.open(run_dir)
    missing = run.missing(*COMPONENTS)
    if missing:
        lines = "; ".join(f"{path} ({what})" for path, what, _ in missing)
        fixes = sorted({f"`{cmd}`" for _, _, cmd in missing})
        raise DankError(
            f"cannot export {run.path}: missing {lines}. Finish training with "
            f"{' and '.join(fixes)}."
        )
    return run


@dataclass
class RunParts:
    """A finished run, loaded for export.

    Attributes:
        classifier: the vision Keras model (pixels -> {"logits", "embedding"}).
        captioner: the caption model (``initial_state`` / ``step``).
        vocab_tokens: token strings in id order.
        catalogue: the run's ``Catalogue``.
        threshold: calibrated max-probability threshold for ``known``.
        image_size: the classifier's input side in pixels.
    """

    classifier: object
    captioner: object
    vocab_tokens: list
    catalogue: object
    threshold: float
    image_size: int


def load_run(run_dir):
    """Checks ``run_dir`` and loads its models; raises ``DankError`` on a gap."""
    run = check_run(run_dir)
    classifier = run.classifier
    captioner = run.captioner()
    # Exports run anywhere (ONNX Runtime, CPUs without AVX512_BF16), so the
    # vocabulary projection is traced in float32 whatever the run trained with.
    captioner.logits_dtype = "float32"
    return RunParts(
        classifier.model,
        captioner,
        list(run.vocab.tokens),
        run.catalogue,
        classifier.threshold,
        classifier.image_size,
    )
