"""Progress for long commands: a bar with an ETA on a terminal, lines in logs."""

import sys


def fit_verbosity(stream=None):
    """``model.fit``'s ``verbose``: 1 (a live bar with ETA) on a terminal, else 2.

    2 prints one line per epoch, which keeps logs (``make train > log``, CI)
    readable instead of filling them with carriage-return bars.
    """
    stream = sys.stdout if stream is None else stream
    return 1 if getattr(stream, "isatty", lambda: False)() else 2
