"""``dank generate`` and ``dank classify`` on a batch of bad pictures, end to end.

One batch holds every kind of fault next to good pictures: each bad one gets
one error line naming it, every good one its output, and no traceback or
temporary is left behind. Uses the session's tiny trained run.
"""

import json
import os

import pytest
from PIL import Image

from dank.apps import cli
from tools.fuzz_cases import encode


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """``(names, good)``: paths to pass, and which of them must succeed."""
    folder = tmp_path_factory.mktemp("batch")
    for sub in ("a", "b"):
        (folder / sub).mkdir()
    red = Image.new("RGB", (60, 40), (220, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 8
    pictures = {
        "a/cat.jpg": encode(red, "JPEG"),
        "b/cat.png": encode(red, "PNG"),
        "x" * 240 + ".png": encode(red, "PNG"),
        "phone.jpg": encode(red, "JPEG", exif=exif),
        "phone.mpo": encode(
            red, "MPO", save_all=True, append_images=[Image.new("RGB", (60, 40))]
        ),
        "scan.tiff": encode(red, "TIFF"),
        "broken.png": encode(red, "PNG")[:70],
        "empty.gif": b"",
    }
    for name, data in pictures.items():
        (folder / name).write_bytes(data)
    (folder / "dir.jpg").mkdir()
    (folder / "etc.jpg").symlink_to("/etc")
    names = [str(folder / n) for n in [*pictures, "dir.jpg", "etc.jpg"]]
    good = [True] * 6 + [False] * 4
    return names, good


def _lines(capsys):
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return [json.loads(line) for line in captured.out.splitlines()]


def test_generate_carries_on_past_every_bad_picture(tiny_run, batch, tmp_path, capsys):
    names, good = batch
    out = tmp_path / "memes"
    argv = ["generate", "--run", str(tiny_run), "-n", "1", "--decoder", "diverse"]
    argv += ["--beam", "3", "--max-len", "12", "--out", str(out), "--", *names]
    assert cli.main(argv) == 1  # Some inputs failed; none aborted the rest.
    lines = _lines(capsys)
    assert len(lines) == len(names)
    for name, ok, line in zip(names, good, lines):
        assert line["image"] == name
        if ok:
            assert Image.open(line["file"]).size in ((60, 40), (40, 60))
        else:
            assert line["error"].startswith(name + ": ")
    cats = [lines[0]["file"], lines[1]["file"]]
    assert os.path.basename(cats[0]).startswith("cat-") and cats[0] != cats[1]
    assert Image.open(lines[3]["file"]).size == (40, 60)  # EXIF 8: turned upright.
    written = sorted(p.name for p in out.iterdir())
    assert len(written) == 6 and not any(n.startswith(".") for n in written)
    assert all(len(n) < 100 for n in written)


def test_classify_carries_on_past_every_bad_picture(tiny_run, batch, capsys):
    names, good = batch
    assert cli.main(["classify", "--run", str(tiny_run), "--", *names]) == 1
    lines = _lines(capsys)
    assert [line["image"] for line in lines] == names
    assert [("templates" in line) for line in lines] == good
    assert all(
        line["error"].startswith(n + ": ")
        for n, line in zip(names, lines)
        if "error" in line
    )
