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


# -- Picture and prepare: one way in for every picture ------------------------


def _old_path(data, keep_side, model_side):
    """What generate, serve and classify did before ``prepare`` (issue 24)."""
    image = images.downscale(images.open_image(data), keep_side)
    encoded = images.to_jpeg(images.downscale(image, model_side * 4), 95)
    return image, encoded


def _encoded(image, fmt, **kwargs):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _pictures():
    import numpy as np

    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (90, 160, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # Turn 90 degrees clockwise to view.
    return {
        "exif_rotated": _encoded(noise, "JPEG", exif=exif, quality=95),
        "palette": _encoded(noise.convert("P"), "PNG"),
        "rgba": _encoded(noise.convert("RGBA"), "PNG"),
        "cmyk": _encoded(noise.convert("CMYK"), "JPEG"),
        "huge": _encoded(noise.resize((2400, 1350)), "PNG"),
    }


@pytest.mark.parametrize("kind", sorted(_pictures()))
def test_prepare_gives_the_pixels_of_the_old_paths(kind):
    import numpy as np

    data = _pictures()[kind]
    image, encoded = _old_path(data, keep_side=1024, model_side=64)
    picture = images.prepare(data, max_side=1024, model_side=64)
    assert picture.image.mode == "RGB"
    np.testing.assert_array_equal(picture.pixels, np.asarray(image))
    assert picture.encoded == encoded
    assert picture.format == Image.open(io.BytesIO(data)).format
    assert picture.size == Image.open(io.BytesIO(data)).size


def test_prepare_turns_shrinks_and_names():
    data = _pictures()
    turned = images.prepare(data["exif_rotated"])
    assert turned.size == (160, 90) and turned.image.size == (90, 160)
    assert turned.name == "<bytes>" and turned.encoded == b"" and turned.boxes is None
    huge = images.prepare(data["huge"], name="big.png", max_side=300, model_side=50)
    assert huge.image.size == (300, 169) and huge.size == (2400, 1350)
    assert Image.open(io.BytesIO(huge.encoded)).size == (200, 113)
    assert huge.name == "big.png"


def test_prepare_reads_paths_files_and_stdin(tmp_path, monkeypatch):
    import types

    data = _png_bytes()
    path = tmp_path / "ok.png"
    path.write_bytes(data)
    assert images.prepare(path).name == str(path)
    assert images.prepare(str(path)).image.size == (40, 30)
    assert images.prepare(io.BytesIO(data)).name == "-"
    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))
    assert images.prepare("-").image.size == (40, 30)
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(DankError, match="no standard input"):
        images.prepare("-")


def test_prepare_keeps_the_messages_of_open_image(tmp_path):
    with pytest.raises(DankError, match="no such file"):
        images.prepare(tmp_path / "nope.jpg")
    with pytest.raises(DankError, match="upload.png: corrupt or truncated"):
        images.prepare(_png_bytes()[:60], name="upload.png")
    with pytest.raises(DankError, match="over the limit"):
        images.prepare(_png_bytes(size=(3000, 3000)), max_pixels=1_000_000)
    with pytest.raises(DankError, match="-: .*over the 8 MiB limit of standard input"):
        images.prepare(io.BytesIO(b"x" * (images.MAX_UPLOAD_BYTES + 1)))


def test_template_picture_is_named_by_the_template(tmp_path):
    import types

    template = types.SimpleNamespace(id="drake", image="drake.png", boxes=[1, 2])
    (tmp_path / "drake.png").write_bytes(_png_bytes(size=(2000, 1000)))
    picture = images.template_picture(tmp_path / "drake.png", template, model_side=8)
    assert (picture.name, picture.boxes) == ("drake", [1, 2])
    assert picture.image.size == (images.MEME_SIDE, images.MEME_SIDE // 2)
    assert picture.encoded[:2] == b"\xff\xd8"
    with pytest.raises(DankError, match="rebuild the data with `make data`"):
        images.template_picture(tmp_path / "gone.png", template)
