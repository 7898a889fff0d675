"""What the generation experiments share: flags, context, the table, the output.

Each script (``decoders.py``, ``mitigation.py``, ``rerank.py``) computes a list
of rows, each ``{"name": ..., **dank.metrics.generation_metrics(...)}``, and
hands them to ``write``, which saves ``experiments/results/<name>-<preset>.json``
(rows plus the machine, run and data they came from) and a Markdown table
beside it, and prints the table.
"""

import argparse
import datetime
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "results"

# (key, header, format) of the metric columns every table shows.
COLUMNS = (
    ("n_generated", "captions", "{:d}"),
    ("bleu1", "BLEU-1", "{:.3f}"),
    ("bleu4", "BLEU-4", "{:.3f}"),
    ("distinct1", "distinct-1", "{:.3f}"),
    ("distinct2", "distinct-2", "{:.3f}"),
    ("novelty", "novelty", "{:.1%}"),
    ("fidelity_generated", "fidelity (generated)", "{:.1%}"),
    ("fidelity_real", "fidelity (real)", "{:.1%}"),
    ("real_vs_generated_accuracy", "real-vs-generated", "{:.1%}"),
    ("flagged_share", "flagged (unfiltered)", "{:.1%}"),
    ("perplexity_generated", "own-output ppl", "{:.1f}"),
    ("captions_per_second", "captions/s", "{:.0f}"),
)


def setup():
    """Quiet TensorFlow (before it is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def parser(doc, per_template=5):
    """The flags every script takes, described by the script's docstring."""
    p = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--run", default="runs/default", help="a trained run")
    p.add_argument("--data", help="data build (default: the run's)")
    p.add_argument(
        "--per-template",
        type=int,
        default=per_template,
        help=f"captions per template (default {per_template})",
    )
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--out", default=str(RESULTS), help="results folder")
    return p


def preset_of(run):
    """The caption model's preset recorded in the run (``cpu``, ``paper``...)."""
    from dank.models.run import Run

    return Run.open(run).config("language").get("preset", "unknown")


def context(args):
    """Where the numbers come from: machine, load, versions, run, data, commit."""
    from experiments.benchmarks.common import machine_info

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(with_tf=True),
        # Other jobs shared this CPU: the load says how much (captions/s suffer).
        "load_average_at_start": list(os.getloadavg()),
        "commit": commit,
        "run": args.run,
        "data": args.data,
        "per_template": args.per_template,
        "seed": args.seed,
    }


def _cell(value, fmt):
    if value is None:
        return "n/a"
    if isinstance(value, float) and value != value:
        return "n/a"
    return fmt.format(value)


def table(rows, columns=COLUMNS):
    """A Markdown table: one row per entry of ``rows``, one column per metric."""
    lines = [
        "| | " + " | ".join(h for _, h, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [_cell(row.get(k), f) for k, _, f in columns]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(args, name, rows, title, notes=(), columns=COLUMNS):
    """Writes ``<out>/<name>-<preset>.{json,md}`` and prints the table."""
    from dank.core.io import write_json, write_text

    preset = preset_of(args.run)
    info = context(args)
    out = Path(args.out)
    stem = f"{name}-{preset}"
    write_json(
        out / f"{stem}.json", {"context": info, "rows": rows, "notes": list(notes)}
    )
    machine, load = info["machine"], info["load_average_at_start"][0]
    text = (
        "\n\n".join(
            [
                f"# {title}",
                f"Run `{args.run}` (caption preset `{preset}`), data "
                f"`{rows[0].get('data') if rows else args.data}`, {args.per_template} "
                f"captions per template, seed {args.seed}; {machine['cpu']}, "
                f"{machine['cores']} cores, load average {load:.1f} "
                f"at the start (the CPU was shared: captions/s are rough); commit "
                f"{info['commit']}, {info['date']}.",
                table(rows, columns),
                *notes,
            ]
        )
        + "\n"
    )
    write_text(out / f"{stem}.md", text)
    print(text)
    print(f"wrote {out / stem}.json and .md")
    return out / stem
