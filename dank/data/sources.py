"""Reading a source folder laid out like ``/work/shared/data/memes``.

A source folder holds ``templates.csv``, ``captions.csv.gz`` (or an
uncompressed ``captions.csv``) and ``templates/`` with the images. The CSVs are
RFC 4180: caption fields may contain newlines, so they are read with ``csv``.
"""

import csv
import gzip
import io
from pathlib import Path

from dank.errors import DankError

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
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_rows(path, required):
    """Yields the rows of a CSV file as dicts, after checking its header.

    Raises:
        DankError: the file is unreadable or lacks one of the ``required`` columns.
    """
    path = Path(path)
    try:
        with _open_text(path) as f:
            reader = csv.DictReader(f)
            missing = [c for c in required if c not in (reader.fieldnames or ())]
            if missing:
                raise DankError(
                    f"{path} lacks the column(s) {', '.join(missing)}; it needs "
                    f"{', '.join(required)} (see the data README for the format)"
                )
            yield from reader
    except (OSError, UnicodeDecodeError, csv.Error, EOFError) as e:
        raise DankError(f"{path} cannot be read as UTF-8 CSV ({e})") from e


def read_templates(source):
    """The rows of ``templates.csv`` as a list of dicts."""
    templates, _ = check_source(source)
    return list(read_rows(templates, TEMPLATE_COLUMNS))


def read_captions(source):
    """Yields the rows of the captions CSV as dicts."""
    _, captions = check_source(source)
    return read_rows(captions, CAPTION_COLUMNS)
