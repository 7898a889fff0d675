"""Faults of the spiders, on saved responses (no network, no mirror).

Issue 25: "&lt;3" was split on its ";" before being unescaped, so one box
became two; a 404 image was only a "download-error"; 404 pages and posts
listed twice were not counted in the crawl report.
"""

import asyncio
import types
from pathlib import Path

import pytest

pytest.importorskip("scrapy")

from scrapy.http import HtmlResponse, Request, Response  # noqa: E402
from scrapy.spidermiddlewares.httperror import HttpError  # noqa: E402
from scrapy.utils.test import get_crawler  # noqa: E402
from twisted.python.failure import Failure  # noqa: E402

from dank_spiders.images import TemplateImagesPipeline  # noqa: E402
from dank_spiders.items import TemplateItem  # noqa: E402
from dank_spiders.report import MAX_URLS, summarize  # noqa: E402
from dank_spiders.spiders.imgflip import (  # noqa: E402
    ImgflipSpider,
    caption_from_post,
    split_boxes,
)
from dank_spiders.spiders.memegenerator import MemegeneratorSpider  # noqa: E402
from dank_spiders.text import clean_boxes  # noqa: E402

BASE = "https://imgflip.com"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def make_spider(cls, **settings):
    crawler = get_crawler(cls, {"MEMEGENERATOR_MIN_POSTS": 1, **settings})
    return cls.from_crawler(crawler, base_url=BASE)


def post(desc):
    body = (
        "<html><body><div class='img-desc'><b>IMAGE DESCRIPTION:</b><br/>"
        f"{desc}</div></body></html>"
    )
    return HtmlResponse(f"{BASE}/i/abc", body=body.encode(), encoding="utf-8")


@pytest.mark.parametrize(
    "desc, boxes",
    [
        ("I &amp;lt;3 MEMES; ME TOO", ["I <3 MEMES", "ME TOO"]),  # Escaped twice.
        ("I &lt;3 MEMES; ME TOO", ["I <3 MEMES", "ME TOO"]),
        ("A &amp;amp; B; C&amp;#039;S", ["A & B", "C'S"]),
        ("5 &amp;gt; 3;", ["5 > 3", ""]),
    ],
)
def test_entities_are_unescaped_before_boxes_are_split(desc, boxes):
    item = caption_from_post(post(desc), "X")
    assert clean_boxes(item.boxes) == boxes
    assert split_boxes("&lt;3; x") == ["<3", "x"]


def _http_error(status, url, callback):
    request = Request(url, callback=callback)
    response = Response(url, status=status, request=request)
    failure = Failure(HttpError(response, f"HTTP {status}"))
    failure.request = request
    return failure


def test_404_pages_are_counted_by_kind_with_their_urls():
    spider = make_spider(ImgflipSpider)
    stats = spider.crawler.stats
    for i in range(MAX_URLS + 2):
        url = f"{BASE}/i/gone{i}"
        assert spider.page_failed(_http_error(404, url, spider.parse_post)) == []
    gone = _http_error(410, f"{BASE}/meme/X", spider.parse_stream)
    assert spider.page_failed(gone) == []
    assert stats.get_value("dank/not_found/post") == MAX_URLS + 2
    assert stats.get_value("dank/not_found/stream") == 1
    urls = stats.get_value("dank/not_found_urls")
    assert urls[0] == f"{BASE}/i/gone0" and len(urls) == MAX_URLS
    # Other failures go on to Scrapy, which counts them (5xx, retries).
    server_error = _http_error(500, f"{BASE}/i/x", spider.parse_post)
    assert spider.page_failed(server_error) is server_error
    report = summarize(dict(stats.get_stats()), elapsed=1.0)
    assert report["faults"]["pages_not_found"]["post"] == MAX_URLS + 2
    assert report["faults"]["not_found_urls"][0] == f"{BASE}/i/gone0"


def test_every_page_request_counts_its_404():
    spider = make_spider(ImgflipSpider)
    body = (FIXTURES / "imgflip_stream.html").read_bytes()
    stream = HtmlResponse(f"{BASE}/meme/X", body=body, encoding="utf-8")
    requests = list(spider.parse_stream(stream, slug="X", page=1))
    assert requests and all(r.errback == spider.page_failed for r in requests)


