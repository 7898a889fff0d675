"""``python -m dank.apps.scrape SPIDER --base-url URL --out DIR``.

``dank scrape`` alone, without the rest of the ``dank`` command.
"""

import argparse
import sys

from dank.apps.cli import Commands
from dank.apps.cli import scrape as cli
from dank.core.errors import DankError


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dank.apps.scrape")
    root = parser.add_subparsers(dest="command", required=True)
    cli.register(Commands(root))
    args = parser.parse_args(["scrape", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except DankError as e:
        print(f"dank: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
