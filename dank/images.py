"""Safe image loading: every image from a user or a dataset comes through here.

Corrupt, truncated, non-image, huge (decompression-bomb) and missing files each
raise ``DankError`` with a message that names the file, so callers can report
the file and carry on with the rest of a batch.
"""

import io
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from dank.errors import DankError

MAX_FILE_BYTES = 32 * 1024 * 1024  # Larger uploads are refused before decoding.
MAX_PIXELS = 40_000_000  # About 6300x6300; past this Pillow would risk a bomb.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")


def read_image_bytes(path):
    """Returns the bytes of the image file at ``path`` after size checks."""
    path = Path(path)
    if not path.exists():
        raise DankError(f"{path}: no such file")
    if not path.is_file():
        raise DankError(f"{path}: not a file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DankError(
            f"{path}: {size / 2**20:.0f} MiB is over the {MAX_FILE_BYTES // 2**20} MiB"
            " limit; downscale the image first"
        )
    return path.read_bytes()


def open_image(source, name=None, max_pixels=MAX_PIXELS):
    """Decodes an image fully and returns it as an RGB ``PIL.Image``.

    Args:
        source: a path, or the encoded bytes of an image.
        name: what to call the image in error messages (defaults to the path).
        max_pixels: width * height above which the image is refused.

    Raises:
        DankError: the file is missing, not an image, corrupt, truncated or huge.
    """
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        name = name or "<bytes>"
    else:
        name = name or str(source)
        data = read_image_bytes(source)
    if not data:
        raise DankError(f"{name}: empty file, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise DankError(f"{name}: {image.format} images are not supported")
            width, height = image.size
            if width * height > max_pixels:
                raise DankError(
                    f"{name}: {width}x{height} pixels is over the limit of "
                    f"{max_pixels:,}; downscale the image first"
                )
            image.seek(0)  # First frame of a GIF.
            image.load()
    except DankError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DankError(f"{name}: refused as a decompression bomb ({e})") from e
    except UnidentifiedImageError as e:
        raise DankError(f"{name}: not an image (or a format Pillow cannot read)") from e
    except (OSError, SyntaxError, ValueError) as e:
        raise DankError(f"{name}: corrupt or truncated image ({e})") from e
    return image if image.mode == "RGB" else image.convert("RGB")


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