def test_posts_and_templates_listed_twice_are_counted():
    spider = make_spider(ImgflipSpider)
    body = (FIXTURES / "imgflip_stream.html").read_bytes()
    stream = HtmlResponse(f"{BASE}/meme/X", body=body, encoding="utf-8")
    list(spider.parse_stream(stream, slug="X", page=1))
    stats = spider.crawler.stats
    assert stats.get_value("dank/duplicate/post") == 1  # Repeated on the page.
    list(spider.parse_stream(stream.replace(url=f"{BASE}/meme/Y"), slug="Y", page=1))
    assert stats.get_value("dank/duplicate/post") == 4  # All three again.
    listing = HtmlResponse(
        f"{BASE}/memetemplates",
        body=(FIXTURES / "imgflip_memetemplates.html").read_bytes(),
        encoding="utf-8",
    )
    list(spider.parse(listing))
    list(spider.parse(listing.replace(url=f"{BASE}/memetemplates?page=2")))
    assert stats.get_value("dank/duplicate/template") >= 1
    report = summarize(dict(stats.get_stats()), elapsed=1.0)
    assert report["faults"]["duplicates_skipped"]["post"] == 4

    mg = make_spider(MemegeneratorSpider)
    captions = HtmlResponse(
        "https://memegenerator.net/S/images/popular/alltime",
        body=(FIXTURES / "memegenerator_captions.html").read_bytes(),
        encoding="utf-8",
    )
    first = list(mg.parse_captions(captions, slug="S", name="S", page=1))
    list(mg.parse_captions(captions, slug="S", name="S", page=2))
    n = sum(1 for r in first if not isinstance(r, Request))
    assert mg.crawler.stats.get_value("dank/duplicate/caption") == n


def test_404_image_is_its_own_fault_with_its_url(tmp_path):
    crawler = get_crawler(ImgflipSpider, {"DANK_OUT": str(tmp_path)})
    pipe = TemplateImagesPipeline.from_crawler(crawler)
    item = TemplateItem("imgflip-X", "X", "imgflip.com", "u")
    info = types.SimpleNamespace(spider=None)
    results = []
    for url, status in ((f"{BASE}/gone.jpg", 404), (f"{BASE}/err.jpg", 403)):
        item.image_urls.append(url)
        request = Request(url)
        response = Response(url, status=status, request=request)
        with pytest.raises(Exception, match="download-error") as raised:
            asyncio.run(pipe.media_downloaded(response, request, info, item=item))
        results.append((False, Failure(raised.value)))
    pipe.item_completed(results, item, info)
    report = summarize(dict(crawler.stats.get_stats()), elapsed=1.0)["faults"]
    assert report["images_not_found"] == 1
    assert report["image_not_found_urls"] == [f"imgflip-X: {BASE}/gone.jpg"]
    assert report["images_failed"] == 1
    assert report["image_failures"] == ["imgflip-X: HTTP 403"]


SITE = {
    "memetemplates": "<div class='mt-box'><h3 class='mt-title'>"
    "<a href='/meme/X'>X</a></h3></div>",
    "memetemplate/X": "<h1>X Meme Template</h1><img id='mtm-img' src='/img/gone.jpg'>",
    "meme/X": "<div id='base-left'>"
    + "".join(
        f"<div class='base-unit'><h2 class='base-unit-title'><a href='/i/{p}'>t</a>"
        "</h2></div>"
        for p in ("a", "gone", "a")
    )
    + "</div>",
    "i/a": "<div class='img-desc'>I &amp;lt;3 U; ME TOO</div>"
    "<div class='img-info'><span class='img-votes'>7 upvotes</span></div>"
    "<div id='img-secondary'><a class='recaption' href='/memegenerator/X'>c</a></div>",
}


def test_crawl_reports_missing_post_and_image_and_duplicates(tmp_path):
    """The same faults through Scrapy itself, against a static loopback site."""
    import http.server
    import json
    import os
    import subprocess
    import sys
    import threading

    root = tmp_path / "site"
    for path, body in SITE.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(f"<html><body>{body}</body></html>")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def guess_type(self, path):
            return "text/html; charset=utf-8"

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = tmp_path / "crawl"
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:  # A subprocess: Twisted's reactor cannot restart in this one.
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "dank",
                "scrape",
                "imgflip",
                "--base-url",
                base,
                "--out",
                str(out),
                "--no-throttle",
                "-s",
                "LOG_LEVEL=WARNING",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / "crawl_report.json").read_text())
    faults = report["faults"]
    assert faults["pages_not_found"] == {"post": 1}
    assert faults["not_found_urls"][0].endswith("/i/gone")
    assert faults["images_not_found"] == 1 and faults["images_failed"] == 0
    assert faults["image_not_found_urls"] == [f"imgflip-X: {base}/img/gone.jpg"]
    assert faults["duplicates_skipped"] == {"post": 1}
    captions = (out / "captions.csv").read_text()
    assert "I <3 U,ME TOO" in captions
