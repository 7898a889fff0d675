"""Renders an imgflip-style labelled meme set for ``dank evaluate templates``.

No labelled set of real captioned memes is in ``../shared``; this is the
closest stand-in: each template's own held-out *test* captions (real captions
users wrote, never trained on by either model) drawn on its picture the way
imgflip and memegen draw them: the whole picture, no crop, no flip, white
Impact-style text with a black outline in the template's text boxes, then
scaled to a typical upload width and saved as JPEG at a typical quality. It is
easier than the training augmentation (which crops, pads, jitters and flips)
and harder than the bare template. It shares the caption renderer with the
training augmentation, so read it as "imgflip-style", not as "real".

That default (``--style clean``) is too clean: real memes carry watermarks,
heavy re-compression, crops, borders, screenshot frames, other fonts and
colours, caption boxes over the subject and stacked pictures.
``--style wild`` draws a seeded random mix of those effects
(``dank.models.vision.wild``, shared with the training augmentation) on each
meme and lists which ones in ``OUT/effects.csv`` (``file``, ``effects``). It
is still a stand-in: the pictures are the catalogue's own template images, the
captions are drawn by dank, and the effects are our guess at the wild.

Writes ``OUT/images/*.jpg`` and ``OUT/labels.csv`` (``file``, ``template_id``,
``equivalent_template_ids``). Deterministic for a given build and seed::

    .venv/bin/python -m tools.render_eval_memes data/build/full --out runs/eval-memes
    .venv/bin/dank evaluate templates --run runs/full \\
        --csv runs/eval-memes/labels.csv --images runs/eval-memes/images
"""

import argparse
import csv
import functools
import io
import random
import sys
from collections import defaultdict
from pathlib import Path

from PIL import Image

from dank.core.errors import DankError
from dank.core.images import open_image
from dank.core.io import write_bytes, write_text
from dank.core.progress import track
from dank.core.run import template_image_path
from dank.data.pipeline import load_captions, load_catalogue
from dank.models.vision import wild
from dank.render.meme import render_meme

STYLES = ("clean", "wild")
WIDTHS = (300, 700)  # Upload widths, pixels (imgflip serves about 500).
QUALITIES = (60, 92)  # JPEG quality range.
WILD_WIDTHS = (200, 900)  # Widths of wild memes, pixels.
WILD_QUALITIES = (30, 90)  # JPEG quality of wild memes.
# Share of wild memes with each effect, in the order they are applied.
# "restyled": other font/colour; "cover": one box over the middle holds the
# caption; "stacked": another template's picture above or below (the label
# stays the bigger one); "recompressed": saved as JPEG twice.
WILD_PROBS = {
    "cover": 0.25,
    "restyled": 0.45,
    "stacked": 0.12,
    "watermark": 0.5,
    "other-mark": 0.2,
    "crop": 0.35,
    "border": 0.3,
    "screenshot": 0.2,
    "recompressed": 0.3,
}


def captions_by_template(data_dir, split):
    """``{label: [(top, bottom), ...]}`` of one split."""
    out = defaultdict(list)
    for c in load_captions(data_dir, split):
        out[c["label"]].append((c["top"], c["bottom"]))
    return out


def render_one(picture, top, bottom, boxes, rng):
    """One meme as JPEG bytes: caption drawn, resized to a random width."""
    image = render_meme(picture, top, bottom, boxes=boxes).image
    width = rng.randint(*WIDTHS)
    height = max(1, round(image.height * width / image.width))
    image = image.resize((width, height))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=rng.randint(*QUALITIES))
    return buffer.getvalue()


def _overlay(image, layer):
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


