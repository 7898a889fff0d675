"""Reading a source folder laid out like ``/work/shared/data/memes``.

A source folder holds ``templates.csv``, ``captions.csv.gz`` (or an
uncompressed ``captions.csv``) and ``templates/`` with the images. The CSVs are
RFC 4180: caption fields may contain newlines, so they are read with ``csv``.
Malformed rows are skipped, counted and reported by line number (``RowIssues``).
"""

import collections
import csv
import dataclasses
import gzip
import io
import logging
import re
from pathlib import Path

from dank.core.errors import DankError

log = logging.getLogger(__name__)
MAX_LOGGED = 20  # Skipped rows logged one by one per file; summary.json has more.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # What surrogateescape decodes bad bytes to.
MAX_LISTED = 10_000  # Skipped or repaired rows listed per file in summary.json.

# The columns a build needs; other columns are carried along but not required.
TEMPLATE_COLUMNS = (
    "template_id",
    "name",
    "alt_names",
    "image_file",
    "text_layout_json",
)
CAPTION_COLUMNS = ("template_id", "top", "bottom", "score", "score_type")
# Every column of the source format, in order (what writers of a source emit).
TEMPLATE_HEADER = (
    "template_id",
    "name",
    "site",
    "site_url",
    "imgflip_id",
    "alt_names",
    "box_count",
    "image_file",
    "image_bytes",
    "width",
    "height",
    "image_source_repo",
    "image_source_commit",
    "image_source_path",
    "n_captions",
    "n_captions_scored",
    "dank_rank",
    "in_memes900k",
    "text_layout_json",
    "license_note",
)
CAPTION_HEADER = (
    "template_id",
    "top",
    "bottom",
    "extra_boxes_json",
    "n_boxes",
    "score",
    "score_type",
    "views",
    "source",
    "source_ref",
)
csv.field_size_limit(16 * 2**20)  # memegen text layouts are long JSON strings.


def check_source(source):
    """Returns ``(templates_csv, captions_csv)`` paths, or raises ``DankError``."""
    source = Path(source)
    if not source.is_dir():
        raise DankError(
            f"source folder {source} not found; pass --source with a folder holding "
            "templates.csv, captions.csv.gz and templates/ (e.g. data/starter)"
        )
    templates = source / "templates.csv"
    if not templates.is_file():
        raise DankError(f"{source} has no templates.csv; is it a meme source folder?")
    for name in ("captions.csv.gz", "captions.csv"):
        if (source / name).is_file():
            return templates, source / name
    raise DankError(f"{source} has neither captions.csv.gz nor captions.csv")


def _open_text(path):
    # utf-8-sig: a byte order mark (Excel's "CSV UTF-8") is not part of a header.
    # surrogateescape: a row with bytes that are not UTF-8 is skipped, not the file.
    options = {"encoding": "utf-8-sig", "errors": "surrogateescape", "newline": ""}
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), **options)
    return open(path, **options)


@dataclasses.dataclass
class RowIssues:
    """The rows of one CSV file that were skipped or repaired, by line number.

    A row is *skipped* when it cannot be read as one row of the header's width.
    It is *repaired* when it was read after all: a row that an unbalanced quote
    on an earlier line had swallowed, read again on its own, or a one-line row
    with a stray quote inside a field, read with the quote kept as text.
    """

    path: str
    skipped: list = dataclasses.field(default_factory=list)  # (line, reason) pairs.
    repaired: list = dataclasses.field(default_factory=list)  # (line, reason) pairs.

    def skip(self, line, reason):
        self.skipped.append((line, reason))
        if len(self.skipped) <= MAX_LOGGED:
            log.warning("%s line %d: row skipped: %s", self.path, line, reason)
        elif len(self.skipped) == MAX_LOGGED + 1:
            log.warning("%s: more rows skipped; summary.json lists them", self.path)

    def repair(self, line, reason):
        self.repaired.append((line, reason))

    def to_json(self):
        """``{"skipped": n, "repaired": n, "rows": [...]}`` for ``summary.json``."""
        entries = [("skipped", self.skipped), ("repaired", self.repaired)]
        rows = [
            {"line": line, "action": action, "reason": reason}
            for action, pairs in entries
            for line, reason in pairs
        ]
        rows.sort(key=lambda r: r["line"])
        return {
            "skipped": len(self.skipped),
            "repaired": len(self.repaired),
            "rows": rows[:MAX_LISTED],
        }


class _Lines:
    """The physical lines of a text file, numbered, with lines that can be re-read.

    ``csv.reader`` pulls one line at a time and never reads past the end of a
    record, so ``taken`` holds exactly the lines of the last record it returned.
    """

    def __init__(self, f):
        self._lines = iter(f)
        self._again = collections.deque()
        self._count = 0
        self.taken = []  # (line number, text) of the record being read.

    def __iter__(self):
        return self

    def __next__(self):
        if self._again:
            entry = self._again.popleft()
        else:
            entry = (self._count + 1, next(self._lines))
            self._count += 1
        self.taken.append(entry)
        return entry[1]

    def read_again(self, entries):
        """Queues ``entries`` to be read before the rest of the file."""
        self._again.extendleft(reversed(entries))


