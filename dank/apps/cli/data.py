"""``dank data build`` and ``dank data info``."""

import resource
import sys


def register(commands):
    """Adds the ``data`` subcommands to the ``dank`` parser."""
    group = commands.group("data")
    build = group.add_parser(
        "build",
        help="build TFRecords from a source folder",
        description="Merge duplicate templates, clean and split captions, build the "
        "vocabulary and write TFRecords, catalogue.json, vocab.json and card.md.",
    )
    build.add_argument(
        "--source",
        required=True,
        help="folder with templates.csv, "
        "captions.csv.gz and templates/ (e.g. data/starter)",
    )
    build.add_argument(
        "--out",
        required=True,
        help="build path: a symlink to the newest build in OUT.builds/, switched "
        "atomically",
    )
    build.add_argument(
        "--max-templates",
        type=int,
        default=None,
        help="keep the N templates with the most captions",
    )
    build.add_argument(
        "--max-captions-per-template",
        type=int,
        default=None,
        help="cap captions per template (seeded sample)",
    )
    build.add_argument(
        "--seed", type=int, default=0, help="seed for splits and sampling"
    )
    build.add_argument(
        "--no-safety-filter",
        action="store_true",
        help="keep captions the safety lexicon flags and blocklisted templates "
        "(research only: the models will learn slurs and worse)",
    )
    build.add_argument(
        "--safety-mode",
        choices=("drop", "downweight"),
        default="drop",
        help="drop flagged captions (default), or keep them at loss weight 0.1 "
        "(caption training then uses the weights)",
    )
    build.set_defaults(func=_build)
    info = group.add_parser(
        "info",
        help="summarise a data build",
        description="Print a data build's summary (counts, captions per split), "
        "its template and vocabulary sizes, and its first 10 templates.",
    )
    info.add_argument("dir", help="a data build folder")
    info.add_argument("--templates", action="store_true", help="list every template")
    info.set_defaults(func=_info)


def _peak_rss_mib():
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def format_summary(s):
    """The human-readable lines of a build summary."""
    lines = [
        f"templates: {s['images_loaded']} with images -> "
        f"{s['templates_after_merge']} after merging "
        f"({len(s['merged_groups'])} merged groups); {s['templates']} in the build",
    ]
    if s["images_skipped"]:
        lines.append(f"images skipped: {len(s['images_skipped'])} (see summary.json)")
    safety = s.get("safety_filter", {})
    if safety.get("enabled"):
        dropped = safety.get("dropped") or {}
        lines.append(
            "safety filter: dropped "
            + (", ".join(f"{n} {k}" for k, n in dropped.items()) or "nothing")
        )
        if safety.get("downweighted"):
            lines.append(
                f"  kept at loss weight {safety['weight']:g}: "
                + ", ".join(f"{n} {k}" for k, n in safety["downweighted"].items())
            )
    else:
        lines.append("safety filter: OFF")
    for name, rows in s.get("csv_rows", {}).items():
        if rows["skipped"] or rows["repaired"]:
            lines.append(
                f"{name}: {rows['skipped']} malformed rows skipped, "
                f"{rows['repaired']} repaired (lines in summary.json)"
            )
    lines.append(f"captions: {s['captions_read']} read, {s['captions_kept']} kept")
    for reason, n in s["captions_dropped"].items():
        lines.append(f"  dropped {reason}: {n}")
    lines.append(
        "splits: " + ", ".join(f"{k} {v}" for k, v in s["captions_per_split"].items())
    )
    lines.append(f"vocabulary: {s['vocab_size']} tokens")
    return lines


def _build(args):
    import logging

    from dank.data.build import build_dataset
    from dank.safety.training import TrainingFilter

    if args.no_safety_filter:
        logging.getLogger("dank").warning(
            "safety filter OFF: flagged captions and blocklisted templates are kept"
        )
    s = build_dataset(
        args.source,
        args.out,
        args.max_templates,
        args.max_captions_per_template,
        args.seed,
        safety=TrainingFilter(enabled=not args.no_safety_filter, mode=args.safety_mode),
    )
    for line in format_summary(s):
        print(line)
    print(f"time: {s['seconds']:.1f} s, peak RSS {_peak_rss_mib():.0f} MiB")
    print(f"wrote {args.out} (see card.md)")
    return 0


def _info(args):
    from pathlib import Path

    from dank.core.io import read_json
    from dank.data.pipeline import load_catalogue, load_vocab

    catalogue, vocab = load_catalogue(args.dir), load_vocab(args.dir)
    summary_path = Path(args.dir) / "summary.json"
    if summary_path.is_file():
        for line in format_summary(read_json(summary_path, what="build summary")):
            print(line)
    print(f"{len(catalogue)} templates, {len(vocab)} tokens")
    shown = catalogue if args.templates else list(catalogue)[:10]
    for t in shown:
        print(f"{t.label:5d}  {t.id:50s} {t.n_captions:7d}  {t.name}")
    if not args.templates and len(catalogue) > 10:
        print(f"... {len(catalogue) - 10} more (--templates lists all)")
    return 0
