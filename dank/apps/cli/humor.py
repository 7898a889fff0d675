"""``dank train humor`` and ``dank evaluate humor``."""

import json

from dank.core.distribute import JIT_CHOICES
from dank.models.humor.config import PRESETS, TARGETS


def register(commands):
    """Adds the humour subcommands to the ``dank`` parser."""
    train = commands.group("train").add_parser(
        "humor",
        help="train the humour model that reranks captions",
        description="Fit a small text model, conditioned on the template, to "
        "upvotes corrected for exposure (views); see dank.models.humor.targets.",
    )
    train.add_argument("--data", default="data/build/starter", help="a data build")
    train.add_argument("--run", default="runs/default", help="the run directory")
    train.add_argument(
        "--preset",
        default="cpu",
        choices=sorted(PRESETS),
        help="model size and schedule: tiny (tests), cpu or paper "
        "(default %(default)s)",
    )
    train.add_argument(
        "--target",
        choices=TARGETS,
        default=None,
        help="training target (default: the preset's)",
    )
    train.add_argument("--epochs", type=int, default=None, help="override the preset")
    train.add_argument(
        "--jit-compile",
        choices=JIT_CHOICES,
        default="auto",
        help="XLA for training: auto (on with a GPU or TPU, off on a CPU), on, off",
    )
    train.add_argument(
        "--source",
        default=None,
        help="source folder of the build, for views (default: the one "
        "in the build's summary.json)",
    )
    train.add_argument(
        "--holdout",
        default=None,
        help="CSV of captions never to train on (the crowd ratings)",
    )
    train.set_defaults(func=_train)

    evaluate = commands.group("evaluate").add_parser(
        "humor",
        help="correlate the humour model with crowd humour ratings",
        description="Spearman correlation with best-worst-scaling ratings of the "
        "humour model, raw upvotes and (if the run has one) the caption model.",
    )
    evaluate.add_argument("--run", default="runs/default", help="the run directory")
    evaluate.add_argument(
        "--ratings", required=True, help="ratings CSV (captions_humor_bws.csv)"
    )
    evaluate.add_argument(
        "--caption-run",
        default=None,
        help="run whose caption model's log-likelihood to compare",
    )
    evaluate.set_defaults(func=_evaluate)


def _train(args):
    from dank.models.humor.config import preset
    from dank.models.humor.train import train_humor

    config = preset(args.preset, target=args.target, epochs=args.epochs)
    metrics = train_humor(
        args.data,
        args.run,
        config,
        args.source,
        args.holdout,
        jit_compile=args.jit_compile,
    )
    print(json.dumps(metrics, indent=2))
    return 0


def _evaluate(args):
    from dank.models.humor.evaluate import evaluate_ratings
    from dank.models.run import Run

    caption_run = Run.open(args.caption_run) if args.caption_run else None
    result = evaluate_ratings(Run.open(args.run), args.ratings, caption_run)
    for name, entry in result.items():
        if isinstance(entry, dict):
            lo, hi = entry["ci95"]
            print(
                f"{name:32s} spearman {entry['spearman']:+.4f} "
                f"[{lo:+.4f}, {hi:+.4f}] n={entry['n']}"
            )
    print(f"trained without these ratings: {result['trained_without_these_ratings']}")
    return 0
