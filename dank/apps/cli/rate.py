"""``dank rate``: blind real-or-generated ratings of a run's memes, saved to CSV."""

import getpass
import logging
from pathlib import Path

from dank.core import constants
from dank.core.errors import DankError

log = logging.getLogger(__name__)

DEFAULT_PORT = 8001  # Beside ``dank serve``'s 8000.


def register(commands):
    """Adds ``dank rate``."""
    p = commands.root.add_parser(
        "rate",
        help="blind-rate real and generated memes (real or generated? how funny?)",
        description="Show real memes (held-out captions drawn on their template) "
        "and the run's generated ones, shuffled and unmarked; ask whether each is "
        "real or generated and how funny it is (1-5); append the answers to a CSV. "
        "The same --rater and --seed resume an unfinished session. At the end, "
        "print how often the rater told real from generated.",
    )
    p.add_argument(
        "--run",
        default=constants.DEFAULT_RUN,
        help="trained run directory (default: %(default)s)",
    )
    p.add_argument(
        "--real-csv",
        metavar="FILE",
        help="real captions (template_id, top, bottom); default: the "
        "test split of the run's data build",
    )
    p.add_argument(
        "-n",
        type=int,
        default=20,
        help="memes to rate, about half of them real (default 20)",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="ratings CSV to append to (default: RUN/ratings.csv)",
    )
    p.add_argument(
        "--rater",
        default=None,
        help="rater id written with each answer (default: user name)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="which memes and in what order (same seed, same memes)",
    )
    p.add_argument(
        "--terminal",
        action="store_true",
        help="print each meme's PNG path and read answers from stdin "
        "instead of serving a web form",
    )
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="web form port on 127.0.0.1 (default %(default)s; 0 picks a free one)",
    )
    p.set_defaults(func=_rate)


def _default_rater():
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "rater"


def check_args(args):
    """Flag errors before any model is loaded."""
    from dank.apps.rate.items import check_n

    check_n(args.n)
    if not 0 <= args.port <= 65535:
        raise DankError(f"--port must be in 0..65535, got {args.port}")
    if not 0 <= args.seed < 2**31 - 1:
        raise DankError(f"--seed must be in 0..{2**31 - 2}, got {args.seed}")
    if args.real_csv and not Path(args.real_csv).is_file():
        raise DankError(f"--real-csv {args.real_csv} not found")


def open_session(args, memes=None):
    """``(session, memes, out)`` for the command's flags.

    Args:
        args: the parsed flags.
        memes: a loaded ``RunMemes`` of ``args.run`` to reuse; None loads it.
    """
    from dank.apps.rate.items import choose_items
    from dank.apps.rate.memes import RunMemes, real_captions
    from dank.apps.rate.session import RateSession, RatingLog

    check_args(args)
    out = Path(args.out) if args.out else Path(args.run) / "ratings.csv"
    ratings = RatingLog(out)  # A bad file fails here, before the run loads.
    owned = memes is None
    memes = RunMemes(args.run) if owned else memes
    try:
        captions = real_captions(memes.run, args.real_csv)
        items = choose_items(
            captions,
            memes.catalogue,
            args.n,
            args.seed,
            memes.generate,
            usable=memes.has_picture,
        )
        session = RateSession(items, ratings, args.rater or _default_rater())
    except BaseException:
        if owned:
            memes.close()
        raise
    return session, memes, out


def _rate(args, ask=input, say=print, memes=None):
    """Runs ``dank rate``; ``memes`` (a loaded run, kept open) is for tests."""
    from dank.apps.rate.session import summary_text

    owned = memes is None
    session, memes, out = open_session(args, memes)
    try:
        if args.terminal:
            from dank.apps.rate.terminal import run_terminal

            images = out.with_name(f"{out.stem}-memes")
            run_terminal(session, memes, images, ask=ask, say=say)
        else:
            _serve(session, memes, args.port, say)
            say(summary_text(session.summary()))
    finally:
        if owned:
            memes.close()
    say(f"ratings in {out}")
    return 0


def _serve(session, memes, port, say):
    import threading

    from dank.apps.rate.web import make_rate_server

    try:
        server = make_rate_server(session, memes, port=port)
    except OSError as e:
        raise DankError(
            f"cannot listen on 127.0.0.1:{port} ({e}); pick another "
            "--port or 0 for a free one"
        ) from e
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    say(
        f"rate {len(session.pending())} memes at {server.url}/ "
        "(Ctrl-C stops; answers are saved as you go)"
    )
    try:
        while not server.app.done.wait(0.5):
            pass
    except KeyboardInterrupt:
        say("stopped; run the same command to go on")
    finally:
        server.shutdown()
        server.server_close()
