"""Bad pictures for ``dank generate`` and ``dank classify``: one clear error each.

Issue 25's picture faults, each with its regression test: unreadable files,
long names, directories and links named like pictures, unbounded stdin, EXIF
rotation, outputs of inputs with the same stem, MPO/TIFF and other formats,
bombs, and decoder bugs on hostile bytes.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from dank.cascade.inputs import expand_paths, load_inputs
from dank.cascade.outputs import output_stems
from dank.core import images
from dank.core.errors import DankError
from dank.core.io import write_bytes
from tools.fuzz_cases import WRITABLE, encode, png_header


def _png(path, colour=(200, 30, 30), size=(40, 30)):
    Image.new("RGB", size, colour).save(path)
    return str(path)


def _errors(items):
    return [item.error for item in items]


def _without_dac_override(code):
    """Runs Python ``code`` where root's override of file modes is dropped."""
    argv = [sys.executable, "-c", textwrap.dedent(code)]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("root without setpriv: a mode-000 file stays readable")
        caps = "-dac_override,-dac_read_search"
        argv = ["setpriv", "--bounding-set", caps, "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_unreadable_files_and_directories_are_per_item_errors(tmp_path):
    closed = tmp_path / "closed.png"
    _png(closed)
    closed.chmod(0)
    closed_dir = tmp_path / "closed-dir.jpg"
    closed_dir.mkdir()
    closed_dir.chmod(0)
    hidden = tmp_path / "photos"  # A plain directory that cannot be listed.
    hidden.mkdir()
    _png(hidden / "inside.png")
    hidden.chmod(0)
    good = _png(tmp_path / "good.png")
    names = [str(closed), str(closed_dir), str(hidden), good]
    try:
        done = _without_dac_override(
            f"""
            import json
            from dank.cascade.inputs import load_inputs
            try:
                open({str(closed)!r}, "rb")
                raise SystemExit("the mode-000 file is readable: nothing tested")
            except PermissionError:
                pass
            items = load_inputs({names!r}, model_side=32)
            print(json.dumps([item.error for item in items]))
            """
        )
    finally:
        for path in (closed, closed_dir, hidden):
            path.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    errors = json.loads(done.stdout.splitlines()[-1])
    assert errors[0] == f"{closed}: permission denied; make it readable"
    assert "is a directory" in errors[1]
    assert "no images it can read" in errors[2]
    assert errors[3] is None


def test_long_names_fit_the_file_system(tmp_path):
    name = "x" * 240 + ".png"
    good = _png(tmp_path / name)
    (item,) = load_inputs([good], model_side=32)
    assert item.error is None
    # The temporary beside a 255-byte name must fit NAME_MAX too.
    write_bytes(tmp_path / ("y" * 255), b"data")
    assert (tmp_path / ("y" * 255)).read_bytes() == b"data"
    (stem,) = output_stems([good])
    assert len(f"{stem}-99.png") <= 80
    assert sorted(p.name for p in tmp_path.iterdir()) == [name, "y" * 255]


def test_directories_and_links_named_like_pictures(tmp_path):
    (tmp_path / "empty.jpg").mkdir()
    (tmp_path / "etc.jpg").symlink_to("/etc")
    (tmp_path / "dangling.png").symlink_to(tmp_path / "gone.png")
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    os.mkfifo(tmp_path / "fifo.jpg")  # Opening it would wait for a writer.
    (tmp_path / "nothing").mkdir()
    good = _png(tmp_path / "good.png")
    names = ["empty.jpg", "etc.jpg", "dangling.png", "loop.png", "fifo.jpg"]
    names = [str(tmp_path / n) for n in names] + [str(tmp_path / "nothing"), good]
    assert expand_paths(names) == names  # Nothing named like a picture expands.
    errors = _errors(load_inputs(names, model_side=32))
    assert "is a directory" in errors[0] and "is a directory" in errors[1]
    assert "no such file" in errors[2]
    assert "cannot be read" in errors[3]
    assert "not a file" in errors[4]
    assert "no images" in errors[5]
    assert errors[6] is None
    with pytest.raises(DankError, match="no images"):
        expand_paths([str(tmp_path / "nothing")])


class _Stdin:
    def __init__(self, stream):
        self.buffer = stream


def test_stdin_is_capped_at_the_upload_limit(monkeypatch, tmp_path):
    from dank.apps.serve.config import ServeConfig

    assert ServeConfig().max_upload_bytes == images.MAX_UPLOAD_BYTES
    with open("/dev/zero", "rb") as zeros:
        monkeypatch.setattr("sys.stdin", _Stdin(zeros))
        (item,) = load_inputs(["-"], model_side=32)
    assert item.error.startswith("-: over the 8 MiB limit of standard input")
    data = encode(Image.new("RGB", (20, 10)), "PNG")
    monkeypatch.setattr("sys.stdin", _Stdin(io.BytesIO(data)))
    first, second = load_inputs(["-", "-"], model_side=32)
    assert first.error is None and first.picture.image.size == (20, 10)
    assert "empty file" in second.error  # Standard input is read once.
    monkeypatch.setattr("sys.stdin", None)
    assert "no standard input" in load_inputs(["-"], model_side=32)[0].error


def test_exif_orientation_is_applied():
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)  # Left half red, right half blue.
    pixels[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # Turn 90 degrees clockwise to view.
    data = encode(Image.fromarray(pixels), "JPEG", exif=exif, quality=95)
    upright = np.asarray(images.open_image(data)).astype(int)
    assert upright.shape == (40, 20, 3)
    assert upright[5, 10, 0] > 200 and upright[5, 10, 2] < 60  # Red on top.
    assert upright[35, 10, 2] > 200 and upright[35, 10, 0] < 60


def test_inputs_with_the_same_stem_get_their_own_outputs(tmp_path, monkeypatch):
    names = ["a/cat.jpg", "b/cat.png", "a/cat.jpg", "-", str(tmp_path / "c.d.png")]
    monkeypatch.chdir(tmp_path)
    stems = output_stems(names)
    assert len(set(stems)) == len(stems)
    assert stems[0].startswith("cat-") and stems[2] == stems[0] + "-2"
    assert stems[4].startswith("c-d-")
    assert output_stems(names) == stems  # Stable for the same list.
    assert output_stems(names[1:2]) == stems[1:2]  # And alone.
    monkeypatch.chdir("/")
    assert output_stems(names[4:]) == stems[4:]  # An absolute path anywhere.


@pytest.mark.parametrize("fmt", WRITABLE)
def test_every_format_pillow_writes_is_read(fmt):
    data = encode(Image.new("RGB", (24, 16), (10, 200, 10)), fmt)
    image = images.open_image(data, name=f"x.{fmt}")
    assert image.mode == "RGB"
    if fmt not in ("ICNS", "ICO"):  # Icons are stored at their own sizes.
        assert image.size == (24, 16)
    assert image.getpixel((image.width // 2, image.height // 2))[1] > 150


def test_mpo_tiff_and_animations_give_their_first_frame():
    for fmt in ("MPO", "TIFF", "GIF", "PNG", "WEBP"):
        # Fresh frames each time: Pillow keeps a saved frame's encoder options.
        red, blue = (
            Image.new("RGB", (30, 20), "red"),
            Image.new("RGB", (30, 20), "blue"),
        )
        data = encode(red, fmt, save_all=True, append_images=[blue])
        first = images.open_image(data, name=fmt).getpixel((5, 5))
        assert first[0] > 200 and first[2] < 60, fmt
    assert "MPO" not in images.FORMATS and "JPEG" in images.FORMATS  # MPO via JPEG.


def test_ghostscript_formats_are_refused_unread():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(DankError, match="not an image"):
        images.open_image(eps, name="x.eps")


@pytest.mark.parametrize("side", [7000, 100_000])
def test_bombs_are_refused_before_decoding(side):
    with pytest.raises(DankError, match="over the limit|decompression bomb"):
        images.open_image(png_header(side, side), name="bomb.png")


def test_a_decoder_bug_is_one_bad_picture(monkeypatch):
    import struct

    def broken(*args, **kwargs):
        raise struct.error("unpack requires a buffer of 4 bytes")

    monkeypatch.setattr(images.Image, "open", broken)
    with pytest.raises(DankError, match=r"x.png: corrupt image \(error: unpack"):
        images.open_image(b"\x89PNG", name="x.png")


def test_names_that_are_not_utf8_print(tmp_path):
    raw = bytes(tmp_path) + b"/bad-\xff\xfe.png"
    with open(raw, "wb") as f:
        f.write(encode(Image.new("RGB", (8, 8)), "PNG"))
    name = os.fsdecode(raw)
    item, missing = load_inputs([name, name + ".missing"], model_side=32)
    assert item.error is None and item.shown.endswith("bad-\\xff\\xfe.png")
    json.dumps({"error": missing.error}, ensure_ascii=False).encode("utf-8")
    assert "\\xff\\xfe" in missing.error
