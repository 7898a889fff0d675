"""Mirror-blind inference on runs trained before it: validation top-1 with and
without averaging each meme with its mirror image.

Each run's classifier is rebuilt with ``build_model(..., mirror=True)`` and its
own weights (the mirror layers have none), then both are scored on the
training's fixed validation memes (light and wild, ``data.val_dataset``) of
the data build ``--data``, with the ``--preset``'s validation settings.

Usage::

    python -m experiments.vision.mirror --data data/build/starter \\
        --out experiments/results/vision-mirror.json RUN [RUN ...]
"""

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np

from dank.core import constants
from dank.core.io import write_json
from dank.models.vision import data
from dank.models.vision.config import get_config


def scores(model, datasets):
    """Top-1 of ``model`` on each of ``datasets`` {name: (images, labels)}."""
    from dank.models.vision.model import inference_function
    from dank.models.vision.train import predict_arrays, topk_accuracy

    forward = inference_function(model)
    out = {}
    for name, batches in datasets.items():
        probs, _, labels = predict_arrays(forward, batches)
        out[name] = round(topk_accuracy(probs, labels, 1), 4)
    return out


def compare(run, datasets):
    """{"plain": top-1s, "mirror": top-1s} of the vision model of ``run``."""
    import keras

    from dank.models.vision.model import build_model

    plain = keras.saving.load_model(Path(run) / constants.VISION_DIR / "model.keras")
    size = int(plain.inputs[0].shape[1])
    n = int(plain.get_layer("logits").units)
    mirror = build_model(n, size, mirror=True)
    mirror.set_weights(plain.get_weights())
    return {"plain": scores(plain, datasets), "mirror": scores(mirror, datasets)}


def summary(rows, name):
    """Mean top-1 on set ``name`` and the runs at or above 0.98, both ways."""
    out = {}
    for way in ("plain", "mirror"):
        values = np.array([row[way][name] for row in rows.values()])
        out[way] = {
            "mean": round(float(values.mean()), 4),
            "min": float(values.min()),
            "at_or_above_0.98": f"{int((values >= 0.98).sum())} of {values.size}",
        }
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders with a vision model")
    parser.add_argument("--data", required=True, help="the runs' data build")
    parser.add_argument("--preset", default="cpu", help="validation settings")
    parser.add_argument("--out", required=True, help="JSON results file")
    args = parser.parse_args(argv)
    config = get_config(args.preset)
    datasets = {
        "light": data.val_dataset(args.data, config, wild=False).cache(),
        "wild": data.val_dataset(args.data, config).cache(),
    }
    rows = {}
    for run in args.runs:
        rows[run] = compare(run, datasets)
        print(run, rows[run], flush=True)
    write_json(
        args.out,
        {
            "what": "validation top-1 of trained runs without and with "
            "mirror-blind inference (experiments/vision/mirror.py)",
            "date": datetime.date.today().isoformat(),
            "data": args.data,
            "preset": args.preset,
            "runs": rows,
            "light": summary(rows, "light"),
            "wild": summary(rows, "wild"),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
