"""Turns the pictures a user names into ``Picture``s, with one error per bad file."""

from dataclasses import dataclass
from pathlib import Path

from dank.core.errors import DankError
from dank.core.images import MEME_SIDE, SUFFIXES, display_name, prepare

# What a directory of pictures is searched for: every format ``prepare`` reads.
IMAGE_SUFFIXES = SUFFIXES


@dataclass
class InputImage:
    """One picture to caption.

    Attributes:
        name: how the user named it (a path, "-" for stdin, or a template id).
        picture: the ``dank.core.images.Picture``, or None when it failed.
        error: why it failed, or None.
    """

    name: str
    picture: object = None
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
            files = []  # Unreadable: prepare names the reason.
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


def load_inputs(names, model_side, keep_side=MEME_SIDE):
    """Prepares each named picture (``prepare``); a bad one carries its error.

    Args:
        names: paths, directories or "-" (stdin, at most once, read up to
            ``dank.core.images.MAX_UPLOAD_BYTES``).
        model_side: the classifier's input side (for ``Picture.encoded``).
        keep_side: the drawn meme's longer side is at most this many pixels.
    """
    items = []
    for name in expand_paths(names):
        item = InputImage(name)
        try:
            if name != "-" and _is_dir(Path(name)) and not _looks_like_image(name):
                raise DankError(_no_images(name))
            item.picture = prepare(
                name, name=item.shown, max_side=keep_side, model_side=model_side
            )
        except DankError as e:
            item.error = str(e)
        items.append(item)
    return items
