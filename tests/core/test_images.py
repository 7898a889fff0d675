"""Safe image loading: every kind of bad file gets a clear DankError."""

import io

import pytest
from PIL import Image

from dank.core import images
from dank.core.errors import DankError


def _png_bytes(size=(40, 30), mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size, (255, 0, 0, 255)[: len(mode)]).save(buffer, format="PNG")
    return buffer.getvalue()


def test_open_valid_png_from_bytes_and_path(tmp_path):
    data = _png_bytes()
    path = tmp_path / "ok.png"
    path.write_bytes(data)
    for source in (data, path):
        image = images.open_image(source)
        assert image.mode == "RGB" and image.size == (40, 30)


def test_rgba_and_palette_become_rgb():
    assert images.open_image(_png_bytes(mode="RGBA")).mode == "RGB"
    assert images.open_image(_png_bytes(mode="P")).mode == "RGB"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"this is plain text, not a picture", "not an image"),
        (_png_bytes()[:60], "corrupt or truncated"),
    ],
)
def test_bad_bytes_raise_clear_errors(data, message):
    with pytest.raises(DankError, match=message):
        images.open_image(data, name="upload.png")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DankError, match="no such file"):
        images.open_image(tmp_path / "nope.jpg")
    with pytest.raises(DankError, match="not a file"):
        images.open_image(tmp_path)


def test_huge_image_refused_before_decoding():
    data = _png_bytes(size=(3000, 3000))
    with pytest.raises(DankError, match="over the limit"):
        images.open_image(data, max_pixels=1_000_000)


def test_file_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    path.write_bytes(_png_bytes())
    monkeypatch.setattr(images, "MAX_FILE_BYTES", 10)
    with pytest.raises(DankError, match="MiB"):
        images.open_image(path)


def test_downscale_keeps_aspect():
    image = Image.new("RGB", (1000, 500))
    small = images.downscale(image, 300)
    assert small.size == (300, 150)
    assert images.downscale(small, 300) is small
    assert images.open_image(images.to_jpeg(small)).size == (300, 150)
