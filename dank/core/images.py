"""Safe image loading: every image from a user or a dataset comes through here.

Corrupt, truncated, non-image, huge (decompression-bomb), unreadable and missing
files each raise ``DankError`` with a message that names the file, so callers
can report the file and carry on with the rest of a batch.
"""

import dataclasses
import io
import stat
import sys
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from dank.core.errors import DankError

MAX_FILE_BYTES = 32 * 1024 * 1024  # Larger files are refused before decoding.
# Largest picture read from a stream (``dank generate -``): the same 8 MiB as a
# request body of ``dank serve`` (``ServeConfig.max_upload_bytes``).
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # About 6300x6300; past this Pillow would risk a bomb.
MEME_SIDE = 1024  # Longer side in pixels of a drawn meme (generate and serve).
# The JPEG handed to the cascade is at most this many times the classifier's
# input side, so its in-graph decode stays cheap and a huge photo costs no more
# than a small one.
MODEL_SIDE_FACTOR = 4
MODEL_JPEG_QUALITY = 95  # Of that JPEG.

Image.init()
# Pillow can identify these but not decode them safely on its own: EPS runs
# Ghostscript (an interpreter) on the file, and the rest are stubs that need an
# external handler or only read a header.
UNSAFE_FORMATS = frozenset({"EPS", "BUFR", "GRIB", "HDF5", "WMF", "MPEG", "IPTC"})
# Every still format Pillow decodes itself (MPO arrives through the JPEG opener).
FORMATS = tuple(sorted(set(Image.OPEN) - UNSAFE_FORMATS))
# File name endings of those formats: what a directory of pictures is searched for.
SUFFIXES = tuple(
    sorted(
        ext
        for ext, fmt in Image.registered_extensions().items()
        if fmt in FORMATS or fmt == "MPO"
    )
)


def display_name(name):
    """``name`` as text that prints anywhere (a JSON line, a UTF-8 terminal).

    A file name whose bytes are not UTF-8 reaches Python with lone surrogates,
    which ``print`` refuses; those bytes are shown as ``\\xNN`` instead.
    """
    try:
        raw = str(name).encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # A surrogate that stands for no byte.
        raw = str(name).encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")


