"""Trains one humour model per target on a build and checks each against the
crowd ratings; prints one JSON line per target.

    .venv/bin/python experiments/humor/compare_targets.py --data /tmp/full_build \
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--ratings", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--targets", default=",".join(TARGETS))
    args = parser.parse_args()
    start = time.time()
    source = examples.build_source(args.data)
    votes = examples.source_votes(source, load_catalogue(args.data))
    print(json.dumps({"votes": len(votes), "seconds": round(time.time() - start, 1)}))
    for target in args.targets.split(","):
        run = Path(args.out) / target
        config = preset(args.preset, target=target, epochs=args.epochs)
        metrics = train_humor(args.data, run, config, source, args.ratings, votes)
        result = evaluate_ratings(run, args.ratings)
        print(
            json.dumps({"target": target, "train": metrics, "ratings": result}),
            flush=True,
        )


if __name__ == "__main__":
    main()
