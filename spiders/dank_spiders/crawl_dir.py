"""The crawl directory: where a crawl writes (``DANK_OUT``) and its JSONL logs.

``ExportPipeline`` appends every kept item to a log (``pipelines.py``); the
``TFRecordPipeline`` follows the same logs into shards (``tfrecords.py``), and
``CleanPipeline`` reads them back when a crawl resumes.
"""

import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

TEMPLATES_LOG = "templates.jsonl"
CAPTIONS_LOG = "captions.jsonl"


def out_dir(crawler):
    """The crawl directory from the ``DANK_OUT`` setting."""
    return Path(crawler.settings.get("DANK_OUT") or "crawl")


def read_log(path):
    """Dicts from a JSONL log; a torn last line (an interrupted write) is dropped."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            logger.warning("%s: skipping a torn line from an interrupted crawl", path)
    return rows
