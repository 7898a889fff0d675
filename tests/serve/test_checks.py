"""Request checks and the render store, without a model."""

import struct
import zlib

import pytest
from serve_helpers import picture

from dank.apps.serve.checks import (
    ApiError,
    RateLimiter,
    check_image,
    int_field,
    parse_form,
    sniff_image,
)
from dank.apps.serve.client import multipart
from dank.apps.serve.store import RenderStore


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize(
    "fmt,declared",
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
        ("MPO", "image/jpeg"),
        ("MPO", "image/mpo"),
        ("PPM", "image/x-portable-pixmap"),
        ("TGA", "application/octet-stream"),
        ("QOI", "image/qoi"),
        ("PCX", "image/x-pcx"),
    ],
)
def test_uploads_pass_exactly_when_dank_images_reads_them(fmt, declared):
    from dank.core.images import open_image

    data = picture(fmt=fmt)
    found, size, _ = sniff_image(data)
    assert found == fmt and size == (96, 72)
    check_image(data, declared, 10_000)
    assert open_image(data).size == size


def test_a_refused_format_is_named_as_dank_images_refuses_it():
    from dank.core.errors import DankError
    from dank.core.images import open_image

    eps = picture(fmt="EPS")  # Writing EPS needs no Ghostscript; reading would.
    for declared in ("application/octet-stream", "image/eps"):
        with pytest.raises(ApiError) as caught:
            check_image(eps, declared, 10_000)
        assert (caught.value.status, caught.value.code) == (415, "unsupported_format")
        assert "EPS pictures are not accepted" in caught.value.message
    with pytest.raises(DankError, match="not an image"):
        open_image(eps)


def bomb_png(width=100_000, height=100_000):
    """A valid PNG whose header claims ``width`` x ``height`` pixels."""
    data = bytearray(picture(fmt="PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:33] = ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


@pytest.mark.parametrize(
    "data,declared,status,code",
    [
        (b"", "image/png", 400, "empty_image"),
        (picture(), "text/plain", 415, "unsupported_type"),
        (picture(fmt="EPS"), "application/postscript", 415, "unsupported_type"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            "image/jpeg",
            415,
            "not_an_image",
        ),
        (b"%PDF-1.4\n" + bytes(64), "application/octet-stream", 415, "not_an_image"),
        (picture(fmt="PNG"), "image/jpeg", 415, "type_mismatch"),
        (picture(fmt="TIFF"), "image/png", 415, "type_mismatch"),
        (b"\xff\xd8\xff" + b"\x00" * 64, "image/jpeg", 422, "bad_image"),
        (picture(200, 100), "image/jpeg", 413, "too_many_pixels"),
        (picture(200, 100, fmt="TIFF"), "image/tiff", 413, "too_many_pixels"),
        (bomb_png(), "image/png", 413, "too_many_pixels"),  # Pillow's own bomb check.
    ],
)
def test_check_image_refuses_bad_uploads(data, declared, status, code):
    with pytest.raises(ApiError) as caught:
        check_image(data, declared, max_pixels=10_000)
    assert (caught.value.status, caught.value.code) == (status, code)


def test_parse_form_round_trips_fields_and_binary_files():
    data = bytes(range(256)) * 4 + b"\r\n--notaboundary\r\n"
    ctype, body = multipart(
        {"n": "3", "template": "Success Kid"}, [("image", "a b.png", "image/png", data)]
    )
    fields, files = parse_form(ctype, body)
    assert fields == {"n": "3", "template": "Success Kid"}
    assert files == {"image": ("a b.png", "image/png", data)}
    with pytest.raises(ApiError):
        parse_form("multipart/form-data", body)


def test_int_field_bounds():
    assert int_field({}, "n", 1, 1, 6) == 1
    assert int_field({"n": "6"}, "n", 1, 1, 6) == 6
    for bad in ("0", "7", "x", "1.5"):
        with pytest.raises(ApiError, match="n must be"):
            int_field({"n": bad}, "n", 1, 1, 6)


def test_rate_limiter_allows_burst_then_refills():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    limiter.take("a")
    limiter.take("a")
    with pytest.raises(ApiError) as caught:
        limiter.take("a")
    assert caught.value.status == 429 and caught.value.headers["Retry-After"] == "1"
    limiter.take("b")  # Other clients have their own bucket.
    clock.now += 1.0
    limiter.take("a")


def test_store_serves_only_its_tokens_and_expires_them():
    from PIL import Image

    clock = FakeClock()
    store = RenderStore(ttl_s=10, max_items=2, clock=clock)
    image = Image.new("RGB", (8, 8))
    first = store.put(image)
    assert len(first) >= 20 and store.get(first).startswith(b"\x89PNG")
    assert store.get("../" + first) is None and store.get("nope") is None
    second, third = store.put(image), store.put(image)  # Evicts the LRU: first.
    assert store.get(first) is None and len(store) == 2
    assert sorted(p.stem for p in store.root.iterdir()) == sorted([second, third])
    clock.now += 11
    assert store.get(second) is None and len(store) == 0
    assert list(store.root.iterdir()) == []
    store.close()
    assert not store.root.exists()


def test_serve_command_flags():
    from dank.apps.cli import build_parser
    from dank.apps.cli.serve import config_from_args
    from dank.core.errors import DankError

    parse = build_parser().parse_args
    args = parse(["serve", "--run", "r", "--rate-limit", "5", "--decoder", "sample"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    config = config_from_args(args)
    assert (config.rate_per_minute, config.decoder) == (5, "sample")
    assert config_from_args(parse(["serve", "--max-batch", "1"])).max_batch == 1
    for bad in (
        ["--port", "70000"],
        ["--rate-limit", "0"],
        ["--timeout", "-1"],
        ["--max-batch", "0"],
    ):
        with pytest.raises(DankError):
            config_from_args(parse(["serve", *bad]))
