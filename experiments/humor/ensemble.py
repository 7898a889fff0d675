"""Spearman with the crowd ratings of the mean rank of several humour runs.

    .venv/bin/python -m experiments.humor.ensemble \
        --ratings /work/shared/data/memes/captions_humor_bws.csv RUN [RUN ...]
"""

import argparse
import json

import numpy as np

from dank.core.errors import DankError
from dank.data.splits import percentiles
from dank.models.humor.evaluate import load_ratings
from dank.models.humor.metrics import bootstrap_interval, spearman
from dank.models.run import Run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--ratings", required=True, help="captions_humor_bws.csv (crowd ratings)"
    )
    parser.add_argument("runs", nargs="+", help="run directories with a humour model")
    args = parser.parse_args()
    rows = load_ratings(args.ratings)
    bws = np.array([r["bws"] for r in rows])
    upvotes = np.array([r["upvotes"] for r in rows])
    captions = [(r["top"], r["bottom"]) for r in rows]
    ranks = []
    for path in args.runs:
        run = Run.open(path)
        catalogue = run.catalogue
        labels = []
        for r in rows:
            try:
                labels.append(catalogue.label_of(r["template_id"]))
            except DankError:
                labels.append(None)
        score = run.humor.score(captions, labels)
        ranks.append(percentiles(score))
        print(json.dumps({"run": path, "spearman": spearman(score, bws)}))
    mean = np.mean(ranks, axis=0)
    print(
        json.dumps(
            {
                "ensemble": spearman(mean, bws),
                "ci95": bootstrap_interval(mean, bws),
                "minus_raw_upvotes_ci95": bootstrap_interval(
                    mean, bws, baseline=upvotes
                ),
                "n": len(bws),
            }
        )
    )


if __name__ == "__main__":
    main()
