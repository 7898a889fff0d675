"""The run directory: the unit users handle.

A run holds everything needed to use a trained system::

    runs/default/
      run.json          versions, preset, data build it came from
      catalogue.json    copied from the data build (labels -> templates)
      vocab.json        copied from the data build
      vision/           model.keras, calibration.json, metrics.json, backup/, logs/
      language/         model.keras, metrics.json, backup/, logs/
      samples/          memes drawn at the end of ``make train``

``RunLayout`` is the one place that knows where each file of a run lives;
training writes through it and ``dank.models.run.Run`` loads through it.
"""

import contextlib
import logging
import shlex
import shutil
from pathlib import Path

from dank import __version__
from dank.core import constants
from dank.core.errors import DankError
from dank.core.io import read_json, write_bytes, write_json

log = logging.getLogger(__name__)

# Bump when a run written by an older dank can no longer be loaded.
RUN_FORMAT = 1

# The folder of template pictures in a data build (``dank data build``).
TEMPLATES_DIR = "templates"

# What the model of each component is called in messages; a caption-model
# variant (``language-image``...) is named after ``language``.
MODEL_NAMES = {
    constants.VISION_DIR: "vision model",
    constants.LANGUAGE_DIR: "caption model",
    "humor": "humour model",
}


class RunLayout:
    """Where each file of a run directory lives; reads and writes nothing.

    Args:
        root: the run directory.
    """

    def __init__(self, root):
        self.root = Path(root)

    def __repr__(self):
        return f"RunLayout({str(self.root)!r})"

    @property
    def info_file(self):
        """``run.json``: versions, the data build, each component's config."""
        return self.root / constants.RUN_CONFIG_FILE

    @property
    def catalogue_file(self):
        """The catalogue copied from the data build."""
        return self.root / constants.CATALOGUE_FILE

    @property
    def vocab_file(self):
        """The vocabulary copied from the data build."""
        return self.root / constants.VOCAB_FILE

    @property
    def shared_files(self):
        """The files copied from the data build, which every component shares."""
        return (self.catalogue_file, self.vocab_file)

    @property
    def samples_dir(self):
        """Where ``make train`` draws its sample memes."""
        return self.root / constants.SAMPLES_DIR

    def component_dir(self, component):
        """The subdirectory of ``component`` (``vision``, ``language-image``...)."""
        return self.root / component

    def model_file(self, component):
        """The component's trained model (present once training finished)."""
        return self.component_dir(component) / constants.MODEL_FILE

    def metrics_file(self, component):
        """The metrics training recorded for the component."""
        return self.component_dir(component) / constants.METRICS_FILE

    def calibration_file(self):
        """The vision model's calibrated ``known`` threshold."""
        return self.component_dir(constants.VISION_DIR) / constants.CALIBRATION_FILE

    def backup_dir(self, component):
        """Where Keras ``BackupAndRestore`` keeps an unfinished training."""
        return self.component_dir(component) / constants.BACKUP_DIR

    def relative(self, path):
        """``path`` relative to the run directory, for messages."""
        return Path(path).relative_to(self.root).as_posix()


def template_image_path(data_dir, template):
    """Where the picture of ``template`` (a catalogue entry) lies in a data build."""
    return Path(data_dir) / TEMPLATES_DIR / template.image


def build_difference(run_dir, data_dir):
    """The name of the first file the run copied from a data build (catalogue,
    vocabulary) that is missing or differs from ``data_dir``'s, or None."""
    for ours in RunLayout(run_dir).shared_files:
        theirs = Path(data_dir) / ours.name
        if not ours.is_file() or ours.read_bytes() != theirs.read_bytes():
            return ours.name
    return None


def model_name(component):
    """What ``component``'s model is called: ``caption model (variant image)``."""
    base, _, variant = component.partition("-")
    name = MODEL_NAMES.get(base, f"{base} model")
    return f"{name} (variant {variant})" if variant else name


