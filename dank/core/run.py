"""The run directory: the unit users handle.

A run holds everything needed to use a trained system::

    runs/default/
      run.json          versions, preset, data build it came from
      catalogue.json    copied from the data build (labels -> templates)
      vocab.json        copied from the data build
      vision/           model.keras, calibration.json, metrics.json, backup/, logs/
      language/         model.keras, metrics.json, backup/, logs/
      samples/          memes drawn at the end of ``make train``

Everything that loads a model loads a run, through this module.
"""

import contextlib
import logging
import shutil
from pathlib import Path

from dank import __version__
from dank.core import constants
from dank.core.errors import DankError
from dank.core.io import read_json, write_bytes, write_json

log = logging.getLogger(__name__)

# Bump when a run written by an older dank can no longer be loaded.
RUN_FORMAT = 1


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
    for name in (constants.CATALOGUE_FILE, constants.VOCAB_FILE):
        source = data_dir / name
        if not source.is_file():
            raise DankError(
                f"{source} is missing: {data_dir} is not a data build. "
                "Run `make data` or `dank data build --source DIR --out DIR` first."
            )
        target = run_dir / name
        if target.is_file():
            if target.read_bytes() != source.read_bytes():
                raise DankError(
                    f"{run_dir} was trained on another data build ({name} differs "
                    f"from {source}); use a new --run directory."
                )
        else:
            run_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    info = (
        read_run_info(run_dir)
        if (run_dir / constants.RUN_CONFIG_FILE).is_file()
        else {}
    )
    info.update(format=RUN_FORMAT, dank_version=__version__, data=str(data_dir))
    info.setdefault("components", {})[component] = config
    write_json(run_dir / constants.RUN_CONFIG_FILE, info)
    sub = run_dir / component
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
    info = read_json(run_dir / constants.RUN_CONFIG_FILE, what="run description")
    if info.get("format") != RUN_FORMAT:
        raise DankError(
            f"{run_dir} was written by dank {info.get('dank_version', '?')} "
            f"(run format {info.get('format')}); this dank {__version__} reads run "
            f"format {RUN_FORMAT}. Retrain it with `make train`."
        )
    return info


def component_dir(run_dir, component):
    """Returns ``run_dir/component``, which must hold a trained model."""
    read_run_info(run_dir)
    sub = Path(run_dir) / component
    if not (sub / constants.MODEL_FILE).is_file():
        raise DankError(
            f"{run_dir} has no trained {component} model; run "
            f"`dank train {component} --run {run_dir}`"
        )
    return sub


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
    run_dir = Path(run_dir)
    sub, info = run_dir / component, run_dir / constants.RUN_CONFIG_FILE
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
