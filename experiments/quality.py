"""Issue 22's quality table: do a decoder's captions pass as people's?

    .venv/bin/python -m experiments.quality --run runs/default     # make quality
    .venv/bin/python -m experiments.quality --tune                 # validation split

For every template of the run's held-out split, each decoder writes
``--per-template`` captions with the safety filter on (as ``dank generate``
does); ``dank.metrics.generation_metrics`` scores them against the real
captions of the same templates: the strong detector's accuracy with its 95%
interval (``dank.metrics.detector``), novelty, words per caption against real,
distinct-1/2 and distinct captions per template, degenerate share, BLEU,
template fidelity, flagged share and captions/s; the humour model's mean
score when the run has one (``dank train humor``), which also enables the
``+ rerank humor`` rows.

Writes ``experiments/results/quality.json`` and the table ``docs/quality.md``
from it (``--table-only`` rewrites the table from the JSON). ``--tune`` scores
a grid of nucleus settings on the *validation* split instead, into
``experiments/results/quality-tuning.json``: settings are chosen there, and
the test split only reports them.
"""

import itertools
import json
import sys
import tempfile
from pathlib import Path

from experiments.generation import report

ROOT = report.ROOT
DOC = ROOT / "docs" / "quality.md"
# (row name, dank.decoding.PRESETS name, rerank).
ROWS = (
    ("paper (diverse beam)", "paper", None),
    ("beam", "beam", None),
    ("greedy", "greedy", None),
    ("sample", "sample", None),
    ("nucleus (default)", "nucleus", None),
    ("paper + rerank humor", "paper", "humor"),
    ("nucleus + rerank humor", "nucleus", "humor"),
)
# Issue 22's targets for the default decoder: (key, test, text).
TARGETS = (
    ("real_vs_generated_accuracy", lambda v, r: v <= 0.65, "detector accuracy <= 0.65"),
    ("novelty", lambda v, r: v >= 0.90, "novelty >= 0.90"),
    ("words_ratio", lambda v, r: abs(v - 1) <= 0.10, "words within 10% of real"),
    ("distinct_per_template", lambda v, r: v >= 0.9, "distinct per template >= 0.9"),
    ("degenerate_share", lambda v, r: v <= 0.02, "degenerate <= 2%"),
    ("flagged_share", lambda v, r: v <= r["flagged_share"], "flagged <= paper's"),
)
COLUMNS = (
    ("detector", "detector accuracy (95% CI)"),
    ("novelty", "novelty"),
    ("words", "words (generated / real)"),
    ("distinct1", "distinct-1"),
    ("distinct2", "distinct-2"),
    ("distinct_per_template", "distinct per template"),
    ("degenerate_share", "degenerate"),
    ("bleu1", "BLEU-1"),
    ("bleu4", "BLEU-4"),
    ("fidelity_generated", "template fidelity"),
    ("humor_mean", "humour score"),
    ("flagged_share", "flagged (unfiltered)"),
    ("captions_per_second", "captions/s"),
)


def humor_scores(run, saved):
    """Mean humour score of the saved captions, or None without a humour model."""
    from dank.core.errors import DankError
    from dank.metrics.saved import load_captions
    from dank.models.run import Run

    run = Run.open(run)
    try:
        scorer = run.humor
    except (DankError, KeyError, OSError):
        return None
    catalogue = run.catalogue
    rows = load_captions(saved)
    labels = [catalogue.find(r["template"]).label for r in rows]
    return float(scorer.score([(r["top"], r["bottom"]) for r in rows], labels).mean())


def score_row(args, name, decoder, rerank, split):
    """One row: ``generation_metrics`` plus the humour mean; None if impossible."""
    from dank.core.errors import DankError
    from dank.metrics import generation_metrics

    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "captions.jsonl"
        try:
            row = generation_metrics(
                args.run,
                data_dir=args.data,
                decoder=decoder,
                per_template=args.per_template,
                seed=args.seed,
                rerank=rerank,
                split=split,
                save_generated=saved,
                max_templates=args.max_templates,
            )
        except DankError as e:
            print(f"{name}: skipped ({e})", file=sys.stderr)
            return None
        row["humor_mean"] = humor_scores(args.run, saved)
    return {"name": name, "preset": decoder, **row}


