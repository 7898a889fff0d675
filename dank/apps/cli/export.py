"""``dank export``: a finished run as a SavedModel or as ONNX files."""

from dank.core import constants
from dank.core.errors import DankError
from dank.decoding.config import DECODERS, PRESETS

FORMATS = ("savedmodel", "onnx")
# The export's default is the paper's diversity beam, PRESETS["paper"]; another
# decoder keeps its settings, except nucleus, which takes its own preset.
PAPER = PRESETS["paper"]
# The ONNX runner (ort_runner.py) decodes with numpy copies of dank.decoding's
# loops; nucleus sampling's guards (min_len, no_repeat_ngram) are not ported
# there, so only the SavedModel, which runs dank.decoding itself, offers it.
ONNX_DECODERS = tuple(d for d in DECODERS if d != "nucleus")


def register(commands):
    """Adds ``dank export``."""
    p = commands.root.add_parser(
        "export",
        help="export a trained run as a SavedModel or ONNX files",
        description="Write a finished run as one SavedModel (endpoints classify, "
        "caption, generate, ...) or as ONNX files with a numpy+onnxruntime runner. "
        "The output folder is replaced atomically.",
    )
    p.add_argument(
        "--run",
        default=constants.DEFAULT_RUN,
        help="trained run directory (default: %(default)s)",
    )
    p.add_argument("--format", choices=FORMATS, required=True, help="what to write")
    p.add_argument("--out", required=True, help="output folder (replaced if present)")
    p.add_argument(
        "--decoder",
        choices=DECODERS,
        default=PAPER.method,
        help="decoder of the caption/generate endpoints (diverse = the paper's, "
        "the default); the SavedModel also has caption_greedy/_beam/_diverse/"
        "_sample, and the ONNX runner takes any of "
        f"{'/'.join(ONNX_DECODERS)} at run time (not nucleus: its guards are "
        "not ported to the runner's numpy decoders)",
    )
    p.add_argument("--beam", type=int, help=f"beam size (paper: {PAPER.beam_size})")
    p.add_argument("--temperature", type=float, help=f"paper: {PAPER.temperature:g}")
    p.add_argument(
        "--max-len", type=int, help=f"tokens per caption (paper: {PAPER.max_len})"
    )
    p.add_argument(
        "-n", type=int, default=1, help="captions returned per input (default 1)"
    )
    p.add_argument(
        "--mix-top-k",
        type=int,
        default=1,
        help="generate conditions on the top-k templates mixed by probability",
    )
    p.set_defaults(func=_export)


def decode_config(args):
    """The ``DecodeConfig`` for the command's flags."""
    import dataclasses

    if args.format == "onnx" and args.decoder not in ONNX_DECODERS:
        raise DankError(
            f"--decoder {args.decoder} cannot be exported to ONNX: the runner's "
            "numpy decoders do not have its guards; use --format savedmodel or "
            f"one of {', '.join(ONNX_DECODERS)}"
        )
    base = PRESETS[args.decoder] if args.decoder == "nucleus" else PAPER
    given = dict(
        beam_size=args.beam, temperature=args.temperature, max_len=args.max_len
    )
    try:
        return dataclasses.replace(
            base,
            method=args.decoder,
            num_return=args.n,
            **{k: v for k, v in given.items() if v is not None},
        )
    except ValueError as e:
        raise DankError(str(e)) from e


def _export(args):
    if args.mix_top_k < 1:
        raise DankError(f"--mix-top-k must be at least 1, got {args.mix_top_k}")
    config = decode_config(args)
    # Check the run before TensorFlow is imported, so a bad --run fails fast.
    from dank.apps.export.source import check_run

    run = check_run(args.run)
    if args.format == "savedmodel":
        from dank.apps.export.savedmodel import export_savedmodel

        out = export_savedmodel(run, args.out, config, args.mix_top_k)
    else:
        from dank.apps.export.onnx import export_onnx

        out = export_onnx(run, args.out, config, args.mix_top_k)
    print(f"exported {args.run} as {args.format} to {out}")
    return 0
