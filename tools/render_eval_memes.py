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

Writes ``OUT/images/*.jpg`` and ``OUT/labels.csv`` (``file``, ``template_id``,
``equivalent_template_ids``). Deterministic for a given build and seed::

    .venv/bin/python tools/render_eval_memes.py data/build/full --out runs/eval-memes
    .venv/bin/dank evaluate templates --run runs/full \\
        --csv runs/eval-memes/labels.csv --images runs/eval-memes/images
"""

import argparse
import csv
import io
import random
import sys
from collections import defaultdict
from pathlib import Path

from dank.core.errors import DankError
from dank.core.images import open_image
from dank.core.io import write_bytes, write_text
from dank.core.progress import track
from dank.data.pipeline import load_captions, load_catalogue
from dank.render.meme import render_meme

WIDTHS = (300, 700)  # Upload widths, pixels (imgflip serves about 500).
QUALITIES = (60, 92)  # JPEG quality range.


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


def render_set(data_dir, out_dir, per_template=2, split="test", seed=0):
    """Renders ``per_template`` memes for every template that has ``split``
    captions (templates without any get captions of other templates, as a
    user's caption for a rare template may be anything). Returns the row count.
    """
    rng = random.Random(seed)
    catalogue = load_catalogue(data_dir)
    captions = captions_by_template(data_dir, split)
    pool = [c for cs in captions.values() for c in cs]
    if not pool:
        raise DankError(f"{data_dir}: the {split} split has no captions")
    images = Path(out_dir) / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for template in track(catalogue, "rendering memes", total=len(catalogue)):
        picture = open_image(Path(data_dir) / "templates" / template.image)
        own = captions.get(template.label) or pool
        for i in range(per_template):
            top, bottom = rng.choice(own)
            name = f"{template.label:05d}-{i}.jpg"
            data = render_one(picture, top, bottom, template.boxes, rng)
            write_bytes(images / name, data)
            rows.append([name, template.id, ";".join(template.aliases)])
    lines = io.StringIO()
    writer = csv.writer(lines, lineterminator="\n")
    writer.writerow(["file", "template_id", "equivalent_template_ids"])
    writer.writerows(rows)
    write_text(Path(out_dir) / "labels.csv", lines.getvalue())
    return len(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="a data build (dank data build --out)")
    parser.add_argument("--out", required=True, help="folder to write")
    parser.add_argument("--per-template", type=int, default=2)
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.per_template < 1:
        parser.error("--per-template must be at least 1")
    try:
        n = render_set(args.data, args.out, args.per_template, args.split, args.seed)
    except DankError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {n} memes and {Path(args.out) / 'labels.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
