"""Trains one humour model per target on a build and checks each against the
crowd ratings; prints one JSON line per target.

    .venv/bin/python -m experiments.humor.compare_targets --data /tmp/full_build \
        --ratings /work/shared/data/memes/captions_humor_bws.csv --out /tmp/humor_runs
"""

import argparse
import json
import time
from pathlib import Path

from dank.data.pipeline import load_catalogue
from dank.models.humor import examples
from dank.models.humor.config import TARGETS, preset
from dank.models.humor.evaluate import evaluate_ratings
from dank.models.humor.train import train_humor
from dank.models.run import Run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a data build")
    parser.add_argument(
        "--ratings", required=True, help="captions_humor_bws.csv (crowd ratings)"
    )
    parser.add_argument("--out", required=True, help="folder for one run per target")
    parser.add_argument(
        "--preset", default="cpu", help="humour preset (default %(default)s)"
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="override the preset's epochs"
    )
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help="comma-separated targets (default: all)",
    )
    args = parser.parse_args()
    start = time.time()
    source = examples.build_source(args.data)
    votes = examples.source_votes(source, load_catalogue(args.data))
    print(json.dumps({"votes": len(votes), "seconds": round(time.time() - start, 1)}))
    for target in args.targets.split(","):
        run = Path(args.out) / target
        config = preset(args.preset, target=target, epochs=args.epochs)
        metrics = train_humor(args.data, run, config, source, args.ratings, votes)
        result = evaluate_ratings(Run.open(run), args.ratings)
        print(
            json.dumps({"target": target, "train": metrics, "ratings": result}),
            flush=True,
        )


if __name__ == "__main__":
    main()
