"""Mirror-blind inference on runs trained before it: top-1 without and with a
look at each meme's mirror image (``model.MirrorChoice``: the mirror image
answers when the classifier is surer of it by more than a margin).

Each run's classifier is rebuilt without the mirror layers from its own
weights (they have none) and scores every meme and its mirror image once; each
margin then picks per meme as ``MirrorChoice`` does (``choose``), so one pass
gives every margin, and ``mirror`` is the model's own ``MIRROR_MARGIN``. The
sets:

* ``light``, ``wild``: the training's fixed validation memes of ``--data``
  (``data.val_dataset``, the ``--preset``'s settings; 16% of them mirrored);
* ``valsplit_wild`` (``--valsplit N``): wild memes rendered from the *val*
  split (``tools/render_eval_memes.py``, N per template), none mirrored: what
  a look at the mirror image costs memes that were never mirrored; with the
  two above, what the margin is chosen on;
* ``standin_wild`` (``--standin N``): the same from the *test* split, the
  stand-in of ``experiments/vision/standins.py``: reported, never used to
  choose.

For each way the unknown-picture threshold is chosen again on the wild memes
and the synthetic unknown pictures (``calibrate.choose_threshold``, as
training does): its known recall and unknown rejection.

Usage::

    python -m experiments.vision.mirror --data data/build/starter \\
        --valsplit 10 --standin 10 --out experiments/results/vision-mirror.json \\
        RUN [RUN ...]
"""

import argparse
import csv
import datetime
import sys
import tempfile
from pathlib import Path

import numpy as np

from dank.core import constants
from dank.core.io import write_json
from dank.models.vision import data
from dank.models.vision.config import get_config

MARGINS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def choose(probs, mirrored, margin):
    """Per row, ``mirrored``'s probabilities where their top one beats
    ``probs``' by more than ``margin``, else ``probs``' (``MirrorChoice``)."""
    use = mirrored.max(axis=1) > probs.max(axis=1) + margin
    return np.where(use[:, None], mirrored, probs)


def both_orientations(forward, batches):
    """(probabilities of the pictures, of their mirror images, labels or None)
    of ``forward`` (an ``inference_function``) over a dataset."""
    import tensorflow as tf

    from dank.models.vision.train import predict_arrays

    pictures, _, labels = predict_arrays(forward, batches)

    def flip(images, *labels):
        images = tf.reverse(images, [2])
        return (images, *labels) if labels else images

    mirrored, _, _ = predict_arrays(forward, batches.map(flip))
    return pictures, mirrored, labels


def compare(run, datasets, unknown):
    """{way: {set: top-1, "known_recall", "unknown_rejection"}} of the vision
    model of ``run`` for the ways "plain", "margin T" (``MARGINS``) and
    "mirror" (the model's own ``MIRROR_MARGIN``)."""
    import keras

    from dank.models.vision import calibrate
    from dank.models.vision.model import MIRROR_MARGIN, build_model, inference_function
    from dank.models.vision.train import topk_accuracy

    saved = keras.saving.load_model(Path(run) / constants.VISION_DIR / "model.keras")
    model = build_model(
        int(saved.get_layer("logits").units), int(saved.inputs[0].shape[1])
    )
    model.set_weights(saved.get_weights())
    forward = inference_function(model)
    scored = {name: both_orientations(forward, d) for name, d in datasets.items()}
    others, others_mirrored, _ = both_orientations(forward, unknown)
    ways = {"plain": None, "mirror": MIRROR_MARGIN}
    ways.update({f"margin {m}": m for m in MARGINS})
    out = {}
    for way, margin in ways.items():

        def pick(probs, mirrored, margin=margin):
            return probs if margin is None else choose(probs, mirrored, margin)

        row = {
            name: round(topk_accuracy(pick(p, q), labels, 1), 4)
            for name, (p, q, labels) in scored.items()
        }
        calibration = calibrate.choose_threshold(
            pick(*scored["wild"][:2]).max(axis=1),
            pick(others, others_mirrored).max(axis=1),
        )
        for key in ("known_recall", "unknown_rejection"):
            row[key] = round(calibration[key], 4)
        out[way] = row
    return out