def perplexity(run):
    """Test perplexity per word of the caption model beside the KN trigram."""
    path = Path(run) / "language" / "metrics.json"
    metrics = json.loads(path.read_text()) if path.is_file() else {}
    baselines = metrics.get("baselines", {}).get("test", {})
    return {
        "model_per_word": metrics.get("test", {}).get("perplexity_per_word"),
        "kn_trigram_per_word": baselines.get("kn_trigram", {}).get(
            "perplexity_per_word"
        ),
        "kn_trigram_template_per_word": baselines.get("kn_trigram_template", {}).get(
            "perplexity_per_word"
        ),
    }


def check_targets(rows):
    """Issue 22's targets for the default decoder's row, each met or not."""
    from dank.decoding.config import DEFAULT_DECODER

    default = next(
        (r for r in rows if r["preset"] == DEFAULT_DECODER and not r["rerank"]), None
    )
    paper = next((r for r in rows if r["preset"] == "paper" and not r["rerank"]), None)
    if default is None or paper is None:
        return []
    return [
        {"target": text, "value": default[key], "met": bool(test(default[key], paper))}
        for key, test, text in TARGETS
    ]


def _cell(row, key):
    if key == "detector":
        return (
            f"{row['real_vs_generated_accuracy']:.1%} "
            f"({row['real_vs_generated_ci_low']:.1%}–"
            f"{row['real_vs_generated_ci_high']:.1%})"
        )
    if key == "words":
        return f"{row['words_generated']:.1f} / {row['words_real']:.1f}"
    value = row.get(key)
    if value is None or value != value:
        return "n/a"
    if key in ("bleu1", "bleu4", "distinct1", "distinct2", "humor_mean"):
        return f"{value:.3f}"
    if key == "captions_per_second":
        return f"{value:.0f}"
    return f"{value:.1%}"


