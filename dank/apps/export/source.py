"""The parts of a run an export needs, with one error naming everything missing."""

from dataclasses import dataclass
from pathlib import Path

from dank.core import constants
from dank.core.errors import DankError

# (path inside the run, what it is, the command that writes it).
REQUIRED = (
    (constants.RUN_CONFIG_FILE, "the run description", "dank train vision"),
    (constants.CATALOGUE_FILE, "the template catalogue", "dank train vision"),
    (constants.VOCAB_FILE, "the vocabulary", "dank train language"),
    (
        f"{constants.VISION_DIR}/{constants.MODEL_FILE}",
        "the vision model (vision training has not finished)",
        "dank train vision",
    ),
    (
        f"{constants.VISION_DIR}/{constants.CALIBRATION_FILE}",
        "the vision calibration (vision training has not finished)",
        "dank train vision",
    ),
    (
        f"{constants.LANGUAGE_DIR}/{constants.MODEL_FILE}",
        "the caption model (language training has not finished)",
        "dank train language",
    ),
)


def missing_parts(run_dir):
    """Returns ``[(relative path, what, command)]`` for each required file absent."""
    run_dir = Path(run_dir)
    return [item for item in REQUIRED if not (run_dir / item[0]).is_file()]


def check_run(run_dir):
    """Raises ``DankError`` listing every file an export needs that is missing."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DankError(
            f"run directory {run_dir} not found; train one with `make train` "
            "or pass --run DIR"
        )
    missing = missing_parts(run_dir)
    if missing:
        lines = "; ".join(f"{path} ({what})" for path, what, _ in missing)
        fixes = sorted({f"`{cmd} --run {run_dir}`" for _, _, cmd in missing})
        raise DankError(
            f"cannot export {run_dir}: missing {lines}. Finish training with "
            f"{' and '.join(fixes)}."
        )


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
    check_run(run_dir)
    from dank.data.vocab import Vocabulary
    from dank.models.language.load import load_caption_model
    from dank.models.vision.predict import load_classifier

    classifier = load_classifier(run_dir)
    captioner = load_caption_model(run_dir)
    if captioner.n_templates != len(classifier.catalogue):
        raise DankError(
            f"{run_dir}: the caption model knows {captioner.n_templates} templates "
            f"but the classifier {len(classifier.catalogue)}; retrain with "
            "`make train`"
        )
    vocab = Vocabulary.load(Path(run_dir) / constants.VOCAB_FILE)
    if len(vocab) != captioner.vocab_size:
        raise DankError(
            f"{run_dir}: vocab.json has {len(vocab)} tokens but the caption model "
            f"{captioner.vocab_size}; retrain with `dank train language --run "
            f"{run_dir}`"
        )
    return RunParts(
        classifier.model,
        captioner,
        list(vocab.tokens),
        classifier.catalogue,
        classifier.threshold,
        classifier.image_size,
    )
