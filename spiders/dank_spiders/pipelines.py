"""Item pipelines: clean and dedupe, then export the crawl directory.

Order (``ITEM_PIPELINES``): ``CleanPipeline`` -> ``TemplateImagesPipeline``
(``images.py``) -> ``ExportPipeline`` -> ``TFRecordPipeline`` (``tfrecords.py``).

The crawl directory (``crawl_dir.py``) has the layout of ``../shared/data/memes``::

    templates.csv, captions.csv          rebuilt atomically when the spider closes
    templates.jsonl, captions.jsonl      append-only logs, one item a line
    templates/<template_id>.<ext>        template images
    crawl_report.json                    counts, faults survived, speed

The JSONL logs are what makes a resumed crawl (``JOBDIR``) continue: they are
read back on start, so dedupe remembers what an earlier run already kept.
"""

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

from scrapy.exceptions import DropItem

from dank.core.io import write_text
from dank.data.sources import CAPTION_HEADER, TEMPLATE_HEADER
from dank_spiders.crawl_dir import CAPTIONS_LOG, TEMPLATES_LOG, out_dir, read_log
from dank_spiders.items import CaptionItem, TemplateItem
from dank_spiders.text import caption_key, clean_boxes, clean_text

TEMPLATE_COLUMNS = TEMPLATE_HEADER
CAPTION_COLUMNS = CAPTION_HEADER


class CleanPipeline:
    """Cleans text and drops empty or duplicate items, counting each reason.

    Drop reasons (stat ``dank/dropped/<reason>``): ``empty`` (no text in any
    box), ``duplicate_image`` (the same post seen again), ``duplicate_caption``
    (the same text on the same template), ``duplicate_template``.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.templates = set()
        self.images = set()
        self.captions = set()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self, spider=None):
        out = out_dir(self.crawler)
        for row in read_log(out / TEMPLATES_LOG):
            self.templates.add(row["template_id"])
        for row in read_log(out / CAPTIONS_LOG):
            item = CaptionItem(**row)
            self.images.add((item.source, item.image_id))
            self.captions.add(caption_key(item.template_id, item.boxes))

    def drop(self, reason, item):
        self.crawler.stats.inc_value(f"dank/dropped/{reason}")
        raise DropItem(f"{reason}: {getattr(item, 'source_ref', item.template_id)}")

    def process_item(self, item, spider=None):
        if isinstance(item, TemplateItem):
            item.name = clean_text(item.name)
            item.alt_names = clean_text(item.alt_names)
            if item.template_id in self.templates:
                self.drop("duplicate_template", item)
            self.templates.add(item.template_id)
            return item
        item.boxes = clean_boxes(item.boxes)
        item.title = clean_text(item.title)
        if not any(item.boxes):
            self.drop("empty", item)
        if (item.source, item.image_id) in self.images:
            self.drop("duplicate_image", item)
        key = caption_key(item.template_id, item.boxes)
        if key in self.captions:
            self.drop("duplicate_caption", item)
        self.images.add((item.source, item.image_id))
        self.captions.add(key)
        return item


def caption_row(row):
    """A caption log entry -> a ``captions.csv`` row."""
    boxes = list(row["boxes"]) + [""] * (2 - len(row["boxes"]))
    views = row.get("views")
    return {
        "template_id": row["template_id"],
        "top": boxes[0],
        "bottom": boxes[1],
        "extra_boxes_json": json.dumps(boxes[2:], ensure_ascii=False)
        if boxes[2:]
        else "",
        "n_boxes": len(row["boxes"]),
        "score": row["score"],
        "score_type": row["score_type"],
        "views": "" if views is None else views,
        "source": row["source"],
        "source_ref": row["source_ref"],
    }


def template_row(row, out, n_captions):
    """A template log entry (or a bare id from captions) -> a ``templates.csv`` row."""
    image = (row.get("images") or [{}])[0]
    path = out / image["path"] if image.get("path") else None
    width = height = size = ""
    if path is not None and path.is_file():
        from PIL import Image

        with Image.open(path) as im:
            width, height = im.size
        size = path.stat().st_size
    else:
        path = None
    site = row.get("site", "")
    return {
        "template_id": row["template_id"],
        "name": row.get("name", ""),
        "site": site,
        "site_url": row.get("site_url", ""),
        "imgflip_id": row.get("imgflip_id", ""),
        "alt_names": row.get("alt_names", ""),
        "image_file": image["path"] if path else "",
        "image_bytes": size,
        "width": width,
        "height": height,
        "image_source_repo": f"crawl of {site}" if path else "",
        "image_source_path": image.get("url", "") if path else "",
        "n_captions": n_captions,
        "n_captions_scored": n_captions,
        "license_note": (
            f"image and captions: copyright of their owners (crawled from {site})"
        ),
    }


def to_csv(rows, columns):
    """RFC-4180 CSV text (captions may hold newlines and quotes)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def export_tables(out):
    """Rebuilds ``templates.csv`` and ``captions.csv`` from the JSONL logs.

    Captions are ranked by score within each template (highest first), as the
    paper took the most upvoted captions. Every template a caption names gets a
    row, even when its template page could not be read.

    Returns:
        (number of templates, number of captions) written.
    """
    out = Path(out)
    captions = read_log(out / CAPTIONS_LOG)
    captions.sort(key=lambda r: (r["template_id"], -r["score"], r["source_ref"]))
    templates = {row["template_id"]: row for row in read_log(out / TEMPLATES_LOG)}
    counts = {}
    for row in captions:
        counts[row["template_id"]] = counts.get(row["template_id"], 0) + 1
        if row["template_id"] not in templates:
            slug = row["template_id"].split("-", 1)[-1]
            templates[row["template_id"]] = {
                "template_id": row["template_id"],
                "name": slug.replace("-", " "),
            }
    rows = [
        template_row(templates[t], out, counts.get(t, 0)) for t in sorted(templates)
    ]
    write_text(out / "templates.csv", to_csv(rows, TEMPLATE_COLUMNS))
    write_text(
        out / "captions.csv",
        to_csv([caption_row(r) for r in captions], CAPTION_COLUMNS),
    )
    return len(rows), len(captions)


class ExportPipeline:
    """Appends every kept item to a JSONL log; writes the CSV tables on close."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.out = out_dir(crawler)
        self.logs = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self, spider=None):
        self.out.mkdir(parents=True, exist_ok=True)
        for kind, name in ((TemplateItem, TEMPLATES_LOG), (CaptionItem, CAPTIONS_LOG)):
            path = self.out / name
            if path.is_file():  # Resuming: cut a torn last line before appending.
                data = path.read_bytes()
                if data and not data.endswith(b"\n"):
                    path.write_bytes(data[: data.rfind(b"\n") + 1])
            self.logs[kind] = path.open("a", encoding="utf-8")

    def process_item(self, item, spider=None):
        row = asdict(item)
        row.pop("image_urls", None)
        log = self.logs[type(item)]
        log.write(json.dumps(row, ensure_ascii=False) + "\n")
        log.flush()
        return item

    def close_spider(self, spider=None):
        for log in self.logs.values():
            log.close()
        n_templates, n_captions = export_tables(self.out)
        self.crawler.stats.set_value("dank/apps/export/templates", n_templates)
        self.crawler.stats.set_value("dank/apps/export/captions", n_captions)
