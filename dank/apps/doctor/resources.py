"""Resource checks: free disk and memory against what training needs, the meme
font, and the ImageNet weights that ``--weights imagenet`` expects offline.

The probes (``free_disk_bytes``, ``available_memory_bytes``, ``font_path``) are
module functions so tests can replace them.
"""

import dataclasses
import re
import shutil
from pathlib import Path

from dank.apps.doctor.report import fail, ok, skip, warn

# Free disk for a training run: a data build (~10 MB starter, ~300 MB full),
# ResNet50 model.keras (~95 MB) plus BackupAndRestore copies and logs.
MIN_DISK_GIB = 1.0
GOOD_DISK_GIB = 3.0
# Available memory for `make train` (cpu preset): ResNet50 training at 96 px,
# tf.data buffers and the caption model, with headroom.
MIN_RAM_GIB = 2.0
GOOD_RAM_GIB = 4.0


def free_disk_bytes(path):
    path = Path(path).resolve()
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


@dataclasses.dataclass(frozen=True)
class Limit:
    """One threshold of an amount check: below ``gib``, this cause and fix."""

    gib: float  # The threshold, GiB.
    cause: str
    fix: str


def check_amount(name, gib, message, key, fails, warns, needed=None):
    """``fail`` below ``fails.gib``, ``warn`` below ``warns.gib``, else ``ok``.

    Args:
        name: the check's name.
        gib: the amount found, GiB.
        message: what was found, in words.
        key: the ``data`` key that holds ``gib`` for ``--json``.
        fails: the failure's ``Limit``.
        warns: the warning's ``Limit``.
        needed: the GiB a failure says training needs (default ``fails.gib``).
    """
    data = {key: round(gib, 2)}
    if gib < fails.gib:
        needed = fails.gib if needed is None else needed
        return fail(
            name,
            f"{message}; training needs about {needed:g} GiB",
            fails.cause,
            fails.fix,
            **data,
        )
    if gib < warns.gib:
        return warn(name, message, warns.cause, warns.fix, **data)
    return ok(name, message, **data)


def check_disk(path="."):
    gib = free_disk_bytes(path) / 2**30
    return check_amount(
        "disk",
        gib,
        f"{gib:.1f} GiB free at {Path(path)}",
        "free_gib",
        Limit(
            MIN_DISK_GIB,
            "the disk is nearly full",
            "free space, or train into another disk with `make train RUN=/bigdisk/run`",
        ),
        Limit(
            GOOD_DISK_GIB,
            f"enough for one run, tight for several (aim for {GOOD_DISK_GIB:g} GiB)",
            "delete old runs (`rm -rf runs/OLD`) or their backup/ folders",
        ),
    )


def available_memory_bytes():
    """MemAvailable from /proc/meminfo (None where unknown)."""
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    m = re.search(r"^MemAvailable:\s*(\d+)\s*kB", text, re.MULTILINE)
    return int(m.group(1)) * 1024 if m else None


def check_memory():
    available = available_memory_bytes()
    if available is None:
        return skip("memory", "cannot read available memory on this system")
    gib = available / 2**30
    return check_amount(
        "memory",
        gib,
        f"{gib:.1f} GiB available",
        "available_gib",
        Limit(
            MIN_RAM_GIB,
            "too little free memory: training would be killed (exit 137)",
            "close other programs, or train the tiny preset: `make train PRESET=tiny`",
        ),
        Limit(
            GOOD_RAM_GIB,
            f"below the ~{GOOD_RAM_GIB:g} GiB the cpu preset wants",
            "close other programs, or lower the batch size",
        ),
        needed=GOOD_RAM_GIB,
    )


def font_path():
    from dank.render.font import font_path as find

    return find()


def check_font():
    from dank.render.font import bundled_font_path

    path = font_path()
    if path is None:
        return warn(
            "font",
            "no TrueType font; memes use Pillow's small bitmap font",
            "the bundled Anton font is missing from the install",
            "`.venv/bin/pip install --force-reinstall --no-deps -e .` (or "
            "`apt install fonts-dejavu-core`)",
            path=None,
        )
    if Path(path) != bundled_font_path():
        return warn(
            "font",
            f"Anton missing; using {path}",
            "the bundled font (dank/assets/fonts) is missing from the install",
            "`.venv/bin/pip install --force-reinstall --no-deps -e .`",
            path=path,
        )
    return ok("font", f"Anton ({path})", path=path)


def check_imagenet_weights():
    """Whether ``--weights imagenet`` would find its file (never downloaded)."""
    from dank.models.vision.weights import imagenet_cache_path

    path = imagenet_cache_path()
    if path.is_file():
        return ok("ImageNet weights", f"cached at {path}", path=str(path))
    return ok(
        "ImageNet weights",
        f"not cached (only `--weights imagenet` needs them; it would stop at once: "
        f"copy the file to {path})",
        path=str(path),
        cached=False,
    )
