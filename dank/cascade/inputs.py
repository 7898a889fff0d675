"""Turns the pictures a user names into image bytes, with one error per bad file."""

import sys
from dataclasses import dataclass
from pathlib import Path

from dank.core.errors import DankError
from dank.core.images import (
    SUFFIXES,
    display_name,
    downscale,
    open_image,
    read_stream,
    to_jpeg,
)

# What a directory of pictures is searched for: every format ``open_image`` reads.
IMAGE_SUFFIXES = SUFFIXES


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

    @property
    def shown(self):
        """The name as printable text (for JSON lines and messages)."""
        return display_name(self.name)


def expand_paths(names):
    """Expands directories into their image files (sorted); keeps other names.

    A name ending like a picture (``x.jpg``) is never expanded, even when it is a
    directory or a link to one, and a directory with no pictures (or one that
    cannot be listed) stays in the list: either gets an error line of its own
    while the other names carry on.

    Raises:
        DankError: no name is left but directories without pictures.
    """
    out, empty = [], []
    for name in map(str, names):
        path = Path(name)
        if name == "-" or _looks_like_image(name) or not _is_dir(path):
            out.append(name)
            continue
        try:
            files = sorted(
                p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
            )
        except OSError:
            files = []  # Unreadable: open_image names the reason.
        if not files:
            empty.append(name)
        out += [str(p) for p in files] or [name]
    if empty and len(empty) == len(out):
        raise DankError(_no_images(empty[0]))
    return out


def _no_images(name):
    return (
        f"{display_name(name)}: directory has no images it can read "
        "(.jpg, .png, .gif, .webp, .tiff, ...: any format Pillow reads)"
    )


def _looks_like_image(name):
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def _is_dir(path):
    try:
        return path.is_dir()
    except (OSError, ValueError):  # A name too long or with a NUL byte.
        return False


def load_inputs(names, model_side, keep_side=1024):
    """Decodes each named image safely; a bad one carries its error instead.

    Args:
        names: paths, directories or "-" (stdin, at most once, read up to
            ``dank.core.images.MAX_UPLOAD_BYTES``).
        model_side: the classifier's input side; the bytes handed to the cascade
            are a JPEG at most 4x that side, so decoding in-graph stays cheap.
        keep_side: the drawn meme's longer side is at most this many pixels.
    """
    items = []
    for name in expand_paths(names):
        item = InputImage(name)
        try:
            if name != "-" and _is_dir(Path(name)) and not _looks_like_image(name):
                raise DankError(_no_images(name))
            source = _stdin() if name == "-" else name
            image = downscale(open_image(source, name=item.shown), keep_side)
            item.image = image
            item.encoded = to_jpeg(downscale(image, model_side * 4), quality=95)
        except DankError as e:
            item.error = str(e)
        items.append(item)
    return items


def _stdin():
    return read_stream(getattr(sys.stdin, "buffer", None), name="-")
