"""The head fitted again (``dank.models.vision.refit``) on trained runs: top-1
with the trained head and with heads fitted on N batches of fresh training
memes at several L2 strengths.

Each run's classifier is rebuilt with the ``--preset``'s mirror look from
its own weights, its inference-mode embeddings of the most batches asked for
are computed once (the training stream at ``train.REFIT_SEED_OFFSET``, as
``train_vision`` draws them), and each (batches, C) fits a head on the first
batches of them. The sets, as in ``experiments/vision/mirror.py``:

* ``light``, ``wild``: the training's fixed validation memes of ``--data``;
* ``valsplit_wild`` (``--valsplit N``): wild memes rendered from the *val*
  split, N per template, none mirrored;
* ``standin_wild`` (``--standin N``): the same from the *test* split: reported,
  never used to choose.

For each way the unknown-picture threshold is chosen again on the wild memes
and the synthetic unknown pictures (``calibrate.choose_threshold``).

Usage::

    python -m experiments.vision.refit --data data/build/starter \\
        --valsplit 10 --standin 10 --out experiments/results/vision-refit.json \\
        RUN [RUN ...]
"""

import sys
import tempfile
from pathlib import Path

from dank.core import constants
from dank.core.io import write_json
from dank.models.vision import data
from dank.models.vision.config import get_config
from experiments.vision.mirror import parser, results, scored_sets

BATCHES = (100, 200)  # Fresh training batches fitted on.
STRENGTHS = (0.1, 1.0)  # scikit-learn's C: inverse L2 strength.


def score(model, datasets, unknown):
    """{set: top-1, "known_recall", "unknown_rejection"} of ``model``."""
    from dank.models.vision import calibrate
    from dank.models.vision.model import inference_function
    from dank.models.vision.train import predict_arrays, topk_accuracy

    forward = inference_function(model)
    probs = {name: predict_arrays(forward, d) for name, d in datasets.items()}
    row = {name: round(topk_accuracy(p, y, 1), 4) for name, (p, _, y) in probs.items()}
    others, _, _ = predict_arrays(forward, unknown)
    calibration = calibrate.choose_threshold(
        probs["wild"][0].max(axis=1), others.max(axis=1)
    )
    for key in ("known_recall", "unknown_rejection"):
        row[key] = round(calibration[key], 4)
    return row


def compare(run, config, datasets, unknown, memes, ways):
    """{way: score} of the vision model of ``run``: "trained head" and
    "refit B C" for each (batches, C) of ``ways``; ``memes`` is the training
    stream."""
    import keras

    from dank.models.vision.model import build_model
    from dank.models.vision.refit import embed_memes, fit_head

    saved = keras.saving.load_model(Path(run) / constants.VISION_DIR / "model.keras")
    model = build_model(
        int(saved.get_layer("logits").units),
        int(saved.inputs[0].shape[1]),
        mirror=config.mirror,
    )
    model.set_weights(saved.get_weights())
    head = model.get_layer("logits")
    trained = head.get_weights()
    out = {"trained head": score(model, datasets, unknown)}
    batch = config.batch_size
    features, labels = embed_memes(model, memes, max(b for b, _ in ways))
    for batches, c in ways:
        head.set_weights(trained)
        fit = fit_head(model, features[: batches * batch], labels[: batches * batch], c)
        out[f"refit {batches} C {c}"] = {
            **score(model, datasets, unknown),
            "train_top1_before": fit["train_top1_before"],
            "train_top1_after": fit["train_top1_after"],
        }
    return out


def main(argv=None):
    from dank.models.vision.train import REFIT_SEED_OFFSET

    flags = parser(__doc__.splitlines()[0])
    flags.add_argument("--batches", type=int, nargs="+", default=BATCHES)
    flags.add_argument("--c", type=float, nargs="+", default=STRENGTHS)
    args = flags.parse_args(argv)
    config = get_config(args.preset)
    ways = [(b, c) for b in args.batches for c in args.c]
    memes = data.train_dataset(args.data, config, seed=config.seed + REFIT_SEED_OFFSET)
    with tempfile.TemporaryDirectory() as folder:
        datasets, unknown = scored_sets(args, config, folder)
        rows = {}
        for run in args.runs:
            rows[run] = compare(run, config, datasets, unknown, memes, ways)
            print(run, {w: r["light"] for w, r in rows[run].items()}, flush=True)
            write_json(args.out, {"runs": rows})  # A partial file on the way.
    write_json(
        args.out,
        results(
            args,
            "top-1 of trained runs with their trained head and with the head "
            "fitted again on fresh training memes (experiments/vision/refit.py)",
            rows,
            datasets,
            preset_way=f"refit {config.refit_batches} C {config.refit_c}",
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
