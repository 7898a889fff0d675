"""``dank experiment list|run|table|pairs``: experiments as data (``make paper``)."""

import sys

from dank.apps.reproduce.config import DEFAULT_CONFIGS
from dank.apps.reproduce.runner import DEFAULT_RESULTS


def register(commands):
    """Adds ``dank experiment`` and its subcommands."""
    parser = commands.root.add_parser(
        "experiment",
        help="run the configured experiments and tabulate them",
        description="Experiments are JSON files in experiments/configs/ (a preset, "
        "a variant, overrides, a run and a data build). `run` trains what is "
        "missing, evaluates, writes experiments/results/<name>.json and the table "
        "beside the paper, experiments/results/paper.md.",
    )
    sub = parser.add_subparsers(
        dest="experiment_command",
        metavar="COMMAND",
        required=True,
        help="the command to run",
    )

    def add(name, help, func):
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument(
            "--configs",
            default=str(DEFAULT_CONFIGS),
            help="folder of experiment configs (default %(default)s)",
        )
        p.add_argument(
            "--results",
            default=str(DEFAULT_RESULTS),
            help="folder of results (default %(default)s)",
        )
        p.set_defaults(func=func)
        return p

    add("list", "list the experiments and what each has produced", _list)
    p = add("run", "train what is missing, evaluate, write results and the table", _run)
    p.add_argument(
        "names",
        nargs="+",
        metavar="NAME",
        help="experiment names; '*-cpu' or 'image*' match several",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="only print what would be built, trained and evaluated",
    )
    p = add("table", "rewrite experiments/results/paper.md from the results", _table)
    p.add_argument(
        "names", nargs="*", metavar="NAME", help="columns (default: every experiment)"
    )

    p = sub.add_parser(
        "pairs",
        help="print the paper's 105 caption-opening pairs of a data build",
        description="The (template, caption-opening) pairs of the paper's "
        "evaluation protocol, rebuilt from the build's test split "
        "(dank/apps/reproduce/protocol.py says how).",
    )
    p.add_argument("--data", default="data/build/starter", help="data build")
    p.set_defaults(func=_pairs)


def _status(experiment, results_dir):
    from dank.apps.reproduce.runner import result_path

    if result_path(experiment, results_dir).is_file():
        return "evaluated"
    trained = experiment.model_file().is_file()
    return "trained, not evaluated" if trained else "not run"


def _list(args):
    from dank.apps.reproduce.config import load_experiments

    for e in load_experiments(args.configs).values():
        print(
            f"{e.name:22} {e.variant:14} {e.preset:6} {e.run:14} "
            f"{_status(e, args.results):24} {e.description}"
        )
    return 0


def _run(args):
    from dank.apps.reproduce.config import load_experiments, select
    from dank.apps.reproduce.runner import plan, run_experiment
    from dank.apps.reproduce.table import write_table
    from dank.core.errors import DankError

    experiments = load_experiments(args.configs)
    chosen = select(experiments, args.names)
    if args.dry_run:
        for e in chosen:
            for kind, description in plan(e, args.results):
                print(f"{e.name}: {kind}: {description}")
        return 0
    failed = []
    for e in chosen:
        try:
            run_experiment(e, args.results)
        except DankError as error:
            print(f"dank: {e.name} failed: {error}", file=sys.stderr)
            failed.append(e.name)
    print(f"table: {write_table(list(experiments.values()), args.results)}")
    if failed:
        raise DankError(f"{len(failed)} experiment(s) failed: {', '.join(failed)}")
    return 0


def _table(args):
    from dank.apps.reproduce.config import load_experiments, select
    from dank.apps.reproduce.table import write_table

    chosen = select(load_experiments(args.configs), args.names)
    print(write_table(chosen, args.results))
    return 0


def _pairs(args):
    from dank.apps.reproduce.protocol import N_PAIRS, build_pairs

    pairs = build_pairs(args.data)
    print(f"{len(pairs)} of {N_PAIRS} pairs from the test split of {args.data}")
    for p in pairs:
        print(f"{p['support']:5}  {p['template']:40}  {p['text']}")
    return 0