def markdown(result):
    """``docs/quality.md`` from the JSON ``result`` (every number comes from it)."""
    ctx, ppl = result["context"], result["perplexity"]
    lines = [
        "# Caption quality: do they pass as people's?",
        "",
        f"Written by `make quality` (`experiments/quality.py`) from "
        f"`experiments/results/quality.json`: run `{ctx['run']}`, the "
        f"**{result['split']}** split, {ctx['per_template']} captions per "
        f"template (greedy: 1), seed {ctx['seed']}, safety filter on; "
        f"{ctx['machine']['cpu']}, {ctx['machine']['cores']} cores, load "
        f"{ctx['load_average_at_start'][0]:.1f} at the start (captions/s are "
        f"rough on a shared CPU); commit {ctx['commit']}, {ctx['date']}.",
        "",
        "| decoder | " + " | ".join(h for _, h in COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for row in result["rows"]:
        cells = [_cell(row, k) for k, _ in COLUMNS]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    lines += ["", "Targets for the default decoder (issue 22):", ""]
    lines += [
        f"- {'met' if t['met'] else '**not met**'}: {t['target']} "
        f"(measured {t['value']:.3f})"
        for t in result["targets"]
    ]
    lines += [
        "",
        f"Test perplexity per word of the caption model: "
        f"{_num(ppl['model_per_word'])} (KN trigram {_num(ppl['kn_trigram_per_word'])}"
        f", per-template KN trigram {_num(ppl['kn_trigram_template_per_word'])}); "
        "decoding does not change it.",
        "",
        *result["notes"],
    ]
    return "\n".join(lines) + "\n"


def _num(value):
    return "n/a" if value is None else f"{value:.1f}"


NOTES = (
    "**Detector accuracy**: a word 1-2-gram + char 2-5-gram + length logistic "
    "regression (`dank.metrics.detector`), 10-fold cross-validated over the "
    "generated captions and as many real held-out captions of the same "
    "templates; 50% = indistinguishable (the paper's human raters: about 70%). "
    "**Words**: mean words per caption, real = the same templates and counts. "
    "**Distinct per template**: unique / all captions of a template, averaged. "
    "**Degenerate**: a punctuation-only box, at most 1 character, a word three "
    "times in a row or a repeated word 4-gram (`dank.metrics.humanlike`); "
    "real captions: see `degenerate_share_real` in the JSON. **Novelty**: not "
    "found inside any training caption. **Humour**: the run's humour model "
    "(n/a without `dank train humor`).",
)


def tune(args):
    """Scores the nucleus grid on the validation split."""
    import dataclasses

    from dank.decoding.config import PRESETS

    base, rows = PRESETS["nucleus"], []
    grid = itertools.product(args.temperatures, args.top_ps, args.min_lens)
    for temperature, top_p, min_len in grid:
        config = dataclasses.replace(
            base, temperature=temperature, top_p=top_p, min_len=min_len
        )
        name = f"T {temperature:g}, top-p {top_p:g}, min_len {min_len}"
        row = score_row(args, name, config, None, "val")
        if row is not None:
            row["preset"] = "nucleus"
            rows.append(row)
            print(
                f"{name}: detector {row['real_vs_generated_accuracy']:.3f} "
                f"novelty {row['novelty']:.3f} words {row['words_ratio']:.3f} "
                f"degenerate {row['degenerate_share']:.3f} "
                f"captions/s {row['captions_per_second']:.1f}",
                flush=True,
            )
    from dank.core.io import write_json

    write_json(
        Path(args.out) / "quality-tuning.json",
        {"context": report.context(args), "split": "val", "rows": rows},
    )


def main(argv=None):
    report.setup()
    p = report.parser(__doc__, per_template=10)
    p.add_argument(
        "--split",
        default="test",
        choices=("test", "val"),
        help="split whose captions are scored (default %(default)s)",
    )
    p.add_argument(
        "--rows",
        nargs="+",
        metavar="PRESET",
        help="score only the rows of these presets; the other rows "
        "of an existing quality.json are kept",
    )
    p.add_argument(
        "--table-only",
        action="store_true",
        help="rewrite docs/quality.md from quality.json",
    )
    p.add_argument(
        "--tune",
        action="store_true",
        help="score the nucleus grid on the validation split",
    )
    p.add_argument(
        "--temperatures",
        type=float,
        nargs="+",
        default=[0.9, 1.0],
        help="--tune grid: temperatures (default %(default)s)",
    )
    p.add_argument(
        "--top-ps",
        type=float,
        nargs="+",
        default=[0.9, 0.95, 1.0],
        help="--tune grid: nucleus top-p values (default %(default)s)",
    )
    p.add_argument(
        "--min-lens",
        type=int,
        nargs="+",
        default=[3],
        help="--tune grid: minimum caption lengths in tokens (default %(default)s)",
    )
    p.add_argument(
        "--max-templates", type=int, help="only the first N templates (quicker tuning)"
    )
    args = p.parse_args(argv)

    from dank.core.io import write_json, write_text

    out = Path(args.out) / "quality.json"
    if args.tune:
        return tune(args)
    if not args.table_only:
        rows = [
            row
            for name, decoder, rerank in ROWS
            if not args.rows or decoder in args.rows
            if (row := score_row(args, name, decoder, rerank, args.split))
        ]
        if args.rows and out.is_file():  # Keep the other decoders' rows, in order.
            new = {r["name"]: r for r in rows}
            old = {r["name"]: r for r in json.loads(out.read_text())["rows"]}
            rows = [
                new.get(name) or old[name]
                for name, _, _ in ROWS
                if name in new or name in old
            ]
        result = {
            "context": report.context(args),
            "split": args.split,
            "perplexity": perplexity(args.run),
            "rows": rows,
            "targets": check_targets(rows),
            "notes": list(NOTES),
        }
        write_json(out, result)
    result = json.loads(out.read_text())
    write_text(DOC, markdown(result))
    print(markdown(result))
    print(f"wrote {out} and {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
