"""A rating session: the items, the ratings CSV, the answers and the score.

The CSV has one row per rating (``COLUMNS``) and is rewritten atomically for
each answer (``dank.core.io``), so a killed session loses nothing that was answered
and never leaves half a row. The same rater and seed resume where they
stopped: items the rater has already rated are not asked again.
"""

import csv
import io
import re
import time
from pathlib import Path

from dank.apps.rate.items import TRUTHS
from dank.core.errors import DankError
from dank.core.io import write_text

COLUMNS = (
    "rater",
    "item",
    "template_id",
    "template",
    "top",
    "bottom",
    "truth",
    "answer",
    "funny",
    "seconds",
    "time",
)
ANSWERS = {
    "r": "real",
    "real": "real",
    "g": "generated",
    "gen": "generated",
    "generated": "generated",
}
FUNNY = range(1, 6)  # "How funny, 1-5".


def parse_answer(text):
    """ "real" or "generated" for what a rater typed (r, g, real, ...), else None."""
    return ANSWERS.get((text or "").strip().lower())


def parse_funny(text):
    """The funniness 1..5 a rater typed, else None."""
    text = (text or "").strip()
    return int(text) if re.fullmatch(r"[1-5]", text) else None


class RatingLog:
    """The ratings CSV: read once, appended to atomically.

    Args:
        path: the CSV (created with its header on the first rating).
    """

    def __init__(self, path):
        self.path = Path(path)
        self.rows = []
        if self.path.exists():
            self._read()

    def _read(self):
        try:
            with self.path.open(encoding="utf-8", newline="") as f:
                reader = csv.DictReader(f)
                if tuple(reader.fieldnames or ()) != COLUMNS:
                    raise DankError(
                        f"{self.path} is not a dank ratings file (its header is "
                        f"{reader.fieldnames}); pass another --out"
                    )
                self.rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise DankError(f"cannot read ratings file {self.path} ({e})") from e

    def rated(self, rater):
        """Ids of the items ``rater`` has rated."""
        return {row["item"] for row in self.rows if row["rater"] == rater}

    def append(self, row):
        """Adds one rating (a dict with ``COLUMNS``) and rewrites the file."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows([*self.rows, row])
        write_text(self.path, buffer.getvalue())
        self.rows.append({k: str(v) for k, v in row.items()})


class RateSession:
    """One rater going through ``items``, answers saved to ``log`` as they come.

    Args:
        items: the ``Item`` list (``choose_items``), in the order to show.
        log: a ``RatingLog``.
        rater: the rater's id (a name or a pseudonym).
    """

    def __init__(self, items, log, rater):
        if not rater or not rater.strip():
            raise DankError("--rater must not be empty")
        self.items = list(items)
        self.by_id = {item.id: item for item in self.items}
        self.log = log
        self.rater = rater.strip()
        self._shown = {}  # item id -> time.monotonic() when it was shown

    def pending(self):
        """Items this rater has not rated yet, in order."""
        done = self.log.rated(self.rater)
        return [item for item in self.items if item.id not in done]

    def position(self, item):
        """1-based place of ``item`` in the session."""
        return self.items.index(item) + 1

    def shown(self, item):
        """Notes when ``item`` was put in front of the rater (for ``seconds``)."""
        self._shown.setdefault(item.id, time.monotonic())

    def record(self, item_id, answer, funny):
        """Saves one rating; DankError for an unknown item or an invalid answer."""
        item = self.by_id.get(item_id)
        if item is None:
            raise DankError(f"no item {item_id!r} in this session")
        if item_id in self.log.rated(self.rater):
            raise DankError(f"item {item_id} is already rated by {self.rater}")
        answer, funny = parse_answer(answer), parse_funny(str(funny))
        if answer is None:
            raise DankError("answer real or generated")
        if funny is None:
            raise DankError("rate how funny it is from 1 to 5")
        started = self._shown.pop(item_id, None)
        seconds = round(time.monotonic() - started, 1) if started else ""
        self.log.append(
            {
                "rater": self.rater,
                "item": item.id,
                "template_id": item.template_id,
                "template": item.template_name,
                "top": item.top,
                "bottom": item.bottom,
                "truth": item.truth,
                "answer": answer,
                "funny": funny,
                "seconds": seconds,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
        )

    def summary(self):
        """This rater's score on this session's items (resumed ones included).

        Returns:
            ``{"rated", "correct", "accuracy", "by_truth": {truth: {"rated",
            "correct", "mean_funny"}}}``; accuracy 0.5 means real and
            generated memes could not be told apart.
        """
        rows = [
            r
            for r in self.log.rows
            if r["rater"] == self.rater and r["item"] in self.by_id
        ]
        by_truth = {}
        for truth in TRUTHS:
            mine = [r for r in rows if r["truth"] == truth]
            funny = [int(r["funny"]) for r in mine]
            by_truth[truth] = {
                "rated": len(mine),
                "correct": sum(r["answer"] == truth for r in mine),
                "mean_funny": round(sum(funny) / len(funny), 2) if funny else None,
            }
        correct = sum(v["correct"] for v in by_truth.values())
        return {
            "rated": len(rows),
            "correct": correct,
            "accuracy": round(correct / len(rows), 3) if rows else None,
            "by_truth": by_truth,
        }


def summary_text(summary):
    """The end-of-session lines a rater reads."""
    if not summary["rated"]:
        return "no memes rated"
    real, gen = summary["by_truth"]["real"], summary["by_truth"]["generated"]
    return (
        f"you told real from generated correctly for {summary['correct']} of "
        f"{summary['rated']} memes ({100 * summary['accuracy']:.0f}%; 50% is "
        f"guessing)\n"
        f"  real memes: {real['correct']} of {real['rated']} spotted, mean funniness "
        f"{real['mean_funny']}\n"
        f"  generated memes: {gen['correct']} of {gen['rated']} spotted, mean "
        f"funniness {gen['mean_funny']}"
    )


def reveal_lines(session):
    """One line per rated item of the session: the truth beside the answer."""
    rated = {r["item"]: r for r in session.log.rows if r["rater"] == session.rater}
    lines = []
    for item in session.items:
        row = rated.get(item.id)
        if row is not None:
            mark = "right" if row["answer"] == item.truth else "wrong"
            lines.append(
                f"{session.position(item):>3}. {item.truth:<9} ({mark}, "
                f"funny {row['funny']}) {item.template_name}: "
                f"{item.top} / {item.bottom}"
            )
    return lines