def render_wild(picture, top, bottom, boxes, rng, other=None):
    """One meme in the wild as JPEG bytes, and the names of its effects.

    Args:
        picture: the template picture (RGB).
        top, bottom: the caption.
        boxes: the template's text boxes (the classic look when not restyled).
        rng: a ``random.Random``; the only source of choices.
        other: a function of ``rng`` giving another template's picture, for
            stacking (None: never stacked).
    """
    effects = [name for name, p in WILD_PROBS.items() if rng.random() < p]
    if other is None and "stacked" in effects:
        effects.remove("stacked")
    on = set(effects)
    if "cover" in on:
        text = " ".join(t for t in (top, bottom) if t) or rng.choice(wild.FILLER)
        image = _overlay(picture, wild.cover_layer(text, picture.size, rng))
        on.discard("restyled")
    elif "restyled" in on:
        image = _overlay(picture, wild.caption_layer(top, bottom, picture.size, rng))
    else:
        image = render_meme(picture, top, bottom, boxes=boxes).image
    if "stacked" in on:
        image = wild.stack(image, other(rng), rng)
    if "watermark" in on:
        image = _overlay(image, wild.watermark_layer(image.size, rng))
    if "other-mark" in on:
        image = _overlay(image, wild.watermark_layer(image.size, rng, other=True))
    if "crop" in on:
        image = wild.crop(image, rng)
    if "border" in on:
        image = wild.pad(image, rng)
    if "screenshot" in on:
        image = wild.frame(image, rng)
    image = wild.rescale(image, rng.randint(*WILD_WIDTHS))
    if "recompressed" in on:
        image = open_image(wild.jpeg(image, rng.randint(*WILD_QUALITIES)))
    return wild.jpeg(image, rng.randint(*WILD_QUALITIES)), [
        e for e in effects if e in on
    ]


def _other_picture(templates, index, picture_of, rng):
    """The picture of a random template other than ``templates[index]``."""
    j = rng.randrange(len(templates) - 1)
    return picture_of(templates[j + (j >= index)])


def _write_csv(path, header, rows):
    lines = io.StringIO()
    writer = csv.writer(lines, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, lines.getvalue())


def render_set(data_dir, out_dir, per_template=2, split="test", seed=0, style="clean"):
    """Renders ``per_template`` memes for every template that has ``split``
    captions (templates without any get captions of other templates, as a
    user's caption for a rare template may be anything). Returns the row count.

    ``style`` is ``clean`` (the imgflip look) or ``wild`` (with a random mix of
    ``WILD_PROBS``'s effects, listed in ``effects.csv``).
    """
    if style not in STYLES:
        raise DankError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
    rng = random.Random(seed)
    catalogue = load_catalogue(data_dir)
    captions = captions_by_template(data_dir, split)
    pool = [c for cs in captions.values() for c in cs]
    if not pool:
        raise DankError(f"{data_dir}: the {split} split has no captions")
    images = Path(out_dir) / "images"
    images.mkdir(parents=True, exist_ok=True)
    templates = list(catalogue)
    # Keyed by label: a template with memegen text boxes (lists) is unhashable.
    picture_by_label = functools.lru_cache(maxsize=64)(
        lambda label: open_image(template_image_path(data_dir, catalogue[label]))
    )

    def picture_of(template):
        return picture_by_label(template.label)

    rows, effects = [], []
    for index, template in enumerate(
        track(templates, "rendering memes", total=len(templates))
    ):
        picture = picture_of(template)
        own = captions.get(template.label) or pool
        other = None
        if len(templates) > 1:
            other = functools.partial(_other_picture, templates, index, picture_of)
        for i in range(per_template):
            name = f"{template.label:05d}-{i}.jpg"
            if style == "clean":
                top, bottom = rng.choice(own)
                data = render_one(picture, top, bottom, template.boxes, rng)
            else:
                # One generator per meme: a meme does not change when others do.
                meme_rng = random.Random(f"wild-{seed}-{template.label}-{i}")
                top, bottom = meme_rng.choice(own)
                data, done = render_wild(
                    picture, top, bottom, template.boxes, meme_rng, other
                )
                effects.append([name, ";".join(done)])
            write_bytes(images / name, data)
            rows.append([name, template.id, ";".join(template.aliases)])
    out = Path(out_dir)
    _write_csv(
        out / "labels.csv", ["file", "template_id", "equivalent_template_ids"], rows
    )
    if style == "wild":
        _write_csv(out / "effects.csv", ["file", "effects"], effects)
    return len(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="a data build (dank data build --out)")
    parser.add_argument("--out", required=True, help="folder to write")
    parser.add_argument(
        "--per-template", type=int, default=2, help="memes per template (default 2)"
    )
    parser.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test"),
        help="split whose captions are drawn (default %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="the same seed, the same set (default 0)"
    )
    parser.add_argument(
        "--style",
        choices=STYLES,
        default="clean",
        help="clean: the imgflip look; wild: watermarks, crops, borders, "
        "screenshots, other fonts, covering boxes... (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.per_template < 1:
        parser.error("--per-template must be at least 1")
    try:
        n = render_set(
            args.data, args.out, args.per_template, args.split, args.seed, args.style
        )
    except DankError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {n} memes and {Path(args.out) / 'labels.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
