"""``dank export``: a finished run as a SavedModel or as ONNX files."""

from dank.core import constants
from dank.core.errors import DankError

FORMATS = ("savedmodel", "onnx")
DECODERS = ("diverse", "beam", "greedy", "sample")


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
        default="diverse",
        help="decoder of the caption/generate endpoints (diverse = the paper's, "
        "the default); the SavedModel also has caption_greedy/_beam/_diverse/"
        "_sample, and the ONNX runner takes any decoder at run time",
    )
    p.add_argument("--beam", type=int, default=5, help="beam size (paper: 5)")
    p.add_argument("--temperature", type=float, default=1.3, help="paper: 1.3")
    p.add_argument(
        "--max-len", type=int, default=25, help="tokens per caption (paper: 25)"
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
    from dank.decoding.config import DecodeConfig

    try:
        return DecodeConfig(
            method=args.decoder,
            beam_size=args.beam,
            temperature=args.temperature,
            max_len=args.max_len,
            num_return=args.n,
        )
    except ValueError as e:
        raise DankError(str(e)) from e


def _export(args):
    if args.mix_top_k < 1:
        raise DankError(f"--mix-top-k must be at least 1, got {args.mix_top_k}")
    config = decode_config(args)
    # Check the run before TensorFlow is imported, so a bad --run fails fast.
    from dank.apps.export.source import check_run

    check_run(args.run)
    if args.format == "savedmodel":
        from dank.apps.export.savedmodel import export_savedmodel

        out = export_savedmodel(args.run, args.out, config, args.mix_top_k)
    else:
        from dank.apps.export.onnx import export_onnx

        out = export_onnx(args.run, args.out, config, args.mix_top_k)
    print(f"exported {args.run} as {args.format} to {out}")
    return 0
