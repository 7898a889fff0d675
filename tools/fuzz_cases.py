"""Bad and good inputs for the fault fuzz (``tools/fuzz_faults.py``), made from a seed.

Pictures: valid images of every format Pillow writes (animations, MPO, EXIF
rotations, odd modes), truncated and corrupted copies of them, zero-byte files,
non-images with image names, decompression bombs, huge headers, odd file names,
and things that are not files at all (directories, links, FIFOs). Captions:
malformed variants of a source folder's CSVs for ``dank data build``.
"""

import dataclasses
import gzip
import io
import os
import random
import shutil
import struct
import zlib
from pathlib import Path

from PIL import Image

from dank.core.images import FORMATS, open_image


@dataclasses.dataclass
class Case:
    """One input of the fuzz.

    Attributes:
        path: the name to pass on the command line ("-" for stdin).
        kind: what sort of input it is ("valid", "truncated", "bomb", ...).
        valid: True: it must give an output; False: it must give an error
            line; None: either is fine (a truncation may cut only padding).
        stdin: the bytes to feed as standard input when ``path`` is "-".
    """

    path: str
    kind: str
    valid: bool | None
    stdin: bytes = b""


MODES = ("RGB", "RGBA", "L", "LA", "P", "1", "CMYK", "I;16", "F")


def encode(image, fmt, **params):
    """``image`` saved as ``fmt``, in the first mode that format accepts."""
    for mode in (image.mode, *MODES):
        buffer = io.BytesIO()
        try:
            image.convert(mode).save(buffer, format=fmt, **params)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        return buffer.getvalue()
    raise ValueError(f"Pillow cannot write {fmt}")


def _round_trips(fmt):
    try:
        open_image(encode(Image.new("RGB", (16, 12), (200, 30, 30)), fmt))
    except Exception:  # noqa: BLE001 - any failure: not a format to fuzz with.
        return False
    return True


# Every format Pillow writes that ``dank.core.images.open_image`` reads back.
WRITABLE = tuple(f for f in sorted(set(Image.SAVE) & set(FORMATS)) if _round_trips(f))


def picture(rng, size=None):
    """A random small picture: noise, stripes or one colour, in a random mode."""
    width, height = size or (rng.randint(1, 160), rng.randint(1, 160))
    style = rng.choice(("noise", "stripes", "flat"))
    if style == "noise":
        image = Image.frombytes(
            "RGB", (width, height), rng.randbytes(width * height * 3)
        )
    else:
        image = Image.new("RGB", (width, height), tuple(rng.randbytes(3)))
        if style == "stripes":
            for x in range(0, width, 4):
                image.paste(tuple(rng.randbytes(3)), (x, 0, x + 2, height))
    return image.convert(rng.choice(("RGB", "RGBA", "L", "P")))


def valid_bytes(rng):
    """``(bytes, suffix)`` of a valid picture in a random format or variant."""
    variant = rng.choice(("plain",) * 6 + ("animated", "mpo", "tiff-pages", "exif"))
    image = picture(rng)
    if variant == "animated":
        fmt = rng.choice(("GIF", "PNG", "WEBP"))
        frames = [picture(rng, image.size).convert("RGB") for _ in range(3)]
        data = encode(image.convert("RGB"), fmt, save_all=True, append_images=frames)
        return data, "." + fmt.lower()
    if variant == "mpo":
        frames = [image.convert("RGB"), picture(rng, image.size).convert("RGB")]
        return encode(frames[0], "MPO", save_all=True, append_images=frames[1:]), ".mpo"
    if variant == "tiff-pages":
        frames = [picture(rng, image.size).convert("RGB")]
        return encode(image, "TIFF", save_all=True, append_images=frames), ".tiff"
    if variant == "exif":
        exif = Image.Exif()
        exif[0x0112] = rng.randint(1, 8)  # Orientation.
        return encode(image.convert("RGB"), "JPEG", exif=exif), ".jpg"
    fmt = rng.choice(WRITABLE)
    suffix = {"JPEG": ".jpg", "JPEG2000": ".jp2", "TIFF": ".tif"}.get(fmt)
    return encode(image, fmt), suffix or "." + fmt.lower()


def png_header(width, height):
    """A PNG that claims ``width`` x ``height`` pixels and holds almost nothing."""

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)


def bomb_bytes(rng, cache={}):  # noqa: B006 - the real bomb is built once.
    """``(bytes, suffix)`` of a picture too large to decode."""
    kind = rng.choice(("png-header", "zeros", "gif", "bmp"))
    if kind == "png-header":
        side = rng.choice((7000, 20000, 100000, 2**31 - 1))
        return png_header(side, side), ".png"
    if kind == "zeros":  # 49 million real pixels that compress to a few KB.
        if "zeros" not in cache:
            cache["zeros"] = encode(Image.new("1", (7000, 7000)), "PNG")
        return cache["zeros"], ".png"
    if kind == "gif":  # A 65535 x 65535 logical screen.
        return b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\0\0\0;", ".gif"
    header = struct.pack("<IiiHHI", 40, 60000, -60000, 1, 24, 0) + b"\0" * 20
    return b"BM" + struct.pack("<IHHI", 54 + 16, 0, 0, 54) + header + b"\0" * 16, ".bmp"


