"""Publishing a data build: ``OUT`` switches from the old build to the new in one step.

Builds are written into ``OUT.builds/<id>.partial``, renamed to
``OUT.builds/<id>`` when complete, and ``OUT`` is a relative symlink to the
current one. The switch is a single ``rename(2)`` of a new symlink over ``OUT``,
so a reader (training, ``make``'s ``OUT/.built`` stamp) always finds a whole
build at ``OUT``, the old or the new one, even if the build is killed::

    data/build/starter -> starter.builds/20250101T120000-4242-k3j_x9
    data/build/starter.builds/
        .lock                                 held while a build is written
        20250101T120000-4242-k3j_x9/          the current build
        20250102T090000-4300-0ab8sd.partial/  a build killed mid-way: removed
                                              by the next build

Leftovers of a killed build are removed by the next build of the same ``OUT``.
"""

import contextlib
import fcntl
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from dank.core.errors import DankError

log = logging.getLogger(__name__)

PARTIAL = ".partial"  # Suffix of a build being written.
LINK_PREFIX = ".link-"  # A new symlink, before it is renamed over OUT.
# Names this module creates inside OUT.builds; nothing else there is touched.
_OWN_NAME = re.compile(r"(\.link-)?\d{8}T\d{6}-\d+(-\w+)?(\.partial)?$")


def builds_dir(out):
    """The folder that holds the builds ``out`` points at: ``OUT.builds``."""
    out = Path(out)
    return out.with_name(out.name + ".builds")


def current_build(out):
    """The build folder ``out`` points at, or ``None`` when it is not our symlink."""
    out = Path(out)
    if not out.is_symlink():
        return None
    target = (out.parent / os.readlink(out)).resolve()
    return target if target.parent == builds_dir(out).resolve() else None


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_stale(out):
    """Removes builds of ``out`` that are neither current nor being written.

    Only call it holding the lock (``publish``): then no other build is running.
    Also removes what the old two-rename scheme (``dank.core.io.atomic_path``) left
    beside ``OUT`` when killed: ``.OUT.<random>`` and ``.OUT.old-<pid>``.

    Returns:
        The number of entries removed.
    """
    out = Path(out)
    current = current_build(out)
    removed = 0
    builds = builds_dir(out)
    for entry in builds.iterdir() if builds.is_dir() else ():
        stale = entry.is_symlink() or entry.resolve() != current
        if _OWN_NAME.match(entry.name) and stale:
            _remove(entry)
            removed += 1
    for entry in out.parent.glob(f".{out.name}.*"):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    if removed:
        log.info("removed %d stale build folder(s) of %s", removed, out)
    return removed


@contextlib.contextmanager
def _lock(builds, out):
    builds.mkdir(parents=True, exist_ok=True)
    with open(builds / ".lock", "a") as f:
        try:
            # flock, not a pid file: the kernel drops it when a build is killed.
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise DankError(
                f"another `dank data build` is writing {out}; wait for it to finish "
                "or pass another --out"
            ) from e
        yield


def _point(out, target):
    """Makes ``out`` a symlink to ``target`` with one atomic rename."""
    link = target.with_name(LINK_PREFIX + target.name)
    link.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, out.parent), link)
    if out.is_dir() and not out.is_symlink():
        # A build made before builds were symlinked: move it aside first. This
        # once, readers of OUT see nothing between the two renames.
        old = builds_dir(out) / time.strftime("%Y%m%dT%H%M%S-0")
        os.replace(out, old)
        log.info("moved the older build %s to %s", out, old)
    os.replace(link, out)


@contextlib.contextmanager
def publish(out):
    """Yields an empty folder for a build; on success ``out`` points at it.

    On an exception the folder is removed and ``out`` is untouched. Only one
    build of ``out`` runs at a time (``DankError`` for a second one).
    """
    out = Path(out)
    builds = builds_dir(out)
    if builds.exists() and not builds.is_dir():
        raise DankError(f"{builds} is not a folder; remove it or pass another --out")
    with _lock(builds, out):
        clean_stale(out)
        stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-"
        tmp = Path(tempfile.mkdtemp(prefix=stamp, suffix=PARTIAL, dir=builds))
        try:
            yield tmp
            final = tmp.with_name(tmp.name[: -len(PARTIAL)])
            os.replace(tmp, final)
            _point(out, final)
        finally:
            _remove(tmp)
        clean_stale(out)