def _lenient(text):
    """The fields of one line, quotes inside a field kept as text (or ``None``)."""
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return None


def _looks_like_row(text, width):
    """True when a line inside a record is by itself a row (an id, then fields)."""
    fields = _lenient(text)
    return (
        fields is not None
        and len(fields) == width
        and bool(fields[0])
        and not any(c.isspace() for c in fields[0])
    )


def _records(f, issues):
    """Yields ``(line number, fields)`` for each well-formed record of a CSV file.

    Captions may hold newlines inside quotes, so a record spanning lines is
    normal. An unbalanced quote makes one too, swallowing the rows after it up
    to the next quote; strict parsing stops at that next quote (a quote that
    closes a field must be followed by a comma or a line end), or the record
    has the wrong width, or a line inside it is a whole row. Then its first line
    is skipped and the lines after it are read again, so a stray quote costs
    one row, not every row up to the next quote.
    """
    lines = _Lines(f)
    reader = csv.reader(lines, strict=True)
    width = None
    replay_end = 0  # Records starting at or before this line are re-read ones.
    while True:
        lines.taken = []
        try:
            fields, problem = next(reader), None
        except StopIteration:
            return
        except csv.Error as e:
            fields, problem = None, str(e)
            reader = csv.reader(lines, strict=True)  # A fresh parser state.
        taken = lines.taken or [(0, "")]
        line = taken[0][0]
        if fields == []:
            continue  # A blank line, as csv.DictReader skips them.
        if width is None:  # The header.
            if problem is not None:
                fields = _lenient(taken[0][1]) or []
                lines.read_again(taken[1:])
            width = len(fields)
            yield line, fields
            continue
        if problem is None and len(fields) != width:
            problem = f"{len(fields)} fields where the header has {width}"
        if problem is None and any(_looks_like_row(t, width) for _, t in taken[1:-1]):
            problem = "a line inside its quotes is a whole row"
        note = None  # Why the row is a repaired one.
        if problem is not None and len(taken) == 1:
            fields = _lenient(taken[0][1])
            if fields is None or len(fields) != width:
                issues.skip(line, f"malformed row ({problem})")
                continue
            note = f"a stray quote kept as text ({problem})"
        elif problem is not None:
            issues.skip(
                line,
                f"an unbalanced quote swallowed lines {taken[1][0]}-{taken[-1][0]} "
                f"({problem}); they are read again",
            )
            lines.read_again(taken[1:])
            replay_end = max(replay_end, taken[-1][0])
            continue
        elif line <= replay_end:
            note = "read again after an unbalanced quote above it"
        if any(_NOT_UTF8.search(text) for _, text in taken):
            issues.skip(line, "bytes that are not UTF-8 text")
            continue
        if note:
            issues.repair(line, note)
        yield line, fields


def read_rows(path, required, issues=None):
    """Yields the rows of a CSV file as dicts, after checking its header.

    Rows that are not one record of the header's width are skipped or repaired
    and noted in ``issues`` with their line numbers (see ``_records``); the rest
    of the file is still read.

    Args:
        path: a ``.csv`` or ``.csv.gz`` file, UTF-8 with or without a BOM.
        required: column names the header must have.
        issues: a ``RowIssues`` collecting skipped and repaired rows (optional).

    Raises:
        DankError: the file is unreadable, empty, or lacks a ``required`` column.
    """
    path = Path(path)
    issues = RowIssues(str(path)) if issues is None else issues
    # Not pandas.read_csv: on a stray quote both its engines lose or shift rows
    # silently and on_bad_lines gets no line number, so nothing could be reported.
    try:
        with _open_text(path) as f:
            records = _records(f, issues)
            header = next(records, (0, None))[1]
            missing = [c for c in required if c not in (header or ())]
            if missing:
                raise DankError(
                    f"{path} lacks the column(s) {', '.join(missing)}; it needs "
                    f"{', '.join(required)} (see the data README for the format)"
                )
            for _, fields in records:
                yield dict(zip(header, fields))
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise DankError(f"{path} cannot be read as UTF-8 CSV ({e})") from e


def read_templates(source, issues=None):
    """The rows of ``templates.csv`` as a list of dicts (``issues``: see
    ``read_rows``)."""
    templates, _ = check_source(source)
    return list(read_rows(templates, TEMPLATE_COLUMNS, issues))


def read_captions(source, issues=None):
    """Yields the rows of the captions CSV as dicts (``issues``: see
    ``read_rows``)."""
    _, captions = check_source(source)
    return read_rows(captions, CAPTION_COLUMNS, issues)
