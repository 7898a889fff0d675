"""The command line: help for every command, and clean errors."""

import subprocess
import sys

import pytest

from dank.apps import cli
from dank.core import run
from dank.core.errors import DankError


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: dank" in out


def _all_command_paths(parser, prefix=()):
    for action in parser._actions:
        choices = getattr(action, "choices", None)
        if isinstance(choices, dict):
            for name, sub in choices.items():
                yield (*prefix, name)
                yield from _all_command_paths(sub, (*prefix, name))


def test_every_command_has_help(capsys):
    paths = list(_all_command_paths(cli.build_parser()))
    for path in paths:
        with pytest.raises(SystemExit) as exit_info:
            cli.main([*path, "--help"])
        assert exit_info.value.code == 0, path
        assert capsys.readouterr().out.strip(), path


def test_dank_error_becomes_message(capsys, monkeypatch):
    def fail(args):
        raise DankError("the thing is broken; fix it")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    sub = parser._subparsers._group_actions[0]
    sub.add_parser("boom").set_defaults(func=fail)
    assert cli.main(["boom"]) == 2
    assert capsys.readouterr().err.strip() == "dank: error: the thing is broken; fix it"


def test_bad_flag_exits_2():
    result = subprocess.run(
        [sys.executable, "-m", "dank", "--no-such-flag"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr or "required" in result.stderr


def test_missing_run_directory_message(tmp_path):
    with pytest.raises(DankError, match="make train"):
        run.read_run_info(tmp_path / "nope")


def test_incompatible_run_format(tmp_path):
    (tmp_path / "run.json").write_text('{"format": 999, "dank_version": "9.9"}')
    with pytest.raises(DankError, match="Retrain"):
        run.read_run_info(tmp_path)
