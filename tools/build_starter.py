"""Builds the committed starter set ``data/starter/`` from the full source folder.

Keeps the templates (after merging duplicate pictures, by canonical id) with
the most captions, their images downscaled to JPEG, and the top-scored captions
of each, in the SAME format as the source, so ``dank data build --source
data/starter`` runs the same code path as a full build. Deterministic.

    .venv/bin/python -m tools.build_starter [SOURCE] [--out data/starter]
"""

import argparse
import collections
import csv
import gzip
import math
import shutil
import sys
from pathlib import Path

from dank.core.images import downscale, open_image, to_jpeg
from dank.core.io import atomic_path
from dank.data import sources
from dank.data.build import load_images, merge_templates
from dank.data.sources import CAPTION_HEADER as CAPTION_COLUMNS
from dank.data.sources import TEMPLATE_HEADER as TEMPLATE_COLUMNS

N_TEMPLATES = 100  # Templates kept, by caption count after merging.
CAPTIONS_PER_TEMPLATE = 1000  # Top-scored captions kept per template (~6 MB in all).
IMAGE_SIDE = 300  # Longer image side, pixels.


def _score(row):
    try:
        x = float(row["score"])
    except ValueError:
        return -math.inf
    return x if math.isfinite(x) else -math.inf


def build_starter(
    source, out, n_templates=N_TEMPLATES, per_template=CAPTIONS_PER_TEMPLATE
):
    """Writes the starter set into ``out`` (atomically); returns a summary dict."""
    source = Path(source)
    rows = sources.read_templates(source)
    captions = list(sources.read_captions(source))
    raw = collections.Counter(r["template_id"] for r in captions)
    loaded, _ = load_images(source, rows)
    groups = merge_templates(loaded, raw)
    groups.sort(key=lambda g: (-sum(raw[m] for m in g), g[0]))
    chosen = groups[:n_templates]
    canonical = {m: g[0] for g in chosen for m in g}
    by_id = {r["template_id"]: r for r in rows}
    by_template = collections.defaultdict(list)
    for row in captions:
        if row["template_id"] in canonical:
            by_template[canonical[row["template_id"]]].append(row)
    with atomic_path(out) as tmp:
        (tmp / "templates").mkdir(parents=True)
        template_rows, caption_rows = [], []
        for group in chosen:
            tid = group[0]
            row = dict(by_id[tid])
            image = downscale(open_image(source / row["image_file"]), IMAGE_SIDE)
            jpeg = to_jpeg(image, quality=85)
            (tmp / "templates" / f"{tid}.jpg").write_bytes(jpeg)
            picked = sorted(
                by_template[tid], key=lambda r: (-_score(r), r["top"], r["bottom"])
            )
            picked = picked[:per_template]
            aliases = [
                a for m in group for a in [m, by_id[m]["name"]] if a != row["name"]
            ]
            alt = [
                a.strip() for a in (row.get("alt_names") or "").split(",") if a.strip()
            ]
            row.update(
                alt_names=", ".join(dict.fromkeys(alt + aliases[1:])),
                image_file=f"templates/{tid}.jpg",
                image_bytes=len(jpeg),
                width=image.width,
                height=image.height,
                n_captions=len(picked),
                n_captions_scored=sum(1 for r in picked if r["score"]),
            )
            template_rows.append([row.get(c, "") for c in TEMPLATE_COLUMNS])
            for r in picked:
                caption_rows.append([tid] + [r.get(c, "") for c in CAPTION_COLUMNS[1:]])
        with open(tmp / "templates.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(TEMPLATE_COLUMNS)
            writer.writerows(template_rows)
        # mtime=0 keeps the gzip bytes identical from run to run.
        with (
            open(tmp / "captions.csv.gz", "wb") as raw_f,
            gzip.GzipFile(fileobj=raw_f, mode="wb", mtime=0) as gz,
            open_text(gz) as f,
        ):
            writer = csv.writer(f)
            writer.writerow(CAPTION_COLUMNS)
            writer.writerows(caption_rows)
        if (source / "licenses").is_dir():
            shutil.copytree(source / "licenses", tmp / "licenses")
        readme = (
            (source / "README.txt").read_text(encoding="utf-8")
            if (source / "README.txt").is_file()
            else ""
        )
        (tmp / "README.txt").write_text(
            _readme(len(template_rows), len(caption_rows), readme), encoding="utf-8"
        )
    return {"templates": len(template_rows), "captions": len(caption_rows)}


def open_text(binary):
    import io

    return io.TextIOWrapper(binary, encoding="utf-8", newline="")


def _readme(n_templates, n_captions, source_readme):
    return f"""dank starter set: a small, committed slice of the real meme data
=================================================================

{n_templates} templates (the ones with the most captions after merging templates that
show the same picture; ids are the canonical ids of dank's catalogue), images
downscaled to at most {IMAGE_SIDE} px JPEG, and up to {CAPTIONS_PER_TEMPLATE} top-scored
captions each ({n_captions} captions). Same format as the full source folder
(templates.csv, captions.csv.gz, templates/), so `dank data build --source
data/starter --out DIR` runs the same code as a full build. alt_names also list
the merged source ids and names.

Built with:
    .venv/bin/python -m tools.build_starter ../shared/data/memes --out data/starter

Provenance and licences are those of the full source folder, carried over below
and in licenses/ (which MUST travel with captions.csv.gz). Template images and
captions belong to third parties: research use only. Content warning: captions
were not filtered and include offensive text.

----- README of the source folder -----

{source_readme}"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "source",
        nargs="?",
        default="../shared/data/memes",
        help="the full source folder (default %(default)s)",
    )
    parser.add_argument(
        "--out", default="data/starter", help="folder to write (default %(default)s)"
    )
    parser.add_argument(
        "--templates",
        type=int,
        default=N_TEMPLATES,
        help="templates kept, most captions first (default %(default)s)",
    )
    parser.add_argument(
        "--captions",
        type=int,
        default=CAPTIONS_PER_TEMPLATE,
        help="top-scored captions kept per template (default %(default)s)",
    )
    args = parser.parse_args(argv)
    summary = build_starter(args.source, args.out, args.templates, args.captions)
    n_templates, n_captions = summary["templates"], summary["captions"]
    print(f"wrote {args.out}: {n_templates} templates, {n_captions} captions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
