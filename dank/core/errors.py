"""The one exception type a user is meant to see."""


class DankError(Exception):
    """An error the user caused and can fix: the message names the thing and the fix.

    The command line prints it as ``dank: error: <message>`` and exits with
    status 2, never with a stack trace.
    """
