"""Every option and every subcommand of ``dank`` says what it is for in ``--help``."""

import argparse

import pytest

from dank.apps.cli import build_parser


def walk(parser, path="dank"):
    """Yields ``(command line, parser)`` for ``parser`` and every subcommand below."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, f"{path} {name}")


def has_text(text):
    return bool(text and text.strip()) and text != argparse.SUPPRESS


def undocumented(parser):
    """What ``parser``'s ``--help`` leaves unexplained, one string per gap."""
    gaps = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.metavar or action.dest
        if not has_text(action.help):
            gaps.append(f"{name}: no help")
        if isinstance(action, argparse._SubParsersAction):
            # add_parser(help=...) makes one pseudo-action per subcommand that has
            # help (aliases share it); a subcommand without help has none.
            helped = {
                id(action.choices[choice.dest])
                for choice in action._choices_actions
                if has_text(choice.help)
            }
            gaps += [
                f"subcommand {name}: no help"
                for name, sub in action.choices.items()
                if id(sub) not in helped
            ]
    if not has_text(parser.description):
        gaps.append("no description")
    return gaps


PARSERS = dict(walk(build_parser()))


def test_the_walk_reaches_nested_subcommands():
    assert {"dank", "dank train", "dank train vision", "dank export"} <= set(PARSERS)


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_every_option_and_subcommand_has_help(command):
    assert undocumented(PARSERS[command]) == []


def test_an_option_without_help_is_caught():
    parser = argparse.ArgumentParser(prog="x", description="a tool")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--level", help="  ")
    subs = parser.add_subparsers(dest="cmd", metavar="COMMAND", help="what to do")
    subs.add_parser("run", help="run it", description="Runs it.", aliases=["r"])
    subs.add_parser("stop", description="Stops it.")
    assert undocumented(parser) == [
        "--quiet: no help",
        "--level: no help",
        "subcommand stop: no help",
    ]
    bare = argparse.ArgumentParser(prog="y")
    bare.add_argument("path")
    assert undocumented(bare) == ["path: no help", "no description"]
