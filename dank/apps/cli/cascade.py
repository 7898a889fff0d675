"""``dank generate``: pictures in, drawn memes and JSON lines out."""

import json
import sys
from pathlib import Path

from dank.apps.cli.vision import add_look_options
from dank.core import constants
from dank.core.errors import DankError
from dank.decoding.config import DECODERS, DEFAULT_DECODER, PRESETS

N_SAMPLES = 6  # Memes drawn by ``--samples`` at the end of ``make train``.


def register(commands):
    """Adds ``dank generate``."""
    p = commands.root.add_parser(
        "generate",
        help="caption pictures and draw the memes",
        description="Recognise the template in each picture, write captions for it "
        "and draw them as meme PNGs. Prints one JSON line per meme.",
    )
    p.add_argument(
        "images",
        nargs="*",
        metavar="IMAGE",
        help="image files, directories of images, or - for stdin",
    )
    p.add_argument(
        "--run",
        default=constants.DEFAULT_RUN,
        help="trained run directory (default: %(default)s, what `make train` writes)",
    )
    p.add_argument("-n", type=int, default=1, help="memes per picture (default 1)")
    p.add_argument(
        "--template",
        help="use this template (id or name) instead of the "
        "classifier's guess; with no IMAGE, draw on the template's own picture",
    )
    p.add_argument(
        "--decoder",
        choices=DECODERS,
        default=DEFAULT_DECODER,
        help="nucleus = guarded nucleus sampling, writes most like people "
        "(default); diverse = the paper's sampled beam (docs/quality.md)",
    )
    paper = PRESETS["paper"]
    p.add_argument("--beam", type=int, help=f"beam size (paper: {paper.beam_size})")
    p.add_argument(
        "--temperature",
        type=float,
        help="default: the decoder's preset (nucleus "
        f"{PRESETS['nucleus'].temperature:g}, paper {paper.temperature:g})",
    )
    p.add_argument(
        "--max-len", type=int, help=f"tokens per caption (paper: {paper.max_len})"
    )
    p.add_argument(
        "--mix-top-k",
        type=int,
        default=1,
        help="condition on the top-k templates mixed by probability",
    )
    p.add_argument("--seed", type=int, default=0, help="same seed, same captions")
    add_look_options(p)
    p.add_argument(
        "--out", default="memes", help="where PNGs go (default: %(default)s)"
    )
    p.add_argument(
        "--no-filter",
        action="store_true",
        help="turn the safety filter off (research only; output may offend)",
    )
    p.add_argument(
        "--rerank",
        choices=("humor",),
        help="draw --candidates captions and keep the funniest by the run's "
        "humour model (train it with `dank train humor`)",
    )
    p.add_argument(
        "--candidates",
        type=int,
        default=20,
        help="captions drawn per picture before --rerank (default 20)",
    )
    p.add_argument(
        "--samples",
        action="store_true",
        help=f"draw {N_SAMPLES} sample memes from the run's own templates "
        "into RUN/samples/ (what `make train` ends with)",
    )
    p.set_defaults(func=_generate)


def decode_config(args):
    """The ``DecodeConfig`` for the command's flags (bad values raise DankError)."""
    from dank.decoding.config import DecodeConfig

    if args.n < 1:
        raise DankError(f"-n must be at least 1, got {args.n}")
    # Spare candidates for the safety filter (and for the humour reranker).
    wanted = args.candidates if getattr(args, "rerank", None) else args.n
    if args.decoder == "greedy" and wanted > 1:
        raise DankError(
            "greedy decoding gives one caption per picture; use -n 1 "
            "or --decoder diverse/beam/sample"
        )
    try:
        return DecodeConfig.from_options(
            args.decoder,
            wanted,
            max_len=args.max_len,
            beam_size=args.beam,
            temperature=args.temperature,
        )
    except ValueError as e:
        raise DankError(str(e)) from e


def generate(args, out=None):
    """Runs the command; returns the exit status (1 if any input failed).

    JSON lines go to ``out`` (default: ``sys.stdout`` at call time, so a caller
    can redirect it).
    """
    from dank.cascade.generator import MemeGenerator
    from dank.cascade.inputs import InputImage, load_inputs
    from dank.cascade.outputs import output_stems
    from dank.core.images import template_picture
    from dank.render.meme import draw_meme, save_png

    out = out or sys.stdout
    if not args.samples and Path(args.out).exists() and not Path(args.out).is_dir():
        raise DankError(f"--out {args.out} is a file; pass a folder for the memes")
    config = decode_config(args)
    generator = MemeGenerator(
        args.run,
        config,
        mix_top_k=args.mix_top_k,
        safety=not args.no_filter,
        rerank=getattr(args, "rerank", None),
        candidates=getattr(args, "candidates", 20),
        views=args.views,
        second_look=args.second_look,
    )
    out_dir = Path(args.out)
    template = generator.catalogue.find(args.template) if args.template else None
    if args.samples:
        out_dir = generator.run.layout.samples_dir
        picks = [
            generator.catalogue[i]
            for i in range(min(N_SAMPLES, len(generator.catalogue)))
        ]
    elif args.images:
        picks = []
        items = load_inputs(args.images, generator.image_size)
    elif template is not None:
        picks = [template]
    else:
        raise DankError("name at least one IMAGE (or - for stdin), or a --template")
    if picks:  # A template's own picture carries its text boxes (memegen's).
        run, side = generator.run, generator.image_size
        items = [
            InputImage(
                t.id, template_picture(run.template_image_path(t), t, model_side=side)
            )
            for t in picks
        ]
    failed = 0
    good = [item for item in items if item.error is None]
    results = iter(
        generator.for_images(
            [(i.shown, i.picture.encoded) for i in good],
            n=args.n,
            seed=args.seed,
            template=template.id if template else None,
        )
    )
    stems = output_stems([item.name for item in items], hashed=not picks)
    for i, item in enumerate(items):
        if item.error is None:
            memes = next(results)
            if not memes:
                item.error = f"{item.shown}: no clean caption found; try another --seed"
        if item.error is not None:
            failed += 1
            print(json.dumps({"image": item.shown, "error": item.error}), file=out)
            continue
        for k, meme in enumerate(memes):
            picture = item.picture
            drawn = draw_meme(picture.image, meme.top, meme.bottom, boxes=picture.boxes)
            path = out_dir / f"{stems[i]}-{k + 1}.png"
            try:
                save_png(drawn, path)
            except OSError as e:  # A full disk or a read-only --out: say which.
                failed += 1
                error = f"{item.shown}: could not write {path} ({e.strerror or e})"
                print(json.dumps({"image": item.shown, "error": error}), file=out)
                continue
            print(json.dumps(meme.to_json(path), ensure_ascii=False), file=out)
    if args.samples:
        print(f"sample memes written to {out_dir}/", file=sys.stderr)
    return 1 if failed else 0


def _generate(args):
    return generate(args)
