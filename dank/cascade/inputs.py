"""Turns the pictures a user names into image bytes, with one error per bad file."""

import sys
from dataclasses import dataclass
from pathlib import Path

from dank.errors import DankError
from dank.images import downscale, open_image, to_jpeg

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp")


@dataclass
class InputImage:
    """One picture to caption.

    Attributes:
        name: how the user named it (a path, or "-" for stdin).
        image: the decoded RGB picture (for drawing), or None when it failed.
        encoded: JPEG bytes for the cascade's in-graph decoder (small and safe).
        error: why it failed, or None.
    """

    name: str
    image: object = None
    encoded: bytes = b""
    error: str | None = None


def expand_paths(names):
    """Expands directories into their image files (sorted); keeps other names."""
    out = []
    for name in map(str, names):
        path = Path(name)
        if name != "-" and path.is_dir():
            files = sorted(
                p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not files:
                raise DankError(
                    f"{path}: directory has no images ({', '.join(IMAGE_SUFFIXES)})"
                )
            out += [str(p) for p in files]
        else:
            out.append(name)
    return out


def load_inputs(names, model_side, keep_side=1024):
    """Decodes each named image safely; a bad one carries its error instead.

    Args:
        names: paths, directories or "-" (stdin, at most once).
        model_side: the classifier's input side; the bytes handed to the cascade
            are a JPEG at most 4x that side, so decoding in-graph stays cheap.
        keep_side: the drawn meme's longer side is at most this many pixels.
    """
    items = []
    for name in expand_paths(names):
        try:
            source = sys.stdin.buffer.read() if name == "-" else name
            image = downscale(open_image(source, name=name), keep_side)
            encoded = to_jpeg(downscale(image, model_side * 4), quality=95)
            items.append(InputImage(name, image, encoded))
        except DankError as e:
            items.append(InputImage(name, error=str(e)))
    return items
