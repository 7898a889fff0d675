"""Writes the baselines that the README and docs/results.md compare against.

One results file per data build, ``experiments/results/baselines-<build>.json``:

* the caption baselines of ``dank.models.ngram`` (unigram, Kneser-Ney trigram
  with and without the template) on the build's validation and test splits,
  scored exactly as the caption model is (``dank.models.perplexity``);
* the perceptual-hash nearest-neighbour template matcher
  (``experiments.baselines.phash``) on the vision preset's synthetic validation
  memes, and on a labelled stand-in set when ``--csv``/``--images`` name one;
* the machine and the date.

Usage::

    python -m experiments.baselines.record --data data/build/starter \\
        --out experiments/results/baselines-starter.json
"""

import argparse
import datetime
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def record(data_dir, preset="cpu", csv_path=None, images_dir=None, hash_size=8):
    """The baselines of one data build, as a JSON-able dict."""
    from dank.core.machine import machine_info
    from dank.models.ngram import evaluate_baselines
    from experiments.baselines import phash

    catalogue, table = phash.template_hashes(data_dir, hash_size)
    vision = {
        "synthetic_val": phash.score_synthetic(data_dir, preset, table, hash_size)
    }
    if csv_path:
        vision["standin"] = phash.score_csv(
            csv_path, images_dir, catalogue, table, hash_size
        )
    return {
        "data": str(data_dir),
        "date": datetime.date.today().isoformat(),
        "machine": machine_info(),
        "captions": {
            split: evaluate_baselines(data_dir, split) for split in ("val", "test")
        },
        "templates": {
            "phash_nearest_neighbour": {
                "hash_bits": hash_size**2,
                "n_templates": len(catalogue),
                "preset": preset,
                **vision,
            }
        },
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default="data/build/starter", help="data build to score"
    )
    parser.add_argument(
        "--preset", default="cpu", help="vision preset of the synthetic memes"
    )
    parser.add_argument("--csv", help="labelled stand-in memes (labels.csv)")
    parser.add_argument("--images", help="folder of the CSV's pictures")
    parser.add_argument(
        "--out", required=True, help="results file to write (JSON, atomically)"
    )
    args = parser.parse_args(argv)
    from dank.core.io import write_json

    write_json(args.out, record(args.data, args.preset, args.csv, args.images))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
