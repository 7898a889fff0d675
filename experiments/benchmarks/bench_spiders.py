"""Crawl speed against the local mirror, with throttling off: pages/s and items/s.

Runs the imgflip spider (in a subprocess, as ``dank scrape`` would) on a slice
of a source folder served by ``tools/mirror_site.py`` twice, without and with
the TFRecord writer, and prints one JSON object per run plus a comparison:

    python experiments/benchmarks/bench_spiders.py [--source data/starter]
        [--data data/build/starter] [--templates 10] [--captions 100]

``writer_share`` is the writer's own time over the crawl's wall time, and
``speed_ratio_with_writer`` is items/s with the writer over items/s without it
(same machine, same run): a ratio near 1 means the writer is not the bottleneck.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from mirror_site import Mirror, load_slice  # noqa: E402


def run(url, out, extra):
    command = [
        sys.executable,
        "-m",
        "dank.scrape",
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=str(ROOT / "data" / "starter"))
    parser.add_argument(
        "--data",
        default=str(ROOT / "data" / "build" / "starter"),
        help="data build for the TFRecord writer's catalogue/vocab",
    )
    parser.add_argument("--templates", type=int, default=10)
    parser.add_argument("--captions", type=int, default=100)
    parser.add_argument("--per-page", type=int, default=20)
    args = parser.parse_args(argv)
    site = load_slice(args.source, args.templates, args.captions)
    results = {}
    with (
        Mirror(site, per_page=args.per_page) as mirror,
        tempfile.TemporaryDirectory() as tmp,
    ):
        runs = {"csv_only": [], "with_tfrecords": ["--tfrecords-from", args.data]}
        for name, extra in runs.items():
            report = run(mirror.url, Path(tmp) / name, extra)
            results[name] = {
                k: report[k]
                for k in (
                    "elapsed_s",
                    "pages",
                    "items",
                    "captions",
                    "pages_per_s",
                    "items_per_s",
                )
            }
            results[name]["tfrecord_seconds"] = report["tfrecords"].get("seconds", 0.0)
            results[name]["tfrecord_captions"] = report["tfrecords"].get("captions", 0)
            print(json.dumps({"run": name, **results[name]}), flush=True)
    with_writer = results["with_tfrecords"]
    print(
        json.dumps(
            {
                "run": "comparison",
                "source": args.source,
                "slice": f"{args.templates} templates x {args.captions} captions",
                "writer_share": round(
                    with_writer["tfrecord_seconds"] / with_writer["elapsed_s"], 3
                ),
                "speed_ratio_with_writer": round(
                    with_writer["items_per_s"] / results["csv_only"]["items_per_s"], 3
                ),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
