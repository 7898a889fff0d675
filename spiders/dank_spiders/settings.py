"""Scrapy settings for the dank spiders: polite by default.

Everything here can be overridden per run (``scrapy crawl ... -s NAME=VALUE`` or
the ``dank scrape`` flags). The offline tests turn throttling and delays off
against the 127.0.0.1 mirror; real sites get the defaults below.
"""

BOT_NAME = "dank_spiders"
SPIDER_MODULES = ["dank_spiders.spiders"]
NEWSPIDER_MODULE = "dank_spiders.spiders"

# Identify the crawler honestly so a site operator can see who is asking.
USER_AGENT = "dank-spiders/0.1 (research crawler for the dank meme project; polite)"

# Politeness.
ROBOTSTXT_OBEY = True  # Never fetch a path robots.txt disallows.
DOWNLOAD_DELAY = 1.0  # Seconds between requests to one site (randomised 0.5-1.5x).
CONCURRENT_REQUESTS_PER_DOMAIN = 2  # Parallel requests to one site.
AUTOTHROTTLE_ENABLED = True  # Slow down further when the site gets slower.
AUTOTHROTTLE_START_DELAY = 2.0  # Seconds, first delay before latency is known.
AUTOTHROTTLE_MAX_DELAY = 30.0  # Seconds, the most AutoThrottle will wait.
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0  # Requests in flight AutoThrottle aims for.
DOWNLOAD_TIMEOUT = 30  # Seconds before a request counts as timed out (and retried).
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024  # Bytes; bigger responses are cancelled.
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024  # Bytes; bigger responses are logged.

# Retries with exponential backoff (dank_spiders.middlewares.BackoffRetryMiddleware).
RETRY_ENABLED = True
RETRY_TIMES = 3  # Retries after the first attempt.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DANK_RETRY_BACKOFF_BASE = 2.0  # Seconds before the first retry; doubles each time.
DANK_RETRY_BACKOFF_MAX = 60.0  # Seconds, the longest wait before one retry.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "dank_spiders.middlewares.BackoffRetryMiddleware": 550,
    "dank_spiders.middlewares.SiteBoundaryMiddleware": 10,  # Even for retries.
}

# Hard limits so a runaway crawl stops by itself (0 = no limit).
CLOSESPIDER_TIMEOUT = 6 * 3600  # Seconds of crawling.
CLOSESPIDER_PAGECOUNT = 200_000  # Responses downloaded.
CLOSESPIDER_ITEMCOUNT = 500_000  # Items scraped.
CLOSESPIDER_ERRORCOUNT = 1_000  # Errors (spider exceptions) logged.

# An HTTP cache for development: re-running a parser change does not re-fetch.
# Off by default (`dank scrape --http-cache` turns it on) so a real crawl sees
# fresh upvotes.
HTTPCACHE_ENABLED = False
HTTPCACHE_DIR = "httpcache"  # Relative to the project's .scrapy folder.
HTTPCACHE_EXPIRATION_SECS = 7 * 24 * 3600  # One week.
HTTPCACHE_IGNORE_HTTP_CODES = [500, 502, 503, 504, 408, 429]

ITEM_PIPELINES = {
    "dank_spiders.pipelines.CleanPipeline": 100,
    "dank_spiders.images.TemplateImagesPipeline": 200,
    "dank_spiders.pipelines.ExportPipeline": 300,
    "dank_spiders.tfrecords.TFRecordPipeline": 400,
}
EXTENSIONS = {"dank_spiders.report.CrawlReport": 500}

# Output.
DANK_OUT = "crawl"  # The crawl directory (CSV/JSONL, templates/, tfrecords/).
DANK_IMAGE_MAX_BYTES = 8 * 1024 * 1024  # Template images above this are refused.
DANK_IMAGE_MAX_PIXELS = 40_000_000  # width*height above this is refused (bomb guard).
IMAGES_MIN_WIDTH = 64  # Pixels; smaller "templates" are icons, not memes.
IMAGES_MIN_HEIGHT = 64  # Pixels.
IMAGES_EXPIRES = 90  # Days before a stored template image is fetched again.
# A data build (catalogue.json + vocab.json) whose label ids and vocabulary the
# TFRecord writer uses; empty = no TFRecords, only CSV/JSONL.
DANK_TFRECORD_DATA = ""
DANK_TFRECORD_SHARD_SIZE = 1000  # Captions per shard; a shard is renamed when full.

# The paper's memegenerator.net selection (PAPER.md): up to 13 pages of 15
# captions per template from its "popular" list, templates with fewer than 210
# posts skipped.
MEMEGENERATOR_PAGES_PER_TEMPLATE = 13
MEMEGENERATOR_MIN_POSTS = 210

LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False  # No debugging console listening on a local port.
FEED_EXPORT_ENCODING = "utf-8"
DEFAULT_DROPITEM_LOG_LEVEL = "INFO"  # Drops are counted in the crawl report.
