"""What both spiders share: the ``-a`` arguments, the site boundary, number parsing."""

import re
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.spidermiddlewares.httperror import HttpError

from dank_spiders.report import NOT_FOUND, note_url

_NUMBER_RE = re.compile(r"-?\d[\d,]*")
# Callback name -> the kind of page, as the crawl report names it.
PAGE_KINDS = {
    "parse": "listing",
    "parse_template": "template",
    "parse_stream": "stream",
    "parse_post": "post",
    "parse_captions": "captions",
}


def parse_count(text, default=0):
    """First number in ``text`` ("2,426 views" -> 2426), or ``default``."""
    match = _NUMBER_RE.search(text or "")
    return int(match.group().replace(",", "")) if match else default


class SiteSpider(scrapy.Spider):
    """A spider bound to one site given by ``-a base_url=...``.

    Args (``-a NAME=VALUE``):
        base_url: the site root, e.g. ``https://imgflip.com`` or a local mirror.
        max_templates: templates to take from the listing (0 = all).
        max_pages: caption listing pages per template (0 = the site default).

    ``allowed_domains`` is set to the base URL's host, so Scrapy's offsite
    middleware drops every request (and redirect) that leaves the site.
    """

    default_base_url = ""  # Subclasses: the real site.

    def __init__(self, base_url=None, max_templates=0, max_pages=0, **kwargs):
        super().__init__(**kwargs)
        self.base_url = (base_url or self.default_base_url).rstrip("/") + "/"
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"base_url must be an http(s) URL with a host, got {base_url!r}"
            )
        self.allowed_domains = [parts.hostname]
        self.max_templates = int(max_templates)
        self.max_pages = int(max_pages)
        if self.max_templates < 0 or self.max_pages < 0:
            raise ValueError("max_templates and max_pages must be >= 0 (0 = no limit)")

    def url(self, path):
        """Absolute URL of ``path`` on this site."""
        return urljoin(self.base_url, path.lstrip("/"))

    def count(self, key, n=1):
        """Adds ``n`` to the crawl statistic ``dank/<key>`` (shown in the report)."""
        self.crawler.stats.inc_value(f"dank/{key}", n)

    def page_failed(self, failure):
        """Errback of every page request: counts and lists pages that are gone.

        A 404 (or 410) page becomes ``dank/not_found/<kind>`` with its URL in
        ``dank/not_found_urls``; other failures go on to Scrapy, whose stats
        count retries, timeouts and 5xx.
        """
        if not failure.check(HttpError):
            return failure
        response = failure.value.response
        if response.status not in NOT_FOUND:
            return failure
        request = getattr(failure, "request", None) or response.request
        kind = PAGE_KINDS.get(getattr(request.callback, "__name__", ""), "page")
        self.count(f"not_found/{kind}")
        note_url(self.crawler.stats, "dank/not_found_urls", request.url)
        self.logger.info(
            "%s not found (HTTP %d): %s", kind, response.status, request.url
        )
        return []
