"""``python -m dank.models.ngram DATA_DIR [--split test]``: baseline perplexities."""

import argparse
import json
import os


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m dank.models.ngram",
        description="Perplexities of the unigram and Kneser-Ney trigram baselines "
        "on a split of a data build, as JSON.",
    )
    parser.add_argument("data", help="data build directory")
    parser.add_argument(
        "--split",
        default="test",
        choices=("val", "test"),
        help="split to score (default %(default)s)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from dank.models.ngram import evaluate_baselines

    print(json.dumps(evaluate_baselines(args.data, args.split), indent=2))


if __name__ == "__main__":
    main()