def train_command(run_dir, component):
    """The command that trains ``component`` of ``run_dir``, for messages."""
    base, _, variant = component.partition("-")
    flags = f" --variant {variant}" if variant else ""
    return f"dank train {base}{flags} --run {shlex.quote(str(run_dir))}"


def prepare_run(run_dir, data_dir, component, config):
    """Creates or updates ``run_dir`` for training ``component`` from ``data_dir``.

    Copies the catalogue and vocabulary of the data build into the run (refusing
    to mix builds), and records the component's config in ``run.json``.

    Args:
        run_dir: the run directory; created if missing.
        data_dir: a data build (``dank data build --out``).
        component: ``"vision"`` or ``"language"``.
        config: a JSON-able dict describing the component's configuration.

    Returns:
        The component's own subdirectory (``run_dir/component``).
    """
    run_dir, data_dir = Path(run_dir), Path(data_dir)
    layout = RunLayout(run_dir)
    for target in layout.shared_files:
        name = target.name
        source = data_dir / name
        if not source.is_file():
            raise DankError(
                f"{source} is missing: {data_dir} is not a data build. "
                "Run `make data` or `dank data build --source DIR --out DIR` first."
            )
        if target.is_file():
            if target.read_bytes() != source.read_bytes():
                raise DankError(
                    f"{run_dir} was trained on another data build ({name} differs "
                    f"from {source}); use a new --run directory."
                )
        else:
            write_bytes(target, source.read_bytes())  # Whole, or not at all.
    info = read_run_info(run_dir) if layout.info_file.is_file() else {}
    info.update(format=RUN_FORMAT, dank_version=__version__, data=str(data_dir))
    info.setdefault("components", {})[component] = config
    write_json(layout.info_file, info)
    sub = layout.component_dir(component)
    sub.mkdir(parents=True, exist_ok=True)
    return sub


def read_run_info(run_dir):
    """Returns ``run.json`` of ``run_dir``, checking that this dank can load it."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DankError(
            f"run directory {run_dir} not found; train one with `make train` "
            "or pass --run DIR"
        )
    path = RunLayout(run_dir).info_file
    if not path.is_file():
        raise DankError(
            f"{run_dir} is not a run directory (no {path.name}); train one with "
            "`make train` or pass --run DIR"
        )
    info = read_json(path, what="run description")
    if info.get("format") != RUN_FORMAT:
        raise DankError(
            f"{run_dir} was written by dank {info.get('dank_version', '?')} "
            f"(run format {info.get('format')}); this dank {__version__} reads run "
            f"format {RUN_FORMAT}. Retrain it with `make train`."
        )
    return info


def finished_metrics(component_path, force=False):
    """The metrics of a finished component, or None if it must be trained.

    A component is finished when it has both its model and its metrics. With
    ``force`` a finished one is cleared (model, metrics, backups) so that it
    trains again from scratch.
    """
    sub = Path(component_path)
    model, metrics = sub / constants.MODEL_FILE, sub / constants.METRICS_FILE
    if not (model.is_file() and metrics.is_file()):
        return None
    if force:
        log.info("%s is finished; --force: training it again", sub)
        for path in (model, metrics):
            path.unlink()
        shutil.rmtree(sub / constants.BACKUP_DIR, ignore_errors=True)
        return None
    log.info(
        "%s is already trained (%s); nothing to do. Pass --force to train it again.",
        sub,
        model,
    )
    return read_json(metrics, what="metrics")


@contextlib.contextmanager
def undo_on_error(run_dir, component):
    """Leaves no half-written run behind when training fails with a DankError.

    A run directory this block created is removed again; in an existing run,
    a component directory it created is removed and ``run.json`` restored.
    """
    run_dir, layout = Path(run_dir), RunLayout(run_dir)
    sub, info = layout.component_dir(component), layout.info_file
    existed, sub_existed = run_dir.exists(), sub.exists()
    before = info.read_bytes() if info.is_file() else None
    try:
        yield
    except DankError:
        if not existed:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            if not sub_existed:
                shutil.rmtree(sub, ignore_errors=True)
            if before is not None:
                write_bytes(info, before)
        raise
