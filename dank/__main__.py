"""Allows ``python -m dank``."""

from dank.apps.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
