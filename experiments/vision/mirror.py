"""Mirror-blind inference on runs trained before it: validation top-1 with and
without averaging each meme with its mirror image.

Each run's classifier is rebuilt with ``build_model`` both ways, without and
with ``mirror``, from its own weights, and both are scored on the
training's fixed validation memes (light and wild, ``data.val_dataset``) of
the data build ``--data``, with the ``--preset``'s validation settings, and
the unknown-picture threshold is chosen again both ways on the wild memes and
the synthetic unknown pictures (``calibrate.choose_threshold``, as training
does): its known recall and unknown rejection.

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


def scores(model, datasets, unknown):
    """Top-1 of ``model`` on each of ``datasets`` {name: (images, labels)},
    and the calibration of its wild top probabilities against ``unknown``."""
    from dank.models.vision import calibrate
    from dank.models.vision.model import inference_function
    from dank.models.vision.train import predict_arrays, topk_accuracy

    forward = inference_function(model)
    out, top = {}, {}
    for name, batches in datasets.items():
        probs, _, labels = predict_arrays(forward, batches)
        out[name] = round(topk_accuracy(probs, labels, 1), 4)
        top[name] = probs.max(axis=1)
    unknown_probs, _, _ = predict_arrays(forward, unknown)
    calibration = calibrate.choose_threshold(top["wild"], unknown_probs.max(axis=1))
    for key in ("known_recall", "unknown_rejection"):
        out[key] = round(calibration[key], 4)
    return out


def compare(run, datasets, unknown):
    """{"plain": figures, "mirror": figures} of the vision model of ``run``,
    rebuilt both ways with its own weights (the mirror layers have none)."""
    import keras

    from dank.models.vision.model import build_model

    saved = keras.saving.load_model(Path(run) / constants.VISION_DIR / "model.keras")
    size = int(saved.inputs[0].shape[1])
    n = int(saved.get_layer("logits").units)
    out = {}
    for way in ("plain", "mirror"):
        model = build_model(n, size, mirror=way == "mirror")
        model.set_weights(saved.get_weights())
        out[way] = scores(model, datasets, unknown)
    return out


def summary(rows, name):
    """Mean of ``name`` (a top-1 or a calibration figure), its minimum and the
    runs at or above 0.98, both ways."""
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
    unknown = data.unknown_dataset(config).cache()
    rows = {}
    for run in args.runs:
        rows[run] = compare(run, datasets, unknown)
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
            **{
                name: summary(rows, name)
                for name in ("light", "wild", "known_recall", "unknown_rejection")
            },
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
