"""The server's limits and knobs as one frozen dataclass."""

import dataclasses

from dank.core.images import MAX_UPLOAD_BYTES, MEME_SIDE
from dank.decoding.config import DEFAULT_DECODER


@dataclasses.dataclass(frozen=True)
class ServeConfig:
    """Limits of ``dank serve``; every one of them answers with a JSON error."""

    # Largest request body in bytes (an upload plus form fields): 8 MiB, the
    # same limit as a picture that ``dank generate -`` reads from stdin.
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    # Most parts in a multipart form (it has five fields); past it, 413 before
    # any part is parsed.
    max_form_parts: int = 16
    # Most header bytes in one form part (a long file name fits); past it, 400.
    max_part_header_bytes: int = 8192
    # Largest uploaded picture in pixels (width * height): 24 MP, checked from
    # the header before the picture is decoded.
    max_pixels: int = 24_000_000
    # Decoder when a request names none, and the one warmed up at start: the
    # same as `dank generate` (``dank.decoding.config.DEFAULT_DECODER``).
    decoder: str = DEFAULT_DECODER
    # Most memes one request may ask for.
    max_n: int = 6
    # Generate requests per client IP per minute (token bucket refill rate).
    rate_per_minute: float = 60.0
    # Requests a client may make at once before the bucket runs dry.
    rate_burst: int = 10
    # Proxies (addresses or networks, e.g. "127.0.0.1", "10.0.0.0/8") whose
    # X-Forwarded-For names the client to rate-limit; empty: the header is
    # ignored and every client is keyed by its connection's address.
    trusted_proxies: tuple = ()
    # Seconds a generate request may wait for the model before a 504.
    request_timeout_s: float = 60.0
    # Seconds a client socket may sit idle mid-request (slow uploads) before 408.
    socket_timeout_s: float = 20.0
    # Seconds a rendered PNG stays downloadable.
    render_ttl_s: float = 15 * 60.0
    # Most rendered PNGs kept at once; the least recently used go first.
    max_renders: int = 500
    # Milliseconds the model worker waits to gather more requests into a batch;
    # 0 batches only what queued up while the model was busy (no added latency).
    batch_window_ms: float = 0.0
    # Most requests captioned in one model call. Only requests with the same
    # decoder, template and seed share a call, and the decoder's noise depends
    # on a picture's row, so 1 makes a seed reproducible under any load.
    # Off by default: on the tiny run on 2 CPU cores, batching served 0.77-0.81x
    # the requests per second of no batching (bench_serve.py).
    max_batch: int = 1
    # Longer side in pixels of a drawn meme (as ``dank generate``).
    meme_side: int = MEME_SIDE

    def replace(self, **changes):
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)
