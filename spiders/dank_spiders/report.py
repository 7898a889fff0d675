"""Crawl report: what was fetched, kept, dropped, and which faults were survived.

Written atomically to ``DANK_OUT/crawl_report.json`` when the spider closes,
and logged. ``dank scrape`` prints it; the offline tests assert on it.
"""

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from scrapy import signals

from dank.core.io import write_json

logger = logging.getLogger(__name__)
REPORT_FILE = "crawl_report.json"
NOT_FOUND = (404, 410)  # Statuses of a page the site does not have (any more).
MAX_URLS = 100  # URLs listed per fault in the report; the counts are complete.


def note_url(stats, key, entry):
    """Appends ``entry`` to the list statistic ``key``, up to ``MAX_URLS`` of them."""
    entries = stats.get_value(key) or []
    if len(entries) < MAX_URLS:
        stats.set_value(key, [*entries, entry])


def _sum(stats, prefix):
    return sum(
        v for k, v in stats.items() if k.startswith(prefix) and isinstance(v, int)
    )


def _under(stats, prefix):
    return {k[len(prefix) :]: v for k, v in stats.items() if k.startswith(prefix)}


def summarize(stats, elapsed):
    """The report dict from Scrapy's stats and the crawl's wall time in seconds."""
    pages = stats.get("response_received_count", 0)
    captions = stats.get("dank/apps/export/captions", 0)
    items = stats.get("item_scraped_count", 0)
    return {
        "finish_reason": stats.get("finish_reason", ""),
        "elapsed_s": round(elapsed, 3),
        "pages": pages,
        "items": items,
        "pages_per_s": round(pages / elapsed, 2) if elapsed else 0.0,
        "items_per_s": round(items / elapsed, 2) if elapsed else 0.0,
        "templates": stats.get("dank/apps/export/templates", 0),
        "captions": captions,
        "images_stored": stats.get("dank/core/images/stored", 0),
        "dropped": _under(stats, "dank/dropped/"),
        "skipped": _under(stats, "dank/skipped/"),
        "tfrecords": _under(stats, "dank/tfrecord/"),
        "faults": {
            "http_5xx": _sum(stats, "downloader/response_status_count/5"),
            "timeouts": sum(
                v
                for k, v in stats.items()
                if k.startswith("downloader/exception_type_count/")
                and k.endswith("TimeoutError")
            ),
            "retries": stats.get("retry/count", 0),
            "retries_given_up": stats.get("retry/max_reached", 0),
            "robots_forbidden": stats.get("robotstxt/forbidden", 0),
            "offsite_filtered": stats.get("offsite/filtered", 0)
            + stats.get("dank/offsite_blocked", 0),
            "duplicate_requests_filtered": stats.get("dupefilter/filtered", 0),
            "pagination_loops": stats.get("dank/pagination_loop", 0),
            "malformed_pages": _sum(stats, "dank/malformed/")
            + stats.get("dank/skipped/no_caption", 0),
            # 404/410 pages by kind ("post", "stream", ...), and their URLs.
            "pages_not_found": _under(stats, "dank/not_found/"),
            "not_found_urls": stats.get("dank/not_found_urls", []),
            # Posts, templates or captions listed again and skipped by the spider
            # (the pipelines' duplicate drops are under "dropped").
            "duplicates_skipped": _under(stats, "dank/duplicate/"),
            "images_not_found": stats.get("dank/core/images/not_found", 0),
            "image_not_found_urls": stats.get("dank/core/images/not_found_urls", []),
            "images_failed": stats.get("dank/core/images/failed", 0),
            "image_failures": stats.get("dank/core/images/failures", []),
            "spider_exceptions": _sum(stats, "spider_exceptions/"),
            "errors_logged": stats.get("log_count/ERROR", 0),
        },
    }


class CrawlReport:
    """Scrapy extension that writes ``crawl_report.json`` at the end of a crawl."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider):
        self.started = time.monotonic()

    def spider_closed(self, spider, reason):
        stats = dict(self.crawler.stats.get_stats())
        stats["finish_reason"] = reason
        report = summarize(stats, time.monotonic() - self.started)
        report["spider"] = spider.name
        report["base_url"] = getattr(spider, "base_url", "")
        report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        out = Path(self.crawler.settings.get("DANK_OUT") or "crawl")
        write_json(out / REPORT_FILE, report)
        logger.info(
            "crawl report: %d pages, %d captions, %d templates in %.1f s "
            "(%.1f pages/s); faults %s",
            report["pages"],
            report["captions"],
            report["templates"],
            report["elapsed_s"],
            report["pages_per_s"],
            {k: v for k, v in report["faults"].items() if v},
        )