def rendered_dataset(data_dir, size, per_template, split, folder):
    """Wild memes of ``split`` rendered into ``folder``: batches of (images
    resized to ``size`` as ``Classifier.preprocess`` does, labels)."""
    import tensorflow as tf

    from dank.data.pipeline import load_catalogue
    from dank.models.vision.predict import load_array
    from tools import render_eval_memes

    render_eval_memes.render_set(
        data_dir, folder, per_template=per_template, split=split, style="wild"
    )
    catalogue = load_catalogue(data_dir)
    label_of = {catalogue[i].id: i for i in range(len(catalogue))}
    with open(Path(folder) / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    images = [
        tf.image.resize(
            tf.cast(load_array(Path(folder) / "images" / row["file"], size), "float32"),
            (size, size),
            antialias=True,
        )
        for row in rows
    ]
    labels = [label_of[row["template_id"]] for row in rows]
    return tf.data.Dataset.from_tensor_slices((tf.stack(images), labels)).batch(32)


def summary(rows, name):
    """Per way: the mean of ``name`` (a set's top-1 or a calibration figure)
    over the runs, its minimum and the runs at or above 0.98."""
    out = {}
    for way in next(iter(rows.values())):
        values = np.array([row[way][name] for row in rows.values()])
        out[way] = {
            "mean": round(float(values.mean()), 4),
            "min": float(values.min()),
            "at_or_above_0.98": f"{int((values >= 0.98).sum())} of {values.size}",
        }
    return out


def parser(description):
    """The re-scoring experiments' flags: runs, --data, --preset, --out,
    --valsplit N and --standin N."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("runs", nargs="+", help="run folders with a vision model")
    parser.add_argument("--data", required=True, help="the runs' data build")
    parser.add_argument("--preset", default="cpu", help="validation settings")
    parser.add_argument("--out", required=True, help="JSON results file")
    for split, flag in (("val", "--valsplit"), ("test", "--standin")):
        parser.add_argument(
            flag,
            type=int,
            default=0,
            metavar="N",
            help=f"also score wild memes rendered from the {split} split, "
            "N per template",
        )
    return parser


def scored_sets(args, config, folder):
    """{set: batches}: the validation memes (light, wild) and, as ``args``
    ask, the wild memes rendered into ``folder`` from the val and test
    splits; and the synthetic unknown pictures."""
    datasets = {
        "light": data.val_dataset(args.data, config, wild=False).cache(),
        "wild": data.val_dataset(args.data, config).cache(),
    }
    for name, split, n in (
        ("valsplit_wild", "val", args.valsplit),
        ("standin_wild", "test", args.standin),
    ):
        if n:
            datasets[name] = rendered_dataset(
                args.data, config.image_size, n, split, Path(folder) / split
            )
    return datasets, data.unknown_dataset(config).cache()


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    config = get_config(args.preset)
    with tempfile.TemporaryDirectory() as folder:
        datasets, unknown = scored_sets(args, config, folder)
        rows = {}
        for run in args.runs:
            rows[run] = compare(run, datasets, unknown)
            print(run, rows[run]["plain"], rows[run]["mirror"], flush=True)
    write_json(
        args.out,
        results(
            args,
            "top-1 of trained runs without and with a look at each meme's "
            "mirror image, at several margins (experiments/vision/mirror.py)",
            rows,
            datasets,
        ),
    )
    return 0


def results(args, what, rows, datasets, **extra):
    """The results file's dict: what, when, the flags, ``extra``, each run's
    rows and their ``summary`` per set."""
    return {
        "what": what,
        "date": datetime.date.today().isoformat(),
        "data": args.data,
        "preset": args.preset,
        **extra,
        "valsplit_per_template": args.valsplit,
        "standin_per_template": args.standin,
        "runs": rows,
        **{
            name: summary(rows, name)
            for name in (*datasets, "known_recall", "unknown_rejection")
        },
    }


if __name__ == "__main__":
    sys.exit(main())
