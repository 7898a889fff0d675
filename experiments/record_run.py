"""Copies a trained run's headline numbers into a committed results file.

Runs are not committed (they hold models), so the numbers that docs/ quotes
about them are kept here: each component's ``metrics.json`` (vision accuracy
and calibration, caption perplexity beside the n-gram baselines, the humour
model's correlation), the run's presets, and the date it was recorded.

Usage::

    python -m experiments.record_run --run runs/default \\
        --out experiments/results/run-default.json
"""

import argparse
import datetime
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

COMPONENTS = ("vision", "language", "humor")


def record(run_dir):
    """The run's description and its components' metrics, as a JSON-able dict."""
    from dank.models.run import Run

    run = Run.open(run_dir)
    return {
        "run": str(run.path),
        "date": datetime.date.today().isoformat(),
        "info": run.info,
        "metrics": {c: run.metrics(c) for c in COMPONENTS if run.has(c)},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/default", help="trained run to record")
    parser.add_argument(
        "--out", required=True, help="results file to write (JSON, atomically)"
    )
    args = parser.parse_args(argv)
    from dank.core.io import write_json

    write_json(args.out, record(args.run))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
