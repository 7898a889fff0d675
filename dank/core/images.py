"""Safe image loading: every image from a user or a dataset comes through here.

Corrupt, truncated, non-image, huge (decompression-bomb), unreadable and missing
files each raise ``DankError`` with a message that names the file, so callers
can report the file and carry on with the rest of a batch.
"""

import io
import stat
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from dank.core.errors import DankError

MAX_FILE_BYTES = 32 * 1024 * 1024  # Larger files are refused before decoding.
# Largest picture read from a stream (``dank generate -``): the same 8 MiB as a
# request body of ``dank serve`` (``ServeConfig.max_upload_bytes``).
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # About 6300x6300; past this Pillow would risk a bomb.

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
            width, height = image.size
            if width * height > max_pixels:
                raise DankError(
                    f"{name}: {width}x{height} pixels is over the limit of "
                    f"{max_pixels:,}; downscale the image first"
                )
            image.seek(0)  # First frame of a GIF, an APNG or an MPO.
            image.load()
            image = ImageOps.exif_transpose(image) or image
            return image if image.mode == "RGB" else image.convert("RGB")
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
