"""Downloader middleware: retries that wait longer each time (exponential backoff).

Scrapy's ``RetryMiddleware`` re-queues a failed request at once; a site that
answers 503 under load deserves a pause. The retried request carries its wait in
``meta["dank_backoff"]`` and this middleware sleeps that long before sending it.
"""

import logging
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.asyncio import sleep

logger = logging.getLogger(__name__)


class BackoffRetryMiddleware(RetryMiddleware):
    """``RetryMiddleware`` plus a wait of ``base * 2**(retry - 1)`` seconds (capped)."""

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("DANK_RETRY_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("DANK_RETRY_BACKOFF_MAX", 60.0)

    def backoff(self, retry_times):
        """Seconds to wait before retry number ``retry_times`` (1, 2, ...)."""
        return min(self.backoff_max, self.backoff_base * 2 ** (retry_times - 1))

    def _retry(self, request, reason):
        retry = super()._retry(request, reason)
        if retry is not None:
            retry.meta["dank_backoff"] = self.backoff(retry.meta.get("retry_times", 1))
        return retry

    async def process_request(self, request, spider=None):
        delay = request.meta.pop("dank_backoff", 0)
        if delay > 0:
            self.crawler.stats.inc_value("dank/retry/backoff_seconds", delay)
            await sleep(delay)
        return None


def on_site(url, domains):
    """True when ``url``'s host (port ignored) is one of ``domains`` or under one."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)


class SiteBoundaryMiddleware:
    """Drops every request whose host is not in the spider's ``allowed_domains``.

    Scrapy's own offsite middleware lets ``dont_filter`` requests through, and a
    retried request is ``dont_filter``: a retry that is then redirected off-site
    would leave the site. This check has no such exception. It runs first
    (priority 10), so not even ``robots.txt`` of another host is fetched.
    """

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request, spider=None):
        domains = getattr(self.crawler.spider, "allowed_domains", None)
        if domains and not on_site(request.url, domains):
            self.crawler.stats.inc_value("dank/offsite_blocked")
            logger.warning(
                "blocked off-site request %s (allowed: %s)", request.url, domains
            )
            raise IgnoreRequest(f"off-site: {request.url}")
        return None
