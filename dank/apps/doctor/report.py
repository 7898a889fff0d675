"""A doctor's findings: one ``Check`` per question, grouped into a ``Report``.

A check is ``ok`` (nothing to do), ``warn`` (works, but worth knowing),
``fail`` (needs fixing: ``dank doctor`` exits 1) or ``skip`` (could not be
asked, e.g. no run given). Every warning and failure names its likely cause and
the exact command or action that fixes it.
"""

import dataclasses
import sys

STATUSES = ("ok", "warn", "fail", "skip")
# Terminal marks; ``ASCII_MARKS`` where the terminal cannot print the others.
MARKS = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "-"}
ASCII_MARKS = {"ok": "[ok]", "warn": "[warn]", "fail": "[FAIL]", "skip": "[skip]"}


@dataclasses.dataclass
class Check:
    """One finding.

    Attributes:
        name: a short label, e.g. ``"keras version"``.
        status: one of ``STATUSES``.
        message: what was found, in plain words.
        cause: the likely cause (warnings and failures).
        fix: the command or action that fixes it (warnings and failures).
        data: machine-readable values for ``--json``.
    """

    name: str
    status: str
    message: str
    cause: str = ""
    fix: str = ""
    data: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def to_json(self):
        return dataclasses.asdict(self)


def ok(name, message, **data):
    """A passing check."""
    return Check(name, "ok", message, data=data)


def skip(name, message, **data):
    """A check that could not be made."""
    return Check(name, "skip", message, data=data)


def warn(name, message, cause, fix, **data):
    """A check that passed with a caveat."""
    return Check(name, "warn", message, cause, fix, data)


def fail(name, message, cause, fix, **data):
    """A check that needs fixing."""
    return Check(name, "fail", message, cause, fix, data)


class Report:
    """Checks grouped into titled sections, in order."""

    def __init__(self):
        self.sections = []  # [(title, [Check])]

    def add(self, title, checks):
        """Appends a section (checks may be any iterable; it is consumed now)."""
        self.sections.append((title, list(checks)))

    def checks(self):
        return [c for _, checks in self.sections for c in checks]

    def count(self, status):
        return sum(1 for c in self.checks() if c.status == status)

    @property
    def ok(self):
        """True when no check failed (warnings are allowed)."""
        return self.count("fail") == 0

    def exit_code(self):
        """0 when all is well, 1 when something needs fixing."""
        return 0 if self.ok else 1

    def to_json(self):
        return {
            "ok": self.ok,
            "counts": {s: self.count(s) for s in STATUSES},
            "sections": [
                {"title": title, "checks": [c.to_json() for c in checks]}
                for title, checks in self.sections
            ],
        }

    def render(self, marks=None):
        """The report as terminal text."""
        marks = marks or terminal_marks()
        width = max(len(m) for m in marks.values())
        lines = []
        for title, checks in self.sections:
            lines.append(title)
            for c in checks:
                lines.append(f"  {marks[c.status]:<{width}} {c.name}: {c.message}")
                pad = " " * (width + 3)
                if c.cause:
                    lines.append(f"{pad}cause: {c.cause}")
                if c.fix:
                    lines.append(f"{pad}fix:   {c.fix}")
            lines.append("")
        fails, warns = self.count("fail"), self.count("warn")
        if fails:
            lines.append(
                f"{fails} problem{'s' if fails != 1 else ''} to fix "
                f"({marks['fail']}), {warns} warning{'s' if warns != 1 else ''} "
                f"({marks['warn']}). Fix them top down: later checks often fail "
                "because of earlier ones."
            )
        elif warns:
            lines.append(
                f"All good, with {warns} warning{'s' if warns != 1 else ''} "
                f"({marks['warn']})."
            )
        else:
            lines.append("All good.")
        return "\n".join(lines)


def terminal_marks(stream=None):
    """``MARKS`` when ``stream`` (stdout) can print them, else ``ASCII_MARKS``."""
    stream = stream or sys.stdout
    try:
        "".join(MARKS.values()).encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ASCII_MARKS
    return MARKS


def guarded(name, function, *args, **kwargs):
    """Runs a check function; an unexpected exception becomes a failed check.

    The doctor must finish its report even when the thing it examines is broken
    in a way nobody foresaw, so one broken check cannot hide the others.
    """
    from dank.core.errors import DankError

    try:
        result = function(*args, **kwargs)
    except DankError as e:
        return [fail(name, str(e), "see the message", "follow the message's advice")]
    except Exception as e:  # noqa: BLE001 - reported, not swallowed.
        # TensorFlow errors carry a traceback in their text; its last line says it.
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        return [
            fail(
                name,
                f"the check crashed: {type(e).__name__}: "
                f"{lines[-1][:300] if lines else ''}",
                "something the doctor does not know about is broken",
                "run `dank doctor --json` and report the output as an issue",
            )
        ]
    return [result] if isinstance(result, Check) else list(result)
