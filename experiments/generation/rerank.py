"""What humour reranking does to the generated captions: issue 13's "Use".

    .venv/bin/python -m experiments.generation.rerank --run runs/default

The run needs a humour model (``dank train humor --run RUN``; about half a
minute on the starter build). For every template of the test split, three
ways of choosing ``--per-template`` captions with the default decoder (the
paper's diversity beam), the safety filter on:

* **no rerank**: the decoder's best captions by likelihood;
* **humour + novelty**: ``dank generate --rerank humor``: 20 candidates, ranked
  by humour score minus ``NOVELTY_WEIGHT`` x the share copied from training
  captions (``dank.models.humor.rerank``);
* **humour only**: the same with the copy penalty off, to show what the
  guard prevents: a humour model trained on popular captions tends to like
  captions that are popular training captions.

The table gives novelty, distinct-n, template fidelity and real-vs-generated
accuracy for each. A reranker that mostly returns copies of training captions
fails: the script says so when "humour + novelty" is less novel than "no
rerank" by more than 5 points. Writes
``experiments/results/rerank-<preset>.{json,md}``.
"""

import sys

from experiments.generation import report

GUARD_MARGIN = 0.05  # Largest novelty loss to reranking that still passes.


def main(argv=None):
    report.setup()
    p = report.parser(__doc__)
    p.add_argument("--decoder", default="paper", help="dank.decoding.PRESETS name")
    args = p.parse_args(argv)

    from dank.metrics import generation_metrics
    from dank.models.humor.rerank import NOVELTY_WEIGHT

    settings = (
        ("no rerank", None, None),
        (f"humour + novelty (weight {NOVELTY_WEIGHT:g})", "humor", None),
        ("humour only (weight 0)", "humor", 0.0),
    )
    rows = []
    for name, rerank, weight in settings:
        row = generation_metrics(
            args.run,
            data_dir=args.data,
            decoder=args.decoder,
            per_template=args.per_template,
            seed=args.seed,
            rerank=rerank,
            novelty_weight=weight,
        )
        row["name"] = name
        rows.append(row)
        print(f"{name}: novelty {row['novelty']:.3f}", flush=True)
    plain, guarded, unguarded = rows
    loss = plain["novelty"] - guarded["novelty"]
    verdict = (
        f"Guard {'passes' if loss <= GUARD_MARGIN else 'FAILS'}: reranking with "
        f"the novelty term changes novelty by {-loss:+.1%} against no rerank "
        f"(allowed: -{GUARD_MARGIN:.0%}); without the term it changes by "
        f"{unguarded['novelty'] - plain['novelty']:+.1%}."
    )
    notes = [
        verdict,
        "Reranked rows draw 20 candidates per template and keep the best "
        f"{args.per_template}; 'no rerank' keeps the decoder's best "
        f"{args.per_template} by likelihood. Metrics as in decoders-*.md.",
    ]
    report.write(args, "rerank", rows, "Humour reranking: generation metrics", notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
