"""The installed metadata: one TensorFlow wheel per extra, never two."""

import configparser
import importlib.metadata
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from dank import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[2]
TF_WHEELS = {"tensorflow", "tensorflow-cpu", "tensorflow-tpu"}


def _requirements():
    return [Requirement(line) for line in importlib.metadata.requires(DISTRIBUTION)]


def _tf_wheels(extras):
    """The TensorFlow wheels ``pip install dank-learning[extras]`` would pull in."""
    found = set()
    for req in _requirements():
        if req.name.lower() not in TF_WHEELS:
            continue
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras):
            found.add(req.name.lower())
    return found


def test_the_distribution_is_named_in_one_place_and_installs_dank():
    # `dank` is taken on PyPI: the distribution has its own name, the import
    # package and the command keep `dank`.
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    assert setup["metadata"]["name"] == DISTRIBUTION != "dank"
    dist = importlib.metadata.distribution(DISTRIBUTION)
    assert dist.metadata["Name"] == DISTRIBUTION
    scripts = {
        e.name: e.value for e in dist.entry_points if e.group == "console_scripts"
    }
    assert scripts == {"dank": "dank.apps.cli:main"}


def test_the_base_install_pins_no_tensorflow_wheel():
    assert _tf_wheels([]) == set()


@pytest.mark.parametrize(
    "extra, wheel",
    [
        ("cpu", "tensorflow-cpu"),
        ("gpu", "tensorflow"),
        ("tpu", "tensorflow-tpu"),
    ],
)
def test_each_extra_brings_exactly_one_tensorflow(extra, wheel):
    # With the dev and spiders extras too, as `make setup` installs them.
    assert _tf_wheels([extra]) == {wheel}
    assert _tf_wheels([extra, "dev", "spiders"]) == {wheel}


def test_the_gpu_extra_brings_cuda_from_pip():
    gpu = [
        r
        for r in _requirements()
        if r.marker is not None and r.marker.evaluate({"extra": "gpu"})
    ]
    assert [(r.name, sorted(r.extras)) for r in gpu] == [("tensorflow", ["and-cuda"])]


def test_this_environment_holds_one_tensorflow_wheel():
    installed = set()
    for name in TF_WHEELS:
        try:
            importlib.metadata.version(name)
            installed.add(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    assert len(installed) == 1, installed


def test_make_setup_gpu_recreates_the_venv_with_the_gpu_extra():
    # A dry run: what `make setup GPU=1` would do in a checkout set up for CPU.
    dry = subprocess.run(
        ["make", "-n", "setup", "GPU=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "-e '.[gpu,dev]'" in dry and ".installed-cpu" in dry
    assert "tensorflow-cpu" not in dry and "uninstall" not in dry