NON_IMAGES = (
    b"just some text, not a picture\n",
    b"<!DOCTYPE html><html><body>404 not found</body></html>",
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n",
    # EPS: Pillow would hand this to Ghostscript; dank must refuse it unread.
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
    b"\x89PNG\r\n\x1a\n",  # A signature and nothing else.
    b"\xff\xd8\xff",  # The start of a JPEG.
    b"GIF89a",
)
# Names a user's files may carry: Unicode, controls, undecodable bytes, a 240-
# character name, a leading dash, dots, spaces.
ODD_NAMES = (
    "caf\u00e9 \u2615",
    "\U0001f602\U0001f525",
    "\u05e9\u05dc\u05d5\u05dd \u202eevil",
    "tab\there",
    "new\nline",
    "esc\x1b[31mred",
    "del\x7f",
    "zero\u200bwidth",
    "e\u0301\u0301\u0301",
    "-dash",
    "--double-dash",
    "..dots",
    " spaced ",
    "x" * 240,
)
UNDECODABLE = (b"\xff\xfe-latin1-\xe9", b"bad-\x80\x81")

KINDS = (
    ("valid", 30),
    ("odd-name", 12),
    ("wrong-suffix", 4),
    ("truncated", 15),
    ("corrupt", 15),
    ("zero", 4),
    ("non-image", 6),
    ("bomb", 5),
    ("not-a-file", 6),
    ("too-large", 1),
    ("stdin", 2),
)


def make_cases(folder, count, seed=0):
    """Writes ``count`` inputs into ``folder``; returns their ``Case`` list.

    Every kind of ``KINDS`` appears once before the rest are drawn by weight,
    so a small count still covers them all.
    """
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kinds = [k for k, _ in KINDS]
    kinds += rng.choices(
        kinds, weights=[w for _, w in KINDS], k=max(0, count - len(kinds))
    )
    return [_make(kind, folder, i, rng) for i, kind in enumerate(kinds[:count])]


def _make(kind, folder, i, rng):
    stem = f"{i:05d}-{kind}"
    if kind == "stdin":
        # A picture, or nothing, /dev/zero-like zeros past the limit, or text.
        pick = rng.randrange(4)
        data = (valid_bytes(rng)[0], b"", b"\0" * (9 * 2**20), b"text")[pick]
        return Case("-", kind, pick == 0, stdin=data)
    if kind == "not-a-file":
        return _not_a_file(folder, stem, rng)
    if kind == "too-large":  # Sparse: 40 MiB on paper, nothing on disk.
        path = folder / f"{stem}.png"
        with open(path, "wb") as f:
            f.write(valid_bytes(rng)[0])
            f.truncate(40 * 2**20)
        return Case(str(path), kind, False)
    valid, data, suffix = True, *valid_bytes(rng)
    if kind == "odd-name":
        odd = rng.choice(ODD_NAMES + UNDECODABLE)
        if isinstance(odd, bytes):
            path = os.fsdecode(bytes(folder) + b"/" + odd + f"-{i}".encode() + b".png")
        else:
            path = str(folder / f"{odd[: 240 - 12]}-{i:05d}{suffix}")
        Path(path).write_bytes(data)
        return Case(path, kind, True)
    if kind == "wrong-suffix":
        suffix = rng.choice((".jpg", ".png", ".gif", ".webp", ".bmp", ".tiff"))
    elif kind == "truncated":
        data, valid = data[: rng.randrange(len(data))], None
    elif kind == "corrupt":
        data, valid = bytearray(data), None
        for _ in range(rng.randint(1, 16)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data)
    elif kind == "zero":
        data, valid = b"", False
    elif kind == "non-image":
        data, valid = (
            rng.choice(NON_IMAGES + (rng.randbytes(rng.randint(1, 4096)),)),
            False,
        )
        suffix = rng.choice((".jpg", ".png", ".gif", ".tiff", ".webp"))
    elif kind == "bomb":
        (data, suffix), valid = bomb_bytes(rng), False
    path = folder / f"{stem}{suffix}"
    path.write_bytes(data)
    return Case(str(path), kind, valid)


