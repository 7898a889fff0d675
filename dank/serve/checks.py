"""What a request must pass before it reaches the model.

Every failure raises ``ApiError``, which the server turns into a JSON body
``{"error": {"code": ..., "message": ...}}`` with the matching HTTP status.
"""

import email.parser
import email.policy
import io
import ipaddress
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


def _boundary(content_type):
    header = email.parser.BytesHeaderParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace"))
    boundary = header.get_boundary()
    if header.get_content_type() != "multipart/form-data" or not boundary:
        raise ApiError(400, "bad_form", "the multipart body has no boundary")
    return boundary.encode("latin-1", "replace")


def _part_headers(block, max_header_bytes):
    if len(block) > max_header_bytes:
        raise ApiError(400, "bad_form",
                       f"a form part's headers are {len(block):,} bytes; the limit "
                       f"is {max_header_bytes:,}")
    return email.parser.BytesHeaderParser(policy=email.policy.HTTP).parsebytes(
        block + b"\r\n\r\n")


def parse_form(content_type, body, max_parts=16, max_header_bytes=8192):
    """Parses a ``multipart/form-data`` body at a cost bounded by its part count.

    The parts are counted with one ``bytes.count`` before any is parsed, and
    only their small header blocks go through ``email.parser``: handed a whole
    body, ``email.parser`` spent 24 s of CPU on 146k empty parts within the
    8 MiB limit. Parts carry raw bytes (RFC 7578 forbids
    Content-Transfer-Encoding), so a payload is a slice of the body.

    Args:
        content_type: the request's Content-Type header.
        body: the request body.
        max_parts: most parts accepted (413 beyond).
        max_header_bytes: most header bytes in one part (400 beyond).

    Returns:
        ``(fields, files)``: ``{name: str}`` and ``{name: (filename, mime, bytes)}``.
    """
    delimiter = b"--" + _boundary(content_type)
    # An upper bound on the parts (the boundary may also occur inside one,
    # which a client's boundary must avoid anyway).
    found = body.count(delimiter) - 1
    if found > max_parts:
        raise ApiError(413, "too_many_parts",
                       f"the form has {found:,} parts; the limit is {max_parts}")
    sections = (b"\r\n" + body).split(b"\r\n" + delimiter)
    if len(sections) < 2 or not sections[-1].startswith(b"--"):
        raise ApiError(400, "bad_form",
                       "the multipart body is cut short (no closing boundary)")
    fields, files = {}, {}
    for section in sections[1:-1]:  # Drops the preamble and the epilogue.
        _, _, section = section.partition(b"\r\n")  # Transport padding.
        if section.startswith(b"\r\n"):
            block, data = b"", section[2:]
        else:
            block, sep, data = section.partition(b"\r\n\r\n")
            if not sep:
                raise ApiError(400, "bad_form", "a form part has no blank line "
                               "after its headers")
        part = _part_headers(block, max_header_bytes)
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
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


def client_key(address, forwarded_for=None, trusted_proxies=()):
    """The rate-limit bucket of a request: its client's IP address.

    Every client at one address shares a bucket: all loopback clients, or all
    clients behind a proxy. An IPv6 client is keyed by its /64, which one host
    usually owns whole. ``X-Forwarded-For`` is read only when the connection
    comes from a trusted proxy (``dank serve --trust-proxy``), since any client
    can send it: the client is then the rightmost address in it that is not a
    trusted proxy itself.

    Args:
        address: the connection's peer address.
        forwarded_for: the ``X-Forwarded-For`` header value(s), or None.
        trusted_proxies: ``ipaddress`` networks whose header is believed.
    """
    peer = _ip(address)
    if peer is None:
        return str(address)
    if forwarded_for and any(peer in net for net in trusted_proxies):
        for hop in reversed(forwarded_for.split(",")):
            ip = _ip(hop.strip())
            if ip is None:
                break  # Garbage left of the proxies' own entries: keep the last.
            peer = ip
            if not any(ip in net for net in trusted_proxies):
                break
    if peer.version == 6:
        return str(ipaddress.ip_network(f"{peer}/64", strict=False))
    return str(peer)


def _ip(text):
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:1.2.3.4 is 1.2.3.4.
    return mapped or ip


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
