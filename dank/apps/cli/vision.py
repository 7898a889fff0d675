"""Commands: ``dank train vision``, ``dank classify``, ``dank evaluate templates``."""

import argparse
import json
import sys

from dank.core import constants
from dank.core.distribute import add_flags as add_scaling_flags

DEFAULT_DATA = "data/build/starter"


def register(commands):
    """Adds the vision commands to the ``dank`` parser."""
    from dank.models.vision.config import CONV_DTYPES, PRESETS

    train = commands.group("train").add_parser(
        "vision",
        help="train the template classifier (ResNet50)",
        description="Train the ResNet50 template classifier on meme-like augmented "
        "template images, calibrate the unknown threshold, save into RUN/vision.",
    )
    train.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="cpu",
        help="size of the training run: tiny (tests), cpu, full or paper "
        "(default %(default)s)",
    )
    train.add_argument(
        "--data", default=DEFAULT_DATA, help="data build (default %(default)s)"
    )
    train.add_argument(
        "--run", default=constants.DEFAULT_RUN, help="run dir (default %(default)s)"
    )
    train.add_argument(
        "--weights",
        help="backbone weights: imagenet (from Keras' cache) "
        "or an .h5/.keras file; default: from scratch",
    )
    add_scaling_flags(train, jit_default=None)
    train.add_argument("--steps", type=int, help="override the preset's step count")
    train.add_argument(
        "--batch-size", type=int, help="override the preset's batch size"
    )
    train.add_argument(
        "--mixed-precision",
        action="store_true",
        help="float16 compute (GPUs; slow on CPU)",
    )
    train.add_argument(
        "--conv-dtype",
        choices=CONV_DTYPES,
        help="the training step's convolutions: bfloat16 (oneDNN, float32 "
        "weights), float32, or auto (bfloat16 where the CPU has AVX512_BF16 or "
        "AMX); default: the preset's",
    )
    train.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="inference also looks at each picture's mirror image, which answers "
        "when the classifier is surer of it by 0.3 in top probability (a "
        "mirrored repost; about half the classifier's images/s); default: the "
        "preset's (on for cpu)",
    )
    train.add_argument(
        "--profile",
        action="store_true",
        help="record a TensorFlow profiler trace of a few batches "
        "into the TensorBoard logs",
    )
    train.set_defaults(func=_train)

    classify = commands.root.add_parser(
        "classify",
        help="name the meme template in images",
        description="Prints one JSON line per image: its most likely templates and "
        "whether it is a known template at all.",
    )
    classify.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    classify.add_argument(
        "--run", default=constants.DEFAULT_RUN, help="run dir (default %(default)s)"
    )
    classify.add_argument(
        "--top-k", type=int, default=5, help="templates listed per image (default 5)"
    )
    add_look_options(classify)
    classify.set_defaults(func=_classify)

    evaluate = commands.group("evaluate").add_parser(
        "templates",
        help="top-1/top-5 template accuracy on labelled images",
        description="FILE has columns file, template_id and optional "
        "equivalent_template_ids (;-separated). Prints JSON.",
    )
    evaluate.add_argument(
        "--run", default=constants.DEFAULT_RUN, help="run dir (default %(default)s)"
    )
    evaluate.add_argument(
        "--csv", required=True, metavar="FILE", help="the labels (columns above)"
    )
    evaluate.add_argument(
        "--images", required=True, metavar="DIR", help="folder of the files FILE names"
    )
    add_look_options(evaluate)
    evaluate.set_defaults(func=_evaluate)


def add_views_option(parser):
    """Adds ``--views`` / ``--no-views`` (on by default) to ``parser``."""
    parser.add_argument(
        "--views",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="rank the templates by the mean over five views of each picture: "
        "whole, borders trimmed, top and bottom two thirds, centre (on by "
        "default: +6 to +10 points of top-1 on the wild stand-in, whose memes "
        "carry borders, frames, stacked pictures; about 3x slower; --no-views "
        "ranks by the whole picture)",
    )


def add_look_options(parser):
    """Adds ``--views`` and ``--second-look`` (both on by default)."""
    add_views_option(parser)
    parser.add_argument(
        "--second-look",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="re-rank the top 30 by finding each template's own picture in the "
        "meme (SIFT keypoints at 256 px, then its colours where it lies; on by "
        "default, needs the run's data build: +5.8 points of top-1 on the full "
        "catalogue's wild stand-in, about 2.6x slower than the views alone; "
        "--no-second-look keeps the classifier's ranking)",
    )


def _train(args):
    from dank.core.errors import DankError
    from dank.models.vision.config import get_config
    from dank.models.vision.weights import resolve_weights

    if args.weights:
        resolve_weights(args.weights)  # Fail fast, before TensorFlow starts.
    from dank.models.vision.train import train_vision

    for flag in ("steps", "batch_size"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise DankError(f"--{flag.replace('_', '-')} must be positive, got {value}")
    config = get_config(args.preset).replace(
        steps=args.steps,
        batch_size=args.batch_size,
        conv_dtype=args.conv_dtype,
        mirror=args.mirror,
    )
    if config.steps < config.steps_per_epoch:
        config = config.replace(steps_per_epoch=config.steps)
    metrics = train_vision(
        args.data,
        args.run,
        config,
        weights=args.weights,
        strategy=args.strategy,
        mixed_precision=args.mixed_precision,
        logical_cpus=args.logical_cpus,
        profile=args.profile,
        jit_compile=args.jit_compile,
        force=args.force,
    )
    print(json.dumps(metrics))
    return 0


def _classify(args):
    from dank.core.errors import DankError
    from dank.models.run import Run
    from dank.models.vision.predict import classify_files

    if args.top_k < 1:
        raise DankError(f"--top-k must be at least 1, got {args.top_k}")
    failed = 0
    run = Run.open(args.run)
    for result in classify_files(
        args.images,
        run.classifier,
        top_k=args.top_k,
        second_look=_second_look(run, args),
        views=args.views,
    ):
        failed += "error" in result
        print(json.dumps(result, ensure_ascii=False), flush=True)
    if failed:
        print(
            f"dank: {failed} of {len(args.images)} images could not be read",
            file=sys.stderr,
        )
    return 1 if failed else 0


def _evaluate(args):
    from dank.models.run import Run
    from dank.models.vision.evaluate import evaluate_templates

    run = Run.open(args.run)
    scores = evaluate_templates(
        run.classifier, args.csv, args.images, _second_look(run, args), args.views
    )
    print(json.dumps(scores, indent=2))
    return 0


def _second_look(run, args):
    if not args.second_look:
        return None
    from dank.models.vision.rerank import for_build

    return for_build(run.data_dir)
