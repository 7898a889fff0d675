"""The tree imports as packages: no ``sys.path`` edits, every script a module.

``dank`` and ``dank_spiders`` are installed (setup.cfg lists their packages);
``tools`` and ``experiments`` are packages run from the repository root with
``python -m``, which puts the root on the path.
"""

import configparser
import importlib.util
from pathlib import Path

import pytest
from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
CODE = ("dank", "spiders", "tools", "experiments")
SCRIPTS = ("tools", "experiments")


def _python_files(*folders):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_no_module_edits_sys_path():
    found = [
        str(path.relative_to(ROOT))
        for path in _python_files(*CODE)
        if "sys.path" in path.read_text(encoding="utf-8")
    ]
    assert found == [], "import through packages instead of editing sys.path"


@pytest.mark.parametrize(
    "path",
    list(_python_files(*SCRIPTS)),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_script_is_a_module_of_its_package(path):
    # find_spec runs only the (empty) package __init__ files, not the script.
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    name = name.removesuffix(".__init__")
    spec = importlib.util.find_spec(name)
    assert spec is not None and Path(spec.origin) == path, name


def test_setup_cfg_lists_every_package():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = config["options"]["packages"].split()
    found = find_packages(str(ROOT), include=["dank", "dank.*"])
    found += find_packages(str(ROOT / "spiders"))
    assert sorted(listed) == sorted(found)


def test_installed_dank_spiders_is_this_checkouts():
    spec = importlib.util.find_spec("dank_spiders")
    assert spec is not None, "pip install -e . installs dank_spiders"
    assert Path(spec.origin) == ROOT / "spiders" / "dank_spiders" / "__init__.py"


def test_dank_spiders_has_no_import_cycle():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("dank_spiders", cache_dir=None)
    cycles = [
        (module, imported)
        for module in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(module))
        if graph.chain_exists(importer=imported, imported=module)
    ]
    assert cycles == []
