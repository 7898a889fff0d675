"""`make lint` as part of the fast suite, so CI (which runs `make test`) enforces it:
ruff's checks, ruff's formatting, and the import-linter layer contracts."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The venv's own tools, the pinned versions of the dev extra.
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
COMMANDS = {
    "ruff check": [sys.executable, "-m", "ruff", "check", "."],
    "ruff format --check": [sys.executable, "-m", "ruff", "format", "--check", "."],
    # No cache: a stale .import_linter_cache must never hide a new import.
    "lint-imports": [str(LINT_IMPORTS), "--no-cache"],
}


@pytest.mark.parametrize("name", COMMANDS)
def test_lint_passes(name):
    proc = subprocess.run(
        COMMANDS[name], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    output = proc.stdout[-6000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, f"`{name}` failed (run `make lint`):\n{output}"


def test_make_lint_runs_the_same_commands():
    dry = subprocess.run(
        ["make", "-n", "lint"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "ruff check ." in dry
    assert "ruff format --check ." in dry
    assert "lint-imports --no-cache" in dry
