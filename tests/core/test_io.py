"""Atomic writes leave either the old content or the new, never a half."""

import pytest

from dank.core import io as dank_io
from dank.core.errors import DankError


def test_write_and_read_json(tmp_path):
    path = tmp_path / "sub" / "x.json"
    dank_io.write_json(path, {"a": 1, "é": [1, 2]})
    assert dank_io.read_json(path) == {"a": 1, "é": [1, 2]}
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "x.txt"
    dank_io.write_text(path, "old")
    with pytest.raises(RuntimeError), dank_io.atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_atomic_directory_replace(tmp_path):
    target = tmp_path / "out"
    for content in ("one", "two"):
        with dank_io.atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "f").write_text(content)
    assert (target / "f").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_read_json_errors(tmp_path):
    with pytest.raises(DankError, match="not found"):
        dank_io.read_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(DankError, match="not valid JSON"):
        dank_io.read_json(bad)


def test_fit_verbosity_follows_the_terminal():
    import io

    from dank.core.progress import fit_verbosity

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert fit_verbosity(Tty()) == 1
    assert fit_verbosity(io.StringIO()) == 2
