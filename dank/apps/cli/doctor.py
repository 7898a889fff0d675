"""``dank doctor`` and ``dank summary``."""

import json
import sys

from dank.apps.doctor.data import DATA_DIR, STARTER_DIR


def register(commands):
    """Adds the top-level ``doctor`` and ``summary`` commands."""
    p = commands.root.add_parser(
        "doctor",
        help="check the install, the data and a run; explain every problem",
        description="Checks the environment (versions against the pins, oneDNN, "
        "CPU, GPU, disk, memory, font), the data (starter set, TFRecords, "
        "catalogue, vocabulary) and, with --run, a trained run (loading, "
        "versions, accuracy, perplexity, degenerate captions). Every problem "
        "comes with its likely cause and the command that fixes it. Exit status: "
        "0 all good, 1 something needs fixing.",
    )
    p.add_argument("--run", metavar="DIR", help="also check this trained run")
    p.add_argument(
        "--data",
        metavar="DIR",
        help=f"data build to check (default: {DATA_DIR}; for --run, the build "
        "recorded in its run.json)",
    )
    p.add_argument(
        "--starter",
        metavar="DIR",
        default=str(STARTER_DIR),
        help="the committed starter set (default: %(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_doctor)

    s = commands.root.add_parser(
        "summary",
        help="where a run is, its key numbers and what to try next",
        description="What `make train` prints at the end: the run's place, "
        "its metrics, its sample memes and the next commands to try.",
    )
    s.add_argument(
        "--run",
        metavar="DIR",
        default="runs/default",
        help="run directory (default: %(default)s)",
    )
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.set_defaults(func=_summary)


def doctor(run=None, data=None, starter=STARTER_DIR, progress=None):
    """Runs every check; returns the ``Report``.

    Args:
        run: a run directory to check, or None.
        data: the data build to check (None: ``DATA_DIR``, and for the run the
            build its run.json names).
        starter: the committed starter set.
        progress: called with each section title before it runs (or None).
    """
    from dank.apps.doctor.data import data_checks
    from dank.apps.doctor.environment import environment_checks
    from dank.apps.doctor.report import Report

    report = Report()
    sections = [
        ("Environment", lambda: environment_checks(run or ".")),
        ("Data", lambda: data_checks(data or DATA_DIR, starter)),
    ]
    if run is not None:
        from dank.apps.doctor.runcheck import run_checks

        sections.append((f"Run {run}", lambda: run_checks(run, data)))
    for title, function in sections:
        if progress:
            progress(title)
        report.add(title, function())
    return report


def _doctor(args, out=None):
    out = out or sys.stdout
    progress = None
    if not args.json and sys.stderr.isatty():

        def progress(title):
            print(f"checking {title.lower()}...", file=sys.stderr, flush=True)

    report = doctor(args.run, args.data, args.starter, progress)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False), file=out)
    else:
        print(report.render(), file=out)
    return report.exit_code()


def _summary(args, out=None):
    from dank.apps.doctor.summary import render_summary, summarize_run

    out = out or sys.stdout
    summary = summarize_run(args.run)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False), file=out)
    else:
        print(render_summary(summary), file=out)
    return 0
