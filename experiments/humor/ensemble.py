"""Spearman with the crowd ratings of the mean rank of several humour runs.

    .venv/bin/python experiments/humor/ensemble.py \
        --ratings /work/shared/data/memes/captions_humor_bws.csv RUN [RUN ...]
"""

import argparse
import json

import numpy as np

from dank.core.errors import DankError
from dank.data.catalogue import Catalogue
from dank.data.splits import percentiles
from dank.models.humor.evaluate import load_ratings
from dank.models.humor.metrics import bootstrap_interval, spearman
from dank.models.humor.score import HumorScorer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ratings", required=True)
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args()
    rows = load_ratings(args.ratings)
    bws = np.array([r["bws"] for r in rows])
    upvotes = np.array([r["upvotes"] for r in rows])
    captions = [(r["top"], r["bottom"]) for r in rows]
    ranks = []
    for run in args.runs:
        catalogue = Catalogue.load(f"{run}/catalogue.json")
        labels = []
        for r in rows:
            try:
                labels.append(catalogue.label_of(r["template_id"]))
            except DankError:
                labels.append(None)
        score = HumorScorer.load(run).score(captions, labels)
        ranks.append(percentiles(score))
        print(json.dumps({"run": run, "spearman": spearman(score, bws)}))
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
