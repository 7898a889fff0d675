"""Finds the meme font: bundled Anton, then DejaVu Sans Bold, then Pillow's default."""

import functools
import logging
from importlib import resources
from pathlib import Path

from PIL import ImageFont

log = logging.getLogger(__name__)

# Tried in order; the first that loads wins.
DEJAVU_BOLD = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/local/share/fonts/DejaVuSans-Bold.ttf",
    "DejaVuSans-Bold.ttf",  # Found by FreeType on its own search path, if at all.
)


def bundled_font_path():
    """Returns the path of the bundled Anton font file."""
    return Path(str(resources.files("dank") / "assets" / "fonts" / "Anton-Regular.ttf"))


@functools.cache
def font_path():
    """Returns the path of the best available meme font, or None for Pillow's default.

    Warns once when it has to fall back from Anton.
    """
    candidates = (str(bundled_font_path()), *DEJAVU_BOLD)
    for i, candidate in enumerate(candidates):
        try:
            ImageFont.truetype(candidate, 12)
        except OSError:
            continue
        if i > 0:
            log.warning("Anton font not found; falling back to %s", candidate)
        return candidate
    log.warning("no TrueType font found; using Pillow's default bitmap font")
    return None


@functools.lru_cache(maxsize=256)
def load_font(size):
    """Returns the meme font at ``size`` pixels (Pillow's default if none loads)."""
    path = font_path()
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, int(size))
