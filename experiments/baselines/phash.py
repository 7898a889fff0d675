"""Perceptual-hash nearest-neighbour template matcher: the bar the CNN must clear.

Each catalogue template is hashed once (``imagehash.phash``, 64 bits); a query
picture gets the templates ordered by Hamming distance to its hash. Scored on
the same fixed synthetic-meme validation set as ``dank train vision`` (same
preset, seed and val-split captions), and optionally on labelled real memes
with the ``dank evaluate templates`` CSV format. Prints one JSON object.

Usage:
    python -m experiments.baselines.phash --data data/build/starter --preset cpu \
        [--csv FILE --images DIR] [--hash-size 8]
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import imagehash  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from dank.core.images import open_image  # noqa: E402
from dank.core.run import template_image_path  # noqa: E402
from dank.data.pipeline import load_catalogue  # noqa: E402

TOP_K = 5


def hash_bits(image, hash_size):
    """The pHash of a PIL image as a flat bool array."""
    return imagehash.phash(image, hash_size=hash_size).hash.reshape(-1)


def template_hashes(data_dir, hash_size):
    """[n_templates, bits] hashes of the build's template pictures, in label order."""
    catalogue = load_catalogue(data_dir)
    return catalogue, np.stack(
        [
            hash_bits(open_image(template_image_path(data_dir, t)), hash_size)
            for t in catalogue
        ]
    )


def rank(query_bits, table):
    """Template labels ordered by Hamming distance (nearest first), per query."""
    distance = (query_bits[:, None, :] != table[None, :, :]).sum(axis=-1)
    return np.argsort(distance, axis=1, kind="stable")


def score_synthetic(data_dir, preset, table, hash_size):
    from dank.models.vision.config import get_config
    from dank.models.vision.data import validation_arrays

    images, labels = validation_arrays(data_dir, get_config(preset))
    bits = np.stack([hash_bits(Image.fromarray(x), hash_size) for x in images])
    order = rank(bits, table)
    return {
        "n": int(labels.size),
        "top1": float((order[:, 0] == labels).mean()),
        "top5": float((order[:, :TOP_K] == labels[:, None]).any(axis=1).mean()),
    }


def score_csv(csv_path, images_dir, catalogue, table, hash_size):
    from dank.core.errors import DankError
    from dank.models.vision.evaluate import read_labels

    hits1 = hits5 = n = 0
    errors = []
    for file, ids, _ in read_labels(csv_path):
        try:
            bits = hash_bits(open_image(Path(images_dir) / file), hash_size)
        except DankError as e:
            errors.append(str(e))
            continue
        top = rank(bits[None], table)[0, :TOP_K]
        hit = [
            bool(
                {
                    catalogue[int(i)].id.lower(),
                    *(a.lower() for a in catalogue[int(i)].aliases),
                }
                & ids
            )
            for i in top
        ]
        n += 1
        hits1 += hit[0]
        hits5 += any(hit)
    return {
        "n": n,
        "top1": hits1 / n if n else None,
        "top5": hits5 / n if n else None,
        "errors": len(errors),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default="data/build/starter", help="data build (default %(default)s)"
    )
    parser.add_argument(
        "--preset",
        default="cpu",
        help="vision preset of the synthetic validation images (default %(default)s)",
    )
    parser.add_argument(
        "--hash-size", type=int, default=8, help="pHash side: hash-size**2 bits"
    )
    parser.add_argument("--csv", help="labelled real memes (file,template_id,...)")
    parser.add_argument("--images", help="folder of the CSV's files")
    args = parser.parse_args()
    start = time.perf_counter()
    catalogue, table = template_hashes(args.data, args.hash_size)
    result = {
        "baseline": "phash-nearest-neighbour",
        "hash_bits": int(table.shape[1]),
        "n_templates": len(catalogue),
        "synthetic_val": score_synthetic(args.data, args.preset, table, args.hash_size),
    }
    if args.csv:
        result["csv"] = score_csv(
            args.csv, args.images or ".", catalogue, table, args.hash_size
        )
    result["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
