"""A tiny synthetic source folder in the format of ``/work/shared/data/memes``.

Tests everywhere build on it (``tests/conftest.py``): pictures that differ
clearly from template to template (a gradient plus shapes in the template's own
colours) and captions with per-template phrase patterns that a small model can
learn. A few deliberately bad captions (blank, emoji-only, Spanish, too long,
a duplicate) ride along so that every cleaning rule fires once.
"""

import csv
import gzip
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from dank.data.sources import CAPTION_HEADER as CAPTION_COLUMNS
from dank.data.sources import TEMPLATE_HEADER as TEMPLATE_COLUMNS

# Per-template phrase banks: (name, top openers, bottom closers, keywords).
BANKS = (
    (
        "Proud Toddler",
        ["finally finished", "managed to fix", "somehow passed"],
        ["first try", "without crying", "before lunch"],
        ["homework", "bug", "exam", "bike"],
    ),
    (
        "Grumpy Owl",
        ["nobody asked", "why would you", "who even"],
        ["at three am", "on a monday", "in my house"],
        ["sing", "vacuum", "call", "knock"],
    ),
    (
        "Space Dog",
        ["one small step", "houston we", "to the moon"],
        ["for good boys", "need more treats", "and back"],
        ["dog", "bone", "ball", "walk"],
    ),
    (
        "Confused Robot",
        ["does not compute", "error error", "beep boop"],
        ["please reboot", "human logic", "insert coin"],
        ["love", "jokes", "tax", "socks"],
    ),
    (
        "Wise Turtle",
        ["slow and steady", "take your time", "patience young"],
        ["wins the race", "it is fine", "the shell knows"],
        ["race", "tea", "nap", "river"],
    ),
    (
        "Party Cat",
        ["its friday", "let the music", "dance like"],
        ["nobody is watching", "all night long", "with tuna"],
        ["party", "disco", "yarn", "pizza"],
    ),
)
BAD_CAPTIONS = (  # (top, bottom): each trips one cleaning rule.
    ("", "   "),
    ("\U0001f602\U0001f602", "\U0001f525"),
    ("cuando el perro", "que es para mi"),
    (" ".join(["very"] * 20), " ".join(["long"] * 10)),
)


def _picture(index, rng, size):
    """A picture unlike the others: a gradient and shapes in per-index colours."""
    hue = np.array(
        [(index * 97) % 256, (index * 53 + 80) % 256, (index * 151 + 40) % 256]
    )
    h, w = size
    ramp = np.linspace(0.0, 1.0, w if index % 2 else h)
    ramp = ramp[None, :, None] if index % 2 else ramp[:, None, None]
    base = hue[None, None, :] * ramp + (255 - hue)[None, None, :] * (1 - ramp)
    image = Image.fromarray(np.broadcast_to(base, (h, w, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(4 + index % 3):
        x0, y0 = rng.integers(0, w - 40), rng.integers(0, h - 40)
        x1, y1 = x0 + rng.integers(30, w // 2), y0 + rng.integers(30, h // 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
    return image


def _captions(bank, count, rng, suffix):
    _, openers, closers, keywords = bank
    combos = [
        (f"{o} {k}{suffix}", f"{c}") for o in openers for k in keywords for c in closers
    ]
    combos += [(f"{o} {k}{suffix}", "") for o in openers for k in keywords]
    order = rng.permutation(len(combos))
    return [combos[i] for i in order[: min(count, len(combos))]]


def make_source(
    directory, n_templates=6, captions_per_template=40, seed=0, duplicate=False
):
    """Writes a synthetic source folder and returns its path.

    Args:
        directory: where to write ``templates.csv``, ``captions.csv.gz`` and
            ``templates/*.png``; created if missing.
        n_templates: how many templates (distinct pictures).
        captions_per_template: clean captions per template (at most 48), before
            the extra bad ones added to the first template.
        seed: makes pictures, captions and upvotes reproducible.
        duplicate: also add ``memegenlink-proud`` showing the first template's
            picture at another size, which the build must merge.

    Returns:
        ``Path(directory)``.
    """
    directory = Path(directory)
    (directory / "templates").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    templates, captions = [], []
    for i in range(n_templates):
        bank = BANKS[i % len(BANKS)]
        suffix = "" if i < len(BANKS) else f" v{i // len(BANKS)}"
        name = bank[0] + suffix
        tid = "imgflip-" + name.replace(" ", "-")
        size = (int(rng.integers(200, 300)), int(rng.integers(200, 300)))
        image = _picture(i, rng, size)
        rows = _captions(bank, captions_per_template, rng, suffix)
        if i == 0:
            rows = rows + list(BAD_CAPTIONS) + [rows[0]]
        for top, bottom in rows:
            views = int(rng.integers(100, 20000))
            captions.append(
                [
                    tid,
                    top.upper(),
                    bottom.upper(),
                    "",
                    2 if bottom else 1,
                    int(rng.geometric(0.05)) - 1,
                    "imgflip_upvotes",
                    views,
                    "synthetic",
                    "",
                ]
            )
        templates.append(_template_row(directory, tid, name, image, len(rows)))
        if duplicate and i == 0:
            copy = image.resize((image.width * 3 // 2, image.height * 3 // 2))
            templates.append(
                _template_row(directory, "memegenlink-proud", name, copy, 0)
            )
    with open(directory / "templates.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(TEMPLATE_COLUMNS)
        writer.writerows(templates)
    with gzip.open(
        directory / "captions.csv.gz", "wt", encoding="utf-8", newline=""
    ) as f:
        writer = csv.writer(f)
        writer.writerow(CAPTION_COLUMNS)
        writer.writerows(captions)
    return directory


def _template_row(directory, tid, name, image, n_captions):
    path = directory / "templates" / f"{tid}.png"
    image.save(path)
    memegen = tid.startswith("memegenlink-")
    layout = json.dumps(
        [{"anchor_x": 0.0, "anchor_y": 0.0, "scale_x": 1.0, "scale_y": 0.2}]
    )
    return [
        tid,
        name,
        "memegen.link" if memegen else "imgflip.com",
        "",
        "",
        "synthetic " + name.lower(),
        2 if memegen else "",
        f"templates/{tid}.png",
        path.stat().st_size,
        image.width,
        image.height,
        "synthetic",
        "",
        "",
        n_captions,
        n_captions,
        "",
        "",
        layout if memegen else "",
        "synthetic test image",
    ]
