"""Helpers for the spider tests: fixture files and a crawl runner."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"

# Settings every offline crawl uses: short timeouts, small size limits, and the
# paper's 210-post rule relaxed so a 12-caption slice passes it.
TEST_SETTINGS = (
    "DOWNLOAD_TIMEOUT=1",
    "DOWNLOAD_MAXSIZE=1048576",
    "MEMEGENERATOR_MIN_POSTS=1",
    "LOG_LEVEL=WARNING",
)


def project_settings(**overrides):
    """The settings of ``dank_spiders.settings`` as a dict, plus ``overrides``."""
    from dank_spiders import settings

    values = {k: getattr(settings, k) for k in dir(settings) if k.isupper()}
    return {**values, **overrides}


def fixture_text(name):
    return (FIXTURES / name).read_bytes()


def crawl(spider, url, out, *args, settings=TEST_SETTINGS, check=True):
    """Runs ``python -m dank scrape`` in a subprocess; gives (process, report)."""
    command = [
        sys.executable,
        "-m",
        "dank",
        "scrape",
        spider,
        "--base-url",
        url,
        "--out",
        str(out),
        "--no-throttle",
        *args,
    ]
    for setting in settings:
        command += ["-s", setting]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=240, env=env
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    report_path = Path(out) / "crawl_report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else None
    return proc, report


def read_captions(out):
    """``{template_id: {((top, bottom), score)}}`` from a crawl's captions.csv."""
    import csv

    got = {}
    with open(Path(out) / "captions.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            extra = tuple(json.loads(row["extra_boxes_json"] or "[]"))
            boxes = (row["top"], row["bottom"], *extra)
            got.setdefault(row["template_id"], set()).add((boxes, int(row["score"])))
    return got
