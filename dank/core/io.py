"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside ``path``; renames it into place on success.

    Works for a file or a directory written at the yielded path. On an exception
    the temporary is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{_short(path.name)}.", dir=path.parent))
    target = tmp / path.name
    try:
        yield target
        if path.is_dir() and not path.is_symlink():
            old = path.with_name(f".{_short(path.name)}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(target, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _short(name, keep=40):
    """``name`` cut to ``keep`` characters, for temporary names made from it.

    A temporary's prefix and random suffix must not push a long file name
    (up to NAME_MAX, 255 bytes) over the limit.
    """
    return name[:keep]


def write_bytes(path, data):
    """Writes ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path, text):
    """Writes UTF-8 ``text`` to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path, obj):
    """Writes ``obj`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def read_json(path, what="file"):
    """Reads JSON from ``path``; a missing or bad file raises ``DankError``."""
    from dank.core.errors import DankError

    path = Path(path)
    if not path.is_file():
        raise DankError(f"{what} not found: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DankError(f"{what} {path} is not valid JSON ({e}); rebuild it.") from e


def read_build_json(path, file_name, what, version):
    """Reads a versioned JSON file of a data build (``{"format": version, ...}``).

    Args:
        path: the file, or a directory that holds ``file_name``.
        file_name: the file's name inside a data build.
        what: how to name it in errors ("catalogue", "vocabulary").
        version: the format number this dank reads.

    Returns:
        ``(path, data)``: the resolved path and the parsed dict.

    Raises:
        DankError: missing, not JSON, or another format; the fix is a rebuild.
    """
    from dank.core.errors import DankError

    path = Path(path)
    if path.is_dir():
        path = path / file_name
    data = read_json(path, what=what)
    if not isinstance(data, dict) or data.get("format") != version:
        raise DankError(
            f"{path} is not a format-{version} {what}; rebuild the data with "
            "`dank data build`"
        )
    return path, data