def _not_a_file(folder, stem, rng):
    """A directory, a link or a FIFO that is named like a picture."""
    what = rng.choice(
        ("empty-dir", "closed-dir", "link-etc", "dangling", "loop", "fifo")
    )
    path = folder / f"{stem}-{what}.jpg"
    if what == "empty-dir":
        path.mkdir()
    elif what == "closed-dir":
        path.mkdir()
        path.chmod(0)
    elif what == "link-etc":
        path.symlink_to("/etc")
    elif what == "dangling":
        path.symlink_to(folder / "no such file.png")
    elif what == "loop":
        path.symlink_to(path)
    else:
        os.mkfifo(path)
    return Case(str(path), "not-a-file", False)


def unreadable(folder, rng):
    """A valid picture with mode 000: an error unless we may read anything."""
    path = Path(folder) / "unreadable.png"
    path.write_bytes(valid_bytes(rng)[0])
    path.chmod(0)
    try:
        path.open("rb").close()
    except PermissionError:
        return Case(str(path), "unreadable", False)
    return Case(str(path), "unreadable", None)  # Root with DAC override.


def open_up(folder):
    """Gives back read and write permission under ``folder``, so it can be removed."""
    for root, dirs, _ in os.walk(folder):
        for d in dirs:
            path = Path(root, d)
            if not path.is_symlink():
                path.chmod(0o755)


# Malformed CSVs for ``dank data build``: each takes the CSV's text and a rng.
def _stray_quote(text, rng):
    lines = text.splitlines(keepends=True)
    k = rng.randrange(1, len(lines))
    at = rng.randrange(len(lines[k]) or 1)
    lines[k] = lines[k][:at] + '"' + lines[k][at:]
    return "".join(lines)


def _drop_column(text, rng):
    header, _, rest = text.partition("\n")
    names = header.split(",")
    names.pop(rng.randrange(len(names)))
    return ",".join(names) + "\n" + rest


def _ragged(text, rng):
    lines = text.splitlines(keepends=True)
    k = rng.randrange(1, len(lines))
    cut = lines[k].rstrip("\r\n")
    lines[k] = (
        cut + ",extra,fields" if rng.random() < 0.5 else cut[: len(cut) // 2]
    ) + "\n"
    return "".join(lines)


def _odd_text(text, rng):
    lines = text.splitlines(keepends=True)
    k = rng.randrange(1, len(lines))
    odd = rng.choice(
        ("\0", "\x1b[2J", "\u202e", "\ufeff", "\U0001f602" * 50, "\r", "&lt;3;")
    )
    lines[k] = odd + lines[k]
    return "".join(lines)


CSV_MUTATIONS = {
    "stray-quote": _stray_quote,
    "bom": lambda text, rng: "\ufeff" + text,
    "drop-column": _drop_column,
    "rename-header": lambda text, rng: "x" + text,
    "ragged-row": _ragged,
    "odd-text": _odd_text,
    "truncated": lambda text, rng: text[: rng.randrange(len(text))],
    "header-only": lambda text, rng: text.partition("\n")[0] + "\n",
    "empty": lambda text, rng: "",
    "crlf": lambda text, rng: text.replace("\n", "\r\n"),
    "cr-only": lambda text, rng: text.replace("\n", "\r"),
    "huge-field": lambda text, rng: text.replace(",", "," + "w " * 200_000, 1),
    "garbage-numbers": lambda text, rng: text.replace(",1,", ",abc,").replace(
        ",2,", ",-1e309,"
    ),
    "duplicate-rows": lambda text, rng: text + text.partition("\n")[2],
    "path-escape": lambda text, rng: text.replace("templates/", "../../../etc/"),
}


def csv_variants(source, folder, count, seed=0):
    """Writes ``count`` malformed copies of the source folder ``source``.

    Each copy mutates ``templates.csv`` or ``captions.csv.gz`` (once or twice),
    or breaks the gzip itself. Returns ``[(name, path), ...]``.
    """
    rng = random.Random(seed)
    source, folder = Path(source), Path(folder)
    names = sorted(CSV_MUTATIONS) + ["bad-gzip", "latin-1"]
    out = []
    for i in range(count):
        target = rng.choice(("templates.csv", "captions.csv.gz"))
        picks = [names[i % len(names)]] + rng.sample(names, rng.randint(0, 1))
        copy = folder / f"{i:03d}"
        shutil.copytree(source, copy, symlinks=True)
        path = copy / target
        raw = path.read_bytes()
        gzipped = target.endswith(".gz")
        text = (gzip.decompress(raw) if gzipped else raw).decode("utf-8")
        data = None
        for name in picks:
            if name == "bad-gzip":
                data = raw[: len(raw) // 2] if gzipped else rng.randbytes(200)
            elif name == "latin-1":
                data = text.replace("e", "\u00e9").encode("latin-1", "replace")
            else:
                text = CSV_MUTATIONS[name](text, rng)
        if data is None:
            data = text.encode("utf-8", "surrogatepass")
        if gzipped and "bad-gzip" not in picks:
            data = gzip.compress(data)
        path.write_bytes(data)
        out.append(("+".join(picks) + f" ({target})", copy))
    return out
