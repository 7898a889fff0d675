"""Request checks and the render store, without a model."""

import pytest
from serve_helpers import picture

from dank.serve.checks import (
    ApiError,
    RateLimiter,
    check_image,
    int_field,
    parse_form,
    sniff_image_type,
)
from dank.serve.client import multipart
from dank.serve.store import RenderStore


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("fmt,mime", [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                      ("GIF", "image/gif"), ("WEBP", "image/webp"),
                                      ("BMP", "image/bmp")])
def test_sniff_knows_every_accepted_format(fmt, mime):
    data = picture(fmt=fmt)
    assert sniff_image_type(data) == mime
    check_image(data, mime, 10_000)


@pytest.mark.parametrize("data,declared,status,code", [
    (b"", "image/png", 400, "empty_image"),
    (picture(), "text/plain", 415, "unsupported_type"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/jpeg", 415, "not_an_image"),
    (picture(fmt="PNG"), "image/jpeg", 415, "type_mismatch"),
    (b"\xff\xd8\xff" + b"\x00" * 64, "image/jpeg", 422, "bad_image"),
    (picture(200, 100), "image/jpeg", 413, "too_many_pixels"),
])
def test_check_image_refuses_bad_uploads(data, declared, status, code):
    with pytest.raises(ApiError) as caught:
        check_image(data, declared, max_pixels=10_000)
    assert (caught.value.status, caught.value.code) == (status, code)


def test_parse_form_round_trips_fields_and_binary_files():
    data = bytes(range(256)) * 4 + b"\r\n--notaboundary\r\n"
    ctype, body = multipart({"n": "3", "template": "Success Kid"},
                            [("image", "a b.png", "image/png", data)])
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
    from dank.cli import build_parser
    from dank.errors import DankError
    from dank.serve.cli import config_from_args

    parse = build_parser().parse_args
    args = parse(["serve", "--run", "r", "--rate-limit", "5", "--decoder", "sample"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    config = config_from_args(args)
    assert (config.rate_per_minute, config.decoder) == (5, "sample")
    assert config_from_args(parse(["serve", "--max-batch", "1"])).max_batch == 1
    for bad in (["--port", "70000"], ["--rate-limit", "0"], ["--timeout", "-1"],
                ["--max-batch", "0"]):
        with pytest.raises(DankError):
            config_from_args(parse(["serve", *bad]))
