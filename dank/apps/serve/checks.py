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

from PIL import Image, UnidentifiedImageError

from dank.core import images

# Browsers label some uploads loosely; these mean the same as Pillow's type.
TYPE_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/x-ms-bmp": "image/bmp",
    "image/x-tiff": "image/tiff",
}
# Types whose label is checked against the bytes; others (image/x-foo, or none)
# leave the bytes to decide.
KNOWN_TYPES = frozenset(Image.MIME.values())
HEADER_BYTES = 16  # What Pillow's format sniffers look at (``Image.open``).


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
        return json.dumps(
            {"error": {"code": self.code, "message": self.message}}
        ).encode()


def _formats_accepting(header, formats):
    """The formats among ``formats`` whose Pillow sniffer claims ``header``."""
    claimed = []
    for fmt in formats:
        accept = Image.OPEN.get(fmt, (None, None))[1]
        try:
            if accept is not None and accept(header):
                claimed.append(fmt)
        except Exception:  # noqa: BLE001 - a sniffer choking on a short header.
            pass
    return claimed


def sniff_image(data):
    """The format, size and plausible MIME types of an upload, from its header.

    The formats are exactly those ``dank.core.images`` decodes (``images.FORMATS``),
    so the server accepts what ``dank generate`` accepts; only the header is
    read, the pixels are decoded later by ``dank.core.images.open_image``.

    Returns:
        ``(format, (width, height), mime_types)``: Pillow's format name (MPO for
        a phone's multi-picture JPEG) and the types a client may label it with.

    Raises:
        ApiError: a format ``dank.core.images`` refuses, such as EPS (415), not a
            picture at all (415), a corrupt header of a known format (422), or
            a decompression bomb (413).
    """
    header = data[:HEADER_BYTES]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Size is judged by the caller.
            with Image.open(io.BytesIO(data), formats=images.FORMATS) as image:
                fmt, size = image.format, image.size
    except UnidentifiedImageError:
        refused = _formats_accepting(header, sorted(images.UNSAFE_FORMATS))
        if refused:
            raise ApiError(
                415,
                "unsupported_format",
                f"{refused[0]} pictures are not accepted (Pillow "
                "cannot decode them safely by itself); convert it to "
                "PNG or JPEG",
            ) from None
        if _formats_accepting(header, images.FORMATS):
            raise ApiError(
                422, "bad_image", "the image header is corrupt or truncated"
            ) from None
        raise ApiError(
            415,
            "not_an_image",
            "the upload's bytes are not a picture dank reads; send "
            "a JPEG, a PNG or another still format Pillow decodes "
            "itself (/openapi.json lists them)",
        ) from None
    except Image.DecompressionBombError as e:
        raise ApiError(
            413,
            "too_many_pixels",
            f"refused as a decompression bomb ({e}); downscale the image first",
        ) from e
    except Exception as e:  # Pillow raises many types for bad headers.
        raise ApiError(422, "bad_image", f"the image header is unreadable ({e})") from e
    # A format a sniffer matched also names the picture: MPO bytes are a JPEG.
    claimed = _formats_accepting(header, images.FORMATS)
    mimes = {Image.MIME.get(f) for f in (fmt, *claimed)}
    return fmt, size, mimes - {None}


def check_image(data, declared_type, max_pixels):
    """Checks an uploaded picture's type and size without decoding its pixels.

    Args:
        data: the uploaded bytes.
        declared_type: the part's Content-Type.
        max_pixels: the largest width * height accepted.

    Raises:
        ApiError: empty (400), not a supported image or mislabelled (415), a
            corrupt header (422), or over the pixel limit (413).
    """
    if not data:
        raise ApiError(400, "empty_image", "the uploaded image is empty")
    declared = TYPE_ALIASES.get(declared_type, declared_type)
    if not declared.startswith("image/") and declared != "application/octet-stream":
        raise ApiError(
            415,
            "unsupported_type",
            f"upload type {declared_type!r} is not an image; send the "
            "picture as image/* or application/octet-stream",
        )
    fmt, (width, height), mimes = sniff_image(data)
    if declared in KNOWN_TYPES and declared not in mimes:
        raise ApiError(
            415,
            "type_mismatch",
            f"the upload says {declared} but its bytes are {fmt} "
            f"({', '.join(sorted(mimes)) or 'no MIME type'})",
        )
    if width * height > max_pixels:
        raise ApiError(
            413,
            "too_many_pixels",
            f"{width}x{height} pixels is over the limit of "
            f"{max_pixels:,}; downscale the image first",
        )


def _boundary(content_type):
    header = email.parser.BytesHeaderParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    )
    boundary = header.get_boundary()
    if header.get_content_type() != "multipart/form-data" or not boundary:
        raise ApiError(400, "bad_form", "the multipart body has no boundary")
    return boundary.encode("latin-1", "replace")


def _part_headers(block, max_header_bytes):
    if len(block) > max_header_bytes:
        raise ApiError(
            400,
            "bad_form",
            f"a form part's headers are {len(block):,} bytes; the limit "
            f"is {max_header_bytes:,}",
        )
    return email.parser.BytesHeaderParser(policy=email.policy.HTTP).parsebytes(
        block + b"\r\n\r\n"
    )


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
        raise ApiError(
            413,
            "too_many_parts",
            f"the form has {found:,} parts; the limit is {max_parts}",
        )
    sections = (b"\r\n" + body).split(b"\r\n" + delimiter)
    if len(sections) < 2 or not sections[-1].startswith(b"--"):
        raise ApiError(
            400, "bad_form", "the multipart body is cut short (no closing boundary)"
        )
    fields, files = {}, {}
    for section in sections[1:-1]:  # Drops the preamble and the epilogue.
        _, _, section = section.partition(b"\r\n")  # Transport padding.
        if section.startswith(b"\r\n"):
            block, data = b"", section[2:]
        else:
            block, sep, data = section.partition(b"\r\n\r\n")
            if not sep:
                raise ApiError(
                    400, "bad_form", "a form part has no blank line after its headers"
                )
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
        raise ApiError(
            400, "bad_field", f"{name} must be an integer, got {raw!r}"
        ) from None
    if not low <= value <= high:
        raise ApiError(
            400, "bad_field", f"{name} must be between {low} and {high}, got {value}"
        )
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
                raise ApiError(
                    429,
                    "rate_limited",
                    f"too many requests; try again in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > self._max_clients:
                self._forget_full(now)

    def _forget_full(self, now):
        full = [
            c
            for c, (t, then) in self._buckets.items()
            if t + (now - then) * self.rate >= self.burst
        ]
        for client in full:
            del self._buckets[client]
