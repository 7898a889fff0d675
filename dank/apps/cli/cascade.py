"""``dank generate``: pictures in, drawn memes and JSON lines out."""

import hashlib
import json
import os
import re
import sys
from pathlib import Path

from dank.core import constants
from dank.core.errors import DankError

# The first is the default: guarded nucleus sampling, whose captions a strong
# classifier can hardly tell from people's (docs/quality.md); "diverse" is the
# paper's sampled beam.
DECODERS = ("nucleus", "diverse", "beam", "greedy", "sample")
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
        default=DECODERS[0],
        help="nucleus = guarded nucleus sampling, writes most like people "
        "(default); diverse = the paper's sampled beam (docs/quality.md)",
    )
    p.add_argument("--beam", type=int, help="beam size (paper: 5)")
    p.add_argument(
        "--temperature",
        type=float,
        help="default: the decoder's preset (nucleus 1.05, paper 1.3)",
    )
    p.add_argument("--max-len", type=int, help="tokens per caption (paper: 25)")
    p.add_argument(
        "--mix-top-k",
        type=int,
        default=1,
        help="condition on the top-k templates mixed by probability",
    )
    p.add_argument("--seed", type=int, default=0, help="same seed, same captions")
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
    from dank.decoding.config import config_for

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
        return config_for(
            args.decoder,
            max_len=args.max_len,
            beam_size=args.beam,
            temperature=args.temperature,
        ).returning(wanted)
    except ValueError as e:
        raise DankError(str(e)) from e


def output_stems(names, hashed=True):
    """File-name stems for the memes of each input: unique, stable and short.

    The input's stem (cut to 60 characters, so ``-k.png`` and a temporary's
    affixes still fit NAME_MAX) keeps a meme recognisable; 8 hex digits of a
    hash of its absolute path (unless ``hashed`` is false, for template ids)
    tell ``a/cat.jpg`` from ``b/cat.png``. The same input named twice gets
    ``-2``, ``-3``... in the order given.
    """
    stems, seen = [], {}
    for name in names:
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(name).stem).strip("-")[:60]
        stem = slug or "meme"
        if hashed:
            where = "<stdin>" if name == "-" else os.path.abspath(name)
            stem += "-" + hashlib.sha1(os.fsencode(where)).hexdigest()[:8]
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return stems


def template_image(run_dir, template):
    """The template's own picture from the data build the run was trained on."""
    from dank.core.images import open_image
    from dank.core.run import read_run_info

    data = Path(read_run_info(run_dir).get("data", ""))
    path = data / "templates" / template.image
    if not path.is_file():
        raise DankError(
            f"template image {path} not found; rebuild the data with `make data`"
        )
    return open_image(path)


def generate(args, out=None):
    """Runs the command; returns the exit status (1 if any input failed).

    JSON lines go to ``out`` (default: ``sys.stdout`` at call time, so a caller
    can redirect it).
    """
    from dank.cascade.generator import MemeGenerator
    from dank.cascade.inputs import InputImage, load_inputs
    from dank.core.images import downscale, to_jpeg
    from dank.render.meme import draw_meme, save_png

    out = out or sys.stdout
    config = decode_config(args)
    generator = MemeGenerator(
        args.run,
        config,
        mix_top_k=args.mix_top_k,
        safety=not args.no_filter,
        rerank=getattr(args, "rerank", None),
        candidates=getattr(args, "candidates", 20),
    )
    out_dir = Path(args.out)
    template = generator.catalogue.find(args.template) if args.template else None
    if args.samples:
        out_dir = Path(args.run) / constants.SAMPLES_DIR
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
    # On a template's own picture, its text-box layout (memegen's) is used.
    layouts = {t.id: t.boxes for t in picks}
    if picks:
        items = [
            InputImage(t.id, downscale(template_image(args.run, t), 1024))
            for t in picks
        ]
    for item in items:
        if item.image is not None and not item.encoded:
            item.encoded = to_jpeg(downscale(item.image, generator.image_size * 4), 95)
    failed = 0
    good = [item for item in items if item.error is None]
    results = iter(
        generator.for_images(
            [(i.shown, i.encoded) for i in good],
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
            drawn = draw_meme(
                item.image, meme.top, meme.bottom, boxes=layouts.get(item.name)
            )
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
