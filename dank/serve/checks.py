"""What a request must pass before it reaches the model.

Every failure raises ``ApiError``, which the server turns into a JSON body
``{"error": {"code": ..., "message": ...}}`` with the matching HTTP status.
"""

import email.parser
import email.policy
import io
import json
import threading
import time
import warnings

from PIL import Image

# Magic bytes of the formats ``dank.images`` accepts, with their MIME types.
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp")
# Browsers label some uploads loosely; these mean the same as the canonical type.
TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg",
                "image/x-png": "image/png", "image/x-ms-bmp": "image/bmp"}


class ApiError(Exception):
    """A request the server refuses, with its HTTP status and a stable code."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self):
        """The JSON error body as bytes."""
        return json.dumps({"error": {"code": self.code, "message": self.message}}
                          ).encode()


def sniff_image_type(data):
    """The MIME type the leading bytes of ``data`` show, or None."""
    for magic, mime in MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image(data, declared_type, max_pixels):
    """Checks an uploaded picture's type and size without decoding its pixels.

    Args:
        data: the uploaded bytes.
        declared_type: the part's Content-Type.
        max_pixels: the largest width * height accepted.

    Raises:
        ApiError: empty (400), not a supported image or mislabelled (415), or
            over the pixel limit (413).
    """
    if not data:
        raise ApiError(400, "empty_image", "the uploaded image is empty")
    declared = TYPE_ALIASES.get(declared_type, declared_type)
    if declared not in IMAGE_TYPES and declared != "application/octet-stream":
        raise ApiError(415, "unsupported_type",
                       f"upload type {declared_type!r} is not an image; "
                       f"send one of {', '.join(IMAGE_TYPES)}")
    sniffed = sniff_image_type(data)
    if sniffed is None:
        raise ApiError(415, "not_an_image",
                       "the upload's bytes are not a JPEG, PNG, GIF, WebP or BMP")
    if declared in IMAGE_TYPES and declared != sniffed:
        raise ApiError(415, "type_mismatch",
                       f"the upload says {declared} but its bytes are {sniffed}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            width, height = Image.open(io.BytesIO(data)).size  # Header only.
    except Exception as e:  # Pillow raises many types for bad headers.
        raise ApiError(422, "bad_image", f"the image header is unreadable ({e})"
                       ) from e
    if width * height > max_pixels:
        raise ApiError(413, "too_many_pixels",
                       f"{width}x{height} pixels is over the limit of "
                       f"{max_pixels:,}; downscale the image first")


def parse_form(content_type, body):
    """Parses a ``multipart/form-data`` body.

    Returns:
        ``(fields, files)``: ``{name: str}`` and ``{name: (filename, mime, bytes)}``.
    """
    header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        header + body
    )
    if not message.is_multipart() or not message.get_boundary():
        raise ApiError(400, "bad_form", "the multipart body has no boundary")
    fields, files = {}, {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, part.get_content_type(), data)
        else:
            fields[name] = data.decode("utf-8", "replace").strip()
    return fields, files


def int_field(fields, name, default, low, high):
    """An integer form field in ``low..high``, or ``default`` when absent."""
    raw = fields.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ApiError(400, "bad_field", f"{name} must be an integer, got {raw!r}"
                       ) from None
    if not low <= value <= high:
        raise ApiError(400, "bad_field",
                       f"{name} must be between {low} and {high}, got {value}")
    return value


class RateLimiter:
    """A token bucket per client: ``burst`` at once, ``per_minute`` sustained.

    Args:
        per_minute: tokens added per minute.
        burst: bucket size.
        clock: a ``time.monotonic``-like function.
        max_clients: buckets remembered; full buckets are forgotten first.
    """

    def __init__(self, per_minute, burst, clock=time.monotonic, max_clients=10_000):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._max_clients = max_clients
        self._buckets = {}  # client -> (tokens, time)
        self._lock = threading.Lock()

    def take(self, client):
        """Spends one token of ``client``; raises ``ApiError`` 429 when none left."""
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens < 1.0:
                wait = max(1, round((1.0 - tokens) / self.rate)) if self.rate else 60
                self._buckets[client] = (tokens, now)
                raise ApiError(429, "rate_limited",
                               f"too many requests; try again in {wait} s",
                               headers={"Retry-After": str(wait)})
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > self._max_clients:
                self._forget_full(now)

    def _forget_full(self, now):
        full = [c for c, (t, then) in self._buckets.items()
                if t + (now - then) * self.rate >= self.burst]
        for client in full:
            del self._buckets[client]
