"""What the safety mitigations cost: issue 9's "Measurement".

    .venv/bin/python -m experiments.generation.mitigation --run runs/default

**Generation-time filter.** Every template of the test split gets the same
number of captions (``--per-template``) with the filter on (flagged captions
resampled, as ``dank generate`` does) and off (``--no-filter``), for the
default decoder and for plain sampling (which strays further from the likely
captions, so it shows the filter at work more often). The table gives the
flagged share of the raw and the returned output, and what the filter costs in
novelty, template fidelity, distinctness and the model's perplexity of its own
output. The model is the same either way, so its held-out test perplexity does
not change (it is listed once, from the run's ``language/metrics.json``).

**Training-time filter.** The data build drops flagged captions and
blocklisted templates by default, so ``runs/default`` is the filtered model.
The unfiltered comparison needs a second build and caption model (the ``cpu``
preset trained ``runs/default`` in 1,526 s on the shared 2 cores), which this
script does not train. To measure it::

    .venv/bin/dank data build --source data/starter \\
        --out data/build/starter-nofilter --no-safety-filter
    .venv/bin/dank train language --preset cpu \\
        --data data/build/starter-nofilter --run runs/nofilter
    .venv/bin/python -m experiments.generation.mitigation --run runs/default \\
        --compare-run runs/nofilter

``--compare-run`` adds the same rows for the unfiltered model, generated for
and scored against its own (unfiltered) build: its test split keeps flagged
captions, so compare perplexities per word and read them as approximate.

Writes ``experiments/results/mitigation-<preset>.{json,md}``.
"""

import sys
from pathlib import Path

from experiments.generation import report

DECODERS = ("paper", "sample")
COLUMNS = (
    ("vocab_flagged_words", "lexicon words in vocabulary", "{:d}"),
    ("flagged_share", "flagged (raw)", "{:.2%}"),
    ("flagged_share_output", "flagged (returned)", "{:.2%}"),
    ("novelty", "novelty", "{:.1%}"),
    ("fidelity_generated", "fidelity", "{:.1%}"),
    ("distinct2", "distinct-2", "{:.3f}"),
    ("real_vs_generated_accuracy", "real-vs-generated", "{:.1%}"),
    ("perplexity_generated", "own-output ppl", "{:.2f}"),
    ("test_perplexity", "test ppl (token / word)", "{}"),
    ("captions_per_second", "captions/s", "{:.0f}"),
)


def test_perplexity(run):
    """``"per token / per word"`` of the run's held-out test split, as trained."""
    from dank.core.io import read_json

    test = read_json(Path(run) / "language" / "metrics.json", "metrics")["test"]
    return f"{test['perplexity']:.1f} / {test['perplexity_per_word']:.1f}"


def vocab_flagged_words(run):
    """How many vocabulary words the safety lexicon flags: the words the model
    can write at all (the training filter keeps them out of the vocabulary)."""
    from dank.data.vocab import Vocabulary
    from dank.safety import default_filter

    safety = default_filter()
    vocab = Vocabulary.load(Path(run) / "vocab.json")
    return sum(safety.is_flagged(token) for token in vocab.tokens)


def measure(run, data, args, label):
    from dank.metrics import generation_metrics

    rows = []
    for decoder in args.decoders:
        for safety in (True, False):
            row = generation_metrics(
                run,
                data_dir=data,
                decoder=decoder,
                per_template=args.per_template,
                seed=args.seed,
                safety_filter=safety,
            )
            row["name"] = (
                f"{label}, {decoder}, generation filter {'on' if safety else 'off'}"
            )
            row["training_filter"] = label
            row["test_perplexity"] = test_perplexity(run)
            row["vocab_flagged_words"] = vocab_flagged_words(run)
            rows.append(row)
            print(f"{row['name']}: raw flagged {row['flagged_share']:.4f}", flush=True)
    return rows


def costs(rows):
    """One sentence per (model, decoder): filter on minus filter off."""
    out = []
    for on, off in zip(rows[::2], rows[1::2]):
        out.append(
            f"{on['name'].rsplit(',', 1)[0]}: the filter replaced "
            f"{off['flagged_share_output']:.2%} of the output; novelty "
            f"{on['novelty'] - off['novelty']:+.1%}, fidelity "
            f"{on['fidelity_generated'] - off['fidelity_generated']:+.1%}, "
            f"own-output perplexity "
            f"{on['perplexity_generated'] - off['perplexity_generated']:+.2f}."
        )
    return out


def main(argv=None):
    report.setup()
    p = report.parser(__doc__, per_template=10)
    p.add_argument(
        "--decoders",
        nargs="+",
        default=list(DECODERS),
        help="decoders to compare (default: %(default)s)",
    )
    p.add_argument(
        "--compare-run",
        help="a caption model trained without the "
        "training-time filter (see the docstring)",
    )
    args = p.parse_args(argv)
    rows = measure(args.run, args.data, args, "training filter on")
    if args.compare_run:
        rows += measure(args.compare_run, None, args, "training filter off")
    notes = [
        "Filter on minus filter off: " + " ".join(costs(rows)),
        "Flagged (raw): share of the captions the decoder would return without "
        "the filter that the lexicon flags; flagged (returned): of those "
        "actually returned. The training-time comparison needs a model trained "
        "without the filter: see the script's docstring"
        + (" (measured here)." if args.compare_run else " (not run here)."),
    ]
    report.write(
        args,
        "mitigation",
        rows,
        "Safety mitigations: what they cost",
        notes,
        columns=COLUMNS,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
