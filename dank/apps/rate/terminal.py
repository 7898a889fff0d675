"""``dank rate --terminal``: the meme is a PNG path to open, answers come on stdin."""

from pathlib import Path

from dank.apps.rate.session import parse_answer, parse_funny, summary_text
from dank.core.io import write_bytes

QUIT = ("q", "quit")


class Stop(Exception):
    """The rater typed q or closed stdin: the session ends, answers are kept."""


def _ask(prompt, parse, ask, say, problem):
    """Asks until ``parse`` accepts the answer; ``Stop`` on q or end of input."""
    while True:
        try:
            text = ask(prompt)
        except EOFError:
            raise Stop from None
        if text.strip().lower() in QUIT:
            raise Stop
        value = parse(text)
        if value is not None:
            return value
        say(problem)


def run_terminal(session, memes, images_dir, ask=input, say=print):
    """Shows each pending item as a PNG path and records the rater's answers.

    Args:
        session: a ``RateSession``.
        memes: draws items (``RunMemes.png``).
        images_dir: where the PNGs are written (named by item id only).
        ask: reads one answer (``input``).
        say: prints a line (``print``).

    Returns:
        The session's ``summary()``.
    """
    pending = session.pending()
    total = len(session.items)
    if not pending:
        say(f"{session.rater} has rated all {total} memes of this session already")
    try:
        for item in pending:
            path = Path(images_dir) / f"{item.id}.png"
            write_bytes(path, memes.png(item))
            session.shown(item)
            say(f"[{session.position(item)}/{total}] open {path}")
            answer = _ask(
                "real or generated? [r/g, q quits] ",
                parse_answer,
                ask,
                say,
                "type r (real) or g (generated), or q to stop",
            )
            funny = _ask(
                "how funny, 1-5? ",
                parse_funny,
                ask,
                say,
                "type a whole number from 1 to 5, or q to stop",
            )
            session.record(item.id, answer, funny)
    except Stop:
        say("stopped; the answers so far are saved (run the same command to go on)")
    summary = session.summary()
    say(summary_text(summary))
    return summary
