"""The ``dank`` command: a thin layer over library functions.

Each area of the package owns its subcommands in a ``cli.py`` of its own (for
example ``dank/apps/cli/data.py``) with a ``register(commands)`` function; this
module only builds the parser tree and turns ``DankError`` into a clean message.
Heavy imports (TensorFlow) happen inside the command handlers, so ``--help``
stays fast.
"""

import argparse
import importlib
import logging
import os
import sys

from dank import __version__
from dank.core.errors import DankError

# Modules that add subcommands, in the order they appear in ``dank --help``.
COMMAND_MODULES = (
    "dank.apps.cli.data",
    "dank.apps.cli.vision",
    "dank.apps.cli.language",
    "dank.apps.cli.cascade",
    "dank.apps.cli.scrape",
    "dank.apps.cli.safety",
    "dank.apps.cli.humor",
    "dank.apps.cli.export",
    "dank.apps.cli.serve",
    "dank.apps.cli.rate",
    "dank.apps.cli.doctor",
    "dank.apps.cli.experiment",
)

# Grouped commands: ``dank train vision``, ``dank evaluate captions``, ...
GROUPS = {
    "data": "build and inspect datasets",
    "train": "train the template classifier or the caption model",
    "evaluate": "measure a trained run on held-out data",
}


class Commands:
    """What a ``register`` function gets: the root subparsers and the groups."""

    def __init__(self, root):
        self.root = root
        self._groups = {}

    def group(self, name):
        """Returns the subparsers of the group ``name`` (one of ``GROUPS``)."""
        if name not in self._groups:
            parser = self.root.add_parser(
                name, help=GROUPS[name], description=GROUPS[name]
            )
            self._groups[name] = parser.add_subparsers(
                dest=f"{name}_command",
                metavar="COMMAND",
                required=True,
                help="the command to run",
            )
        return self._groups[name]


def build_parser():
    """Builds the full ``dank`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="dank",
        description="Recognise a meme template, caption it, and draw the meme.",
    )
    parser.add_argument("--version", action="version", version=f"dank {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    root = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, help="the command to run"
    )
    commands = Commands(root)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if not name.startswith(e.name or "?"):
                raise
            continue  # That area is not built yet.
        module.register(commands)
    return parser


def main(argv=None):
    """Runs the ``dank`` command; returns the process exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        return args.func(args) or 0
    except DankError as e:
        print(f"dank: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dank: interrupted", file=sys.stderr)
        return 130