def read_image_bytes(path, limit=None, name=None):
    """Returns the bytes of the image file at ``path`` after size checks.

    Args:
        path: the file.
        limit: most bytes accepted (default ``MAX_FILE_BYTES``).
        name: what to call the file in error messages (default: the path).

    Raises:
        DankError: missing, unreadable, not a regular file, or too large.
    """
    limit = limit or MAX_FILE_BYTES
    path, name = Path(path), name or display_name(path)
    try:
        # stat before open: opening a FIFO would wait for a writer forever.
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise DankError(f"{name}: is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise DankError(f"{name}: not a file (a device, FIFO or socket)")
        _check_size(info.st_size, limit, name)
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError as e:
        raise DankError(f"{name}: no such file") from e
    except PermissionError as e:
        raise DankError(f"{name}: permission denied; make it readable") from e
    except OSError as e:  # A name too long, a loop of symlinks, an I/O error.
        raise DankError(f"{name}: cannot be read ({e.strerror or e})") from e
    except ValueError as e:  # A NUL byte or a stray surrogate in the name.
        raise DankError(f"{name}: not a valid file name ({e})") from e
    _check_size(len(data), limit, name)
    return data


def read_stream(stream, name="-", limit=None):
    """Reads at most ``limit`` bytes (default ``MAX_UPLOAD_BYTES``) of a stream.

    Reading stops one byte past the limit, so ``/dev/zero`` costs no more
    memory than an image that just fits.
    """
    limit = limit or MAX_UPLOAD_BYTES
    if stream is None:
        raise DankError(f"{name}: no standard input to read")
    try:
        data = stream.read(limit + 1)
    except OSError as e:
        raise DankError(f"{name}: cannot be read ({e.strerror or e})") from e
    _check_size(
        len(data),
        limit,
        name,
        what="limit of standard input (the upload limit of `dank serve`)",
        fix="save the picture to a file, or downscale it",
    )
    return data


def _check_size(size, limit, name, what="limit", fix="downscale the image first"):
    if size > limit:
        over = f"over the {_mib(limit)} {what}; {fix}"
        # A stream is read one byte past the limit, so its real size is unknown.
        known = "" if size == limit + 1 else f"{_mib(size)} is "
        raise DankError(f"{name}: {known}{over}")


def _mib(size):
    return f"{size / 2**20:.3g} MiB"


def open_image(source, name=None, max_pixels=MAX_PIXELS):
    """Decodes an image fully and returns it upright as an RGB ``PIL.Image``.

    The first frame of an animation (or of a phone's multi-picture MPO) is
    taken, and an EXIF orientation is applied, so a phone photo stands upright.

    Args:
        source: a path, or the encoded bytes of an image.
        name: what to call the image in error messages (defaults to the path).
        max_pixels: width * height above which the image is refused.

    Raises:
        DankError: the file is missing, unreadable, not an image, corrupt,
            truncated or huge.
    """
    return _decode(source, name, max_pixels)[0]


def _decode(source, name, max_pixels):
    """``open_image``, also giving the format and the stored size of the image."""
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        name = name or "<bytes>"
    else:
        name = name or display_name(source)
        data = read_image_bytes(source, name=name)
    if not data:
        raise DankError(f"{name}: empty file, not an image")
    try:
        with warnings.catch_warnings():
            # Pillow warns about each oddity of a damaged file; the outcome (a
            # picture or one DankError) is what the user needs to see.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            fmt, (width, height) = image.format, image.size
            if width * height > max_pixels:
                raise DankError(
                    f"{name}: {width}x{height} pixels is over the limit of "
                    f"{max_pixels:,}; downscale the image first"
                )
            image.seek(0)  # First frame of a GIF, an APNG or an MPO.
            image.load()
            image = ImageOps.exif_transpose(image) or image
            image = image if image.mode == "RGB" else image.convert("RGB")
            return image, fmt, (width, height)
    except DankError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DankError(f"{name}: refused as a decompression bomb ({e})") from e
    except UnidentifiedImageError as e:
        raise DankError(f"{name}: not an image (or a format Pillow cannot read)") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise DankError(f"{name}: corrupt or truncated image ({e})") from e
    except Exception as e:  # noqa: BLE001 - a decoder's bug on hostile bytes.
        # Pillow's decoders raise struct.error, IndexError, ZeroDivisionError...
        # on crafted files; each is still one bad picture, not a crash.
        kind = type(e).__name__
        raise DankError(f"{name}: corrupt image ({kind}: {e})") from e


@dataclasses.dataclass(frozen=True)
class Picture:
    """A picture ready for the models, made by ``prepare`` and nothing else.

    Attributes:
        name: where it came from, as printable text (a path, "-" for standard
            input, an upload's file name or a template id).
        image: the upright RGB ``PIL.Image``, at most ``max_side`` pixels long.
        size: ``(width, height)`` as stored in the file, before the EXIF turn
            and the downscale.
        format: Pillow's name of the file format ("JPEG", "PNG", ...).
        encoded: JPEG bytes of ``image`` at most ``MODEL_SIDE_FACTOR`` times
            the model's side, for the cascade's in-graph decoder (b"" when no
            ``model_side`` was given).
        boxes: a template's own text boxes when the picture is one (its layout
            is then used to draw), else None.
    """

    name: str
    image: object
    size: tuple
    format: str
    encoded: bytes = b""
    boxes: object = None

    @property
    def pixels(self):
        """``image`` as uint8 [H, W, 3]."""
        import numpy as np

        return np.asarray(self.image, dtype=np.uint8)


def prepare(
    source,
    name=None,
    max_side=None,
    model_side=None,
    max_pixels=MAX_PIXELS,
    boxes=None,
):
    """Reads, decodes, turns upright, converts and shrinks one picture.

    Every picture from a user (``dank generate``, ``dank classify``, an upload
    to ``dank serve``) or from a template comes in here, so each gets the same
    checks, the same EXIF handling and the same pixels.

    Args:
        source: a path; "-" for standard input (read up to
            ``MAX_UPLOAD_BYTES``); a binary file object (read up to the same
            limit); or the encoded bytes of an image.
        name: what to call it in errors and in ``Picture.name`` (default: the
            path, "-" or "<bytes>").
        max_side: shrink so the longer side is at most this (None: keep).
        model_side: the classifier's input side; with it, ``Picture.encoded``
            holds a JPEG at most ``MODEL_SIDE_FACTOR`` times that side.
        max_pixels: width * height above which the picture is refused.
        boxes: the template's text boxes, kept on the ``Picture``.

    Raises:
        DankError: missing, unreadable, too large, not an image, corrupt,
            truncated or over the pixel limit; the message names the picture.
    """
    if isinstance(source, str) and source == "-":
        name = name or "-"
        source = read_stream(getattr(sys.stdin, "buffer", None), name=name)
    elif hasattr(source, "read"):
        name = name or "-"
        source = read_stream(source, name=name)
    elif not isinstance(source, bytes | bytearray):
        name = name or display_name(source)
    name = name or "<bytes>"
    image, fmt, size = _decode(source, name, max_pixels)
    if max_side is not None:
        image = downscale(image, max_side)
    encoded = b""
    if model_side is not None:
        small = downscale(image, model_side * MODEL_SIDE_FACTOR)
        encoded = to_jpeg(small, MODEL_JPEG_QUALITY)
    return Picture(name, image, size, fmt, encoded, boxes)


def template_picture(path, template, max_side=MEME_SIDE, model_side=None):
    """A template's own picture (``path``, in the run's data build) as a ``Picture``.

    It is named by the template's id and carries its text boxes, so the meme is
    drawn in the template's own layout.

    Args:
        path: the picture's file (``dank.models.run.Run.template_image_path``).
        template: the catalogue's ``Template``.
        max_side: as for ``prepare``.
        model_side: as for ``prepare``.

    Raises:
        DankError: the picture is missing (rebuild the data) or unreadable.
    """
    if not Path(path).is_file():
        raise DankError(
            f"template image {path} not found; rebuild the data with `make data`"
        )
    picture = prepare(path, max_side=max_side, model_side=model_side)
    return dataclasses.replace(picture, name=template.id, boxes=template.boxes)


def to_jpeg(image, quality=90):
    """Encodes a PIL image as JPEG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def downscale(image, max_side):
    """Returns ``image`` shrunk so its longer side is at most ``max_side`` pixels."""
    if max(image.size) <= max_side:
        return image
    image = image.copy()
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image
