"""A run of the ``tiny`` presets on synthetic data: for tests, the fuzz and the soak.

``train_tiny_models(data, run)`` trains both models of a run on a data build;
``train_tiny_run(folder)`` first writes a synthetic source and its build.
About a minute on 2 cores.
"""

from pathlib import Path


def train_tiny_models(data, run):
    """Trains the ``tiny`` vision and caption models of ``run`` on ``data``."""
    from dank.models.language.config import PRESETS as LANGUAGE
    from dank.models.language.train import train_language
    from dank.models.vision.config import PRESETS as VISION
    from dank.models.vision.train import train_vision

    train_vision(data, run, VISION["tiny"])
    train_language(data, run, LANGUAGE["tiny"], preset="tiny", verbose=0)
    return Path(run)


def train_tiny_run(folder):
    """A synthetic source, its build and a tiny run under ``folder``; the run."""
    from dank.data.build import build_dataset
    from dank.data.synthetic import make_source

    folder = Path(folder)
    build_dataset(make_source(folder / "source"), folder / "data")
    return train_tiny_models(folder / "data", folder / "run")
