"""Crawl speed against the local mirror, with throttling off: pages/s and items/s.

Runs the imgflip spider (in a subprocess, as ``dank scrape`` would) on a slice
of a source folder served by ``tools/mirror_site.py`` twice, without and with
the TFRecord writer, and prints one JSON result:

    python -m experiments.benchmarks.bench_spiders [--quick] [--source data/starter]
        [--data data/build/starter] [--templates 10] [--captions 100]

``writer_share`` is the writer's own time over the crawl's wall time, and
the ratio ``with_writer_vs_csv_only`` is items/s with the writer over items/s without it
(same machine, same run): a ratio near 1 means the writer is not the bottleneck.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from experiments.benchmarks import common
from tools.mirror_site import Mirror, load_slice

ROOT = common.ROOT


def run(url, out, extra):
    command = [
        sys.executable,
        "-m",
        "dank",
        "scrape",
        "imgflip",
        "--base-url",
        url,
        "--out",
        str(out),
        "--no-throttle",
        "-s",
        "LOG_LEVEL=WARNING",
        *extra,
    ]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    return json.loads((Path(out) / "crawl_report.json").read_text())


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source",
        default=str(ROOT / "data" / "starter"),
        help="source folder the mirror serves a slice of (default: data/starter)",
    )
    parser.add_argument(
        "--data",
        default=str(ROOT / "data" / "build" / "starter"),
        help="data build for the TFRecord writer's catalogue/vocab",
    )
    parser.add_argument("--templates", type=int, default=None, help="10 (quick 3)")
    parser.add_argument("--captions", type=int, default=None, help="100 (quick 40)")
    parser.add_argument(
        "--per-page", type=int, default=20, help="captions per mirror page"
    )
    parser.add_argument("--repeats", type=int, default=None, help="2 (quick 1)")
    args = parser.parse_args(argv)
    args.templates = args.templates or (3 if args.quick else 10)
    args.captions = args.captions or (40 if args.quick else 100)
    repeats = args.repeats or (1 if args.quick else 2)
    result = common.make_result(
        "spiders",
        args,
        {
            "source": args.source,
            "templates": args.templates,
            "captions": args.captions,
            "per_page": args.per_page,
            "repeats": repeats,
        },
    )
    for needed in (args.source, args.data):
        if not Path(needed).is_dir():
            reason = f"{needed} is missing (run `make data` first)"
            return common.emit(common.skipped("spiders", args, reason), args)
    site = load_slice(args.source, args.templates, args.captions)
    reports = {"csv_only": [], "with_tfrecords": []}
    with (
        Mirror(site, per_page=args.per_page) as mirror,
        tempfile.TemporaryDirectory() as tmp,
    ):
        extras = {"csv_only": [], "with_tfrecords": ["--tfrecords-from", args.data]}
        for i in range(repeats):
            for name, extra in extras.items():
                reports[name].append(run(mirror.url, Path(tmp) / f"{name}{i}", extra))
    figures = result["figures"]
    for name, runs in reports.items():
        for key, unit in (("items_per_s", "items/s"), ("pages_per_s", "pages/s")):
            figures[f"{name}_{key}"] = common.stats([r[key] for r in runs], unit)
        result[name] = {k: runs[-1][k] for k in ("pages", "items", "captions")}
    writer = reports["with_tfrecords"]
    result["writer_share"] = round(
        sum(r["tfrecords"].get("seconds", 0.0) for r in writer)
        / sum(r["elapsed_s"] for r in writer),
        3,
    )
    # Near 1: the TFRecord writer does not slow the crawl down.
    result["ratios"]["with_writer_vs_csv_only"] = common.ratio(
        figures["with_tfrecords_items_per_s"], figures["csv_only_items_per_s"]
    )
    return common.emit(result, args)


if __name__ == "__main__":
    sys.exit(main())
