"""Runs one crawl of a spider from ``dank_spiders`` and returns its report.

The Scrapy project is the ``dank_spiders`` package (``spiders/dank_spiders``),
installed with ``dank`` itself; it needs Scrapy, which only the ``spiders``
and ``dev`` extras bring.

The Twisted reactor cannot restart, so ``run_crawl`` works once per process;
tests and benchmarks call it in a subprocess (``python -m dank scrape ...``).
"""

import ipaddress
import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from dank.core.errors import DankError
from dank.core.io import read_json
from dank.core.progress import Progress

SPIDERS = ("imgflip", "memegenerator")
REAL_SITES = {
    "imgflip": "https://imgflip.com",
    "memegenerator": "https://memegenerator.net",
}
REPORT_FILE = "crawl_report.json"


def is_loopback(url):
    """True when ``url``'s host is this machine (127.0.0.0/8, ::1, localhost)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def crawl_settings(
    out, throttle=True, jobdir=None, tfrecord_data=None, http_cache=False, extra=None
):
    """Scrapy setting overrides for one crawl (on top of ``dank_spiders.settings``)."""
    settings = {"DANK_OUT": str(out)}
    if not throttle:  # Only for a local mirror: full speed, quick retries.
        settings.update(
            AUTOTHROTTLE_ENABLED=False,
            DOWNLOAD_DELAY=0,
            CONCURRENT_REQUESTS_PER_DOMAIN=16,
            DANK_RETRY_BACKOFF_BASE=0.05,
        )
    if jobdir:
        settings["JOBDIR"] = str(jobdir)
    if tfrecord_data:
        data = Path(tfrecord_data)
        if (
            not (data / "catalogue.json").is_file()
            or not (data / "vocab.json").is_file()
        ):
            raise DankError(
                f"{data} is not a data build (needs catalogue.json and vocab.json); "
                "run `dank data build` first or drop --tfrecords-from"
            )
        settings["DANK_TFRECORD_DATA"] = str(data)
    if http_cache:  # Kept in the crawl directory, not in the current folder.
        settings.update(
            HTTPCACHE_ENABLED=True, HTTPCACHE_DIR=str(Path(out).resolve() / "httpcache")
        )
    settings.update(extra or {})
    return settings


class CrawlProgress:
    """Shows a crawl's templates and captions as they are scraped (``Progress``).

    Connected to Scrapy's ``item_scraped`` signal. ``max_templates`` (0: all)
    is the total when given, so the bar has an ETA; captions are the note.
    """

    def __init__(self, max_templates=0, **options):
        self.captions = 0
        self.progress = Progress("crawl", max_templates or None, "templates", **options)

    def item_scraped(self, item):
        # The spiders' items (spiders/dank_spiders/items.py): TemplateItem or
        # CaptionItem; only caption items have boxes.
        if hasattr(item, "boxes"):
            self.captions += 1
            self.progress.update(0, note=f"{self.captions:,} captions")
        else:
            self.progress.update()

    def close(self):
        self.progress.close()


def run_crawl(spider, out, base_url=None, max_templates=0, max_pages=0, **options):
    """Crawls with ``spider`` into ``out`` and returns the crawl report dict.

    Args:
        spider: ``"imgflip"`` or ``"memegenerator"``.
        out: the crawl directory (created).
        base_url: the site root; defaults to the real site.
        max_templates: templates to take (0 = all).
        max_pages: caption pages per template (0 = the spider's default).
        **options: passed to ``crawl_settings`` (throttle, jobdir, tfrecord_data,
            http_cache, extra).

    Raises:
        DankError: unknown spider, bad URL, throttling off for a non-local
            site, Scrapy missing, or a crawl that wrote no report.
    """
    if spider not in SPIDERS:
        raise DankError(
            f"unknown spider {spider!r}; choose one of {', '.join(SPIDERS)}"
        )
    base_url = base_url or REAL_SITES[spider]
    if (
        urlsplit(base_url).scheme not in ("http", "https")
        or not urlsplit(base_url).hostname
    ):
        raise DankError(f"--base-url {base_url!r} is not an http(s) URL")
    if not options.get("throttle", True) and not is_loopback(base_url):
        raise DankError(
            f"--no-throttle is only for a local mirror, not {base_url}; "
            "real sites get the polite defaults"
        )
    try:
        import scrapy  # noqa: F401
    except ImportError as e:
        raise DankError("Scrapy is not installed; pip install -e '.[spiders]'") from e
    os.environ["SCRAPY_SETTINGS_MODULE"] = "dank_spiders.settings"
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    out = Path(out)
    report = out / REPORT_FILE
    report.unlink(missing_ok=True)
    settings = get_project_settings()
    settings.setdict(crawl_settings(out, **options), priority="cmdline")
    # One set of log handlers: the dank command's when it has them (filtered at
    # Scrapy's LOG_LEVEL, since Scrapy opens the root logger to every level),
    # else Scrapy's own.
    handlers = logging.getLogger().handlers
    for handler in handlers:
        handler.setLevel(settings.get("LOG_LEVEL", "INFO"))
    settings.set("LOG_INSTALL_ROOT_HANDLER", not handlers, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider)
    progress = CrawlProgress(max_templates)
    crawler.signals.connect(progress.item_scraped, signal=signals.item_scraped)
    process.crawl(
        crawler, base_url=base_url, max_templates=max_templates, max_pages=max_pages
    )
    process.start()
    progress.close()
    if not report.is_file():
        raise DankError(
            f"the {spider} crawl wrote no report in {out}; see the log above"
        )
    return read_json(report, what="crawl report")
