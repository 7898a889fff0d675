"""``dank train language`` and ``dank evaluate captions``."""

from dank.core import constants

DEFAULT_DATA = "data/build/starter"


def register(commands):
    from dank.core.distribute import add_flags as add_scaling_flags
    from dank.decoding.config import DECODERS
    from dank.models.language.config import PRESETS, VARIANTS

    p = commands.group("train").add_parser(
        "language",
        help="train the caption model",
        description="Train the caption LSTM of a run (resumes a killed run).",
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="cpu",
        help="model size and schedule: tiny (tests), cpu, full or paper "
        "(default %(default)s)",
    )
    p.add_argument(
        "--variant",
        choices=VARIANTS,
        default="template",
        help="template (ours) or a paper variant needing the vision model",
    )
    p.add_argument("--data", default=DEFAULT_DATA, help="data build directory")
    p.add_argument("--run", default=constants.DEFAULT_RUN, help="run directory")
    add_scaling_flags(p)
    p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.add_argument(
        "--sampled-softmax",
        type=int,
        metavar="N",
        help="train on a sampled softmax of N words per batch instead of the "
        "whole vocabulary (faster, worse perplexity: docs/performance.md); "
        "evaluation stays exact; 0 = off (the presets' default)",
    )
    p.add_argument(
        "--adaptive-softmax",
        metavar="CUTOFFS",
        help="train with an adaptive softmax: the head's size and the tail "
        "clusters' starts, comma-separated, e.g. 1000,4000 (exact, faster to "
        "train: docs/performance.md); 'off' = the full softmax; default: the "
        "preset's",
    )
    p.add_argument(
        "--weight-by-upvotes",
        action="store_true",
        help="weight captions by upvote percentile (0.5..1.5)",
    )
    p.add_argument(
        "--embeddings",
        metavar="PATH",
        help="local GloVe text file to initialise word embeddings",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="record a TensorFlow profiler trace of a few batches "
        "into the TensorBoard logs",
    )
    p.set_defaults(func=_train)

    p = commands.group("evaluate").add_parser(
        "captions",
        help="perplexity and generation metrics of a run's caption model",
        description="Print JSON: held-out perplexity (n, tokens, perplexity, "
        "perplexity_per_word) of the test split or --csv, and under 'generation' "
        "the metrics of captions generated for its templates (BLEU-1..4, "
        "distinct-1/2, novelty, template fidelity, real-vs-generated accuracy, "
        "flagged share, captions/s; see dank.metrics).",
    )
    p.add_argument("--run", default=constants.DEFAULT_RUN, help="run directory")
    p.add_argument(
        "--csv",
        metavar="FILE",
        help="CSV with template_id, top, bottom columns "
        "(default: the test split of the run's data build)",
    )
    p.add_argument("--data", help="data build (default: the one the run used)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=256,
        help="captions scored per batch (default %(default)s)",
    )
    p.add_argument(
        "--decoder",
        choices=DECODERS,
        help=f"decoder for generation (default: {DECODERS[0]}, as for `dank generate`)",
    )
    p.add_argument(
        "-n",
        "--per-template",
        type=int,
        default=5,
        metavar="N",
        dest="per_template",
        help="captions generated per template (default 5)",
    )
    p.add_argument(
        "--save-generated",
        metavar="FILE",
        help="also write the generated captions as JSON lines "
        "(template, top, bottom, decoder, seed) to FILE",
    )
    p.add_argument("--seed", type=int, default=0, help="same seed, same captions")
    p.add_argument(
        "--no-generation",
        action="store_true",
        help="perplexity only, no generated captions",
    )
    p.set_defaults(func=_evaluate)


def _train(args):
    from dank.core.errors import DankError
    from dank.models.language.config import get_preset
    from dank.models.language.train import train_language

    config = get_preset(args.preset).replace(variant=args.variant)
    if args.epochs is not None:
        if args.epochs < 1:
            raise DankError(f"--epochs must be >= 1, got {args.epochs}")
        config = config.replace(epochs=args.epochs)
    adaptive = (
        None if args.adaptive_softmax is None else _cutoffs(args.adaptive_softmax)
    )
    if args.sampled_softmax is not None:
        if args.sampled_softmax < 0:
            raise DankError(
                f"--sampled-softmax must be >= 0, got {args.sampled_softmax}"
            )
        if args.sampled_softmax and adaptive:
            raise DankError("choose --sampled-softmax or --adaptive-softmax, not both")
        # A sampled softmax replaces the preset's adaptive one.
        config = config.replace(
            sampled_softmax=args.sampled_softmax,
            adaptive_softmax=() if args.sampled_softmax else config.adaptive_softmax,
        )
    if adaptive is not None:
        config = config.replace(adaptive_softmax=adaptive)
    if args.weight_by_upvotes:
        config = config.replace(weight_by_upvotes=True)
    metrics = train_language(
        args.data,
        args.run,
        config,
        preset=args.preset,
        strategy=args.strategy,
        logical_cpus=args.logical_cpus,
        embeddings=args.embeddings,
        profile=args.profile,
        jit_compile=args.jit_compile,
        force=args.force,
    )
    test = metrics["test"]
    print(
        f"test perplexity {test['perplexity']:.2f} per token, "
        f"{test['perplexity_per_word']:.2f} per word ({test['n']} captions)"
    )
    return 0


def _cutoffs(text):
    """``--adaptive-softmax``'s value as a tuple of ints (``off``: ``()``)."""
    from dank.core.errors import DankError
    from dank.models.language.config import check_cutoffs

    if text.strip().lower() in ("off", "0", ""):
        return ()
    try:
        return check_cutoffs(int(part) for part in text.split(","))
    except ValueError as e:
        raise DankError(
            f"--adaptive-softmax wants increasing integers like 1000,4000, got {text!r}"
        ) from e


def _evaluate(args):
    import json

    from dank.metrics.captions import evaluate_run

    result = evaluate_run(
        args.run,
        args.csv,
        args.batch_size,
        data_dir=args.data,
        generation=not args.no_generation,
        decoder=args.decoder,
        per_template=args.per_template,
        seed=args.seed,
        save_generated=args.save_generated,
    )
    print(json.dumps(result, indent=2))
    return 0
