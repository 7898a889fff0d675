"""Pipelines, middlewares and the report, without a network."""

import csv
import io
import json
import random

import pytest
from PIL import Image
from scrapy.exceptions import DropItem, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.pipelines.images import ImageException
from scrapy.utils.test import get_crawler
from spider_helpers import project_settings

from dank.data.sources import CAPTION_HEADER
from dank_spiders.crawl_dir import read_log
from dank_spiders.images import TemplateImagesPipeline
from dank_spiders.items import CaptionItem, TemplateItem
from dank_spiders.middlewares import (
    BackoffRetryMiddleware,
    SiteBoundaryMiddleware,
    on_site,
)
from dank_spiders.pipelines import CleanPipeline, ExportPipeline, export_tables
from dank_spiders.report import summarize
from dank_spiders.spiders.imgflip import ImgflipSpider
from dank_spiders.text import clean_boxes, clean_text


def caption(boxes, image_id="a", template_id="imgflip-X", score=1):
    return CaptionItem(
        template_id=template_id,
        boxes=list(boxes),
        score=score,
        score_type="imgflip_upvotes",
        source="imgflip crawl",
        source_ref=f"http://x/i/{image_id}",
        image_id=image_id,
        views=5,
    )


def crawler_for(tmp_path, **settings):
    return get_crawler(
        ImgflipSpider, project_settings(DANK_OUT=str(tmp_path), **settings)
    )


def test_clean_text():
    assert clean_text("  Y&amp;#039;ALL\n  know&nbsp;it ") == "Y'ALL know it"
    assert clean_boxes(["a ", " b", "", ""]) == ["a", "b"]
    assert clean_boxes(["", ""]) == ["", ""]


def test_clean_pipeline_drops_and_counts_each_reason(tmp_path):
    crawler = crawler_for(tmp_path)
    pipe = CleanPipeline.from_crawler(crawler)
    pipe.open_spider()
    kept = pipe.process_item(caption(["  HELLO &amp; bye ", "there", ""], "a"))
    assert kept.boxes == ["HELLO & bye", "there"]
    for item, reason in [
        (caption([" ", ""], "b"), "empty"),
        (caption(["other"], "a"), "duplicate_image"),
        (caption(["hello & BYE", "There"], "c"), "duplicate_caption"),
    ]:
        with pytest.raises(DropItem, match=reason):
            pipe.process_item(item)
        assert crawler.stats.get_value(f"dank/dropped/{reason}") == 1
    # Same text on another template is a different caption.
    assert pipe.process_item(caption(["hello & bye", "there"], "d", "imgflip-Y"))
    template = TemplateItem("imgflip-X", "X &amp; Y", "imgflip.com", "u")
    assert pipe.process_item(template).name == "X & Y"
    with pytest.raises(DropItem, match="duplicate_template"):
        pipe.process_item(TemplateItem("imgflip-X", "X", "imgflip.com", "u"))


def test_export_ranks_by_score_and_resume_remembers(tmp_path):
    crawler = crawler_for(tmp_path)
    export = ExportPipeline.from_crawler(crawler)
    export.open_spider()
    export.process_item(TemplateItem("imgflip-X", "X", "imgflip.com", "u"))
    export.process_item(caption(["low", ""], "a", score=2))
    export.process_item(caption(["high", "b", "c; d"], "b", score=50))
    export.process_item(caption(["orphan"], "c", template_id="imgflip-Orphan-Meme"))
    export.close_spider()
    with open(tmp_path / "captions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["top"] for r in rows] == ["orphan", "high", "low"]  # By template, score.
    assert rows[1]["extra_boxes_json"] == '["c; d"]' and rows[1]["n_boxes"] == "3"
    assert tuple(rows[0]) == CAPTION_HEADER
    with open(tmp_path / "templates.csv", newline="") as f:
        templates = {r["template_id"]: r for r in csv.DictReader(f)}
    assert templates["imgflip-Orphan-Meme"]["name"] == "Orphan Meme"
    assert templates["imgflip-X"]["n_captions"] == "2"
    assert templates["imgflip-X"]["image_file"] == ""  # No image was stored.
    # A torn last line (killed mid-write) is ignored, then cut on resume.
    with open(tmp_path / "captions.jsonl", "a") as f:
        f.write('{"template_id": "imgflip-X", "bo')
    assert len(read_log(tmp_path / "captions.jsonl")) == 3
    clean = CleanPipeline.from_crawler(crawler_for(tmp_path))
    clean.open_spider()
    with pytest.raises(DropItem, match="duplicate_image"):
        clean.process_item(caption(["new text"], "b"))
    again = ExportPipeline.from_crawler(crawler_for(tmp_path))
    again.open_spider()
    again.process_item(caption(["fresh"], "z"))
    again.close_spider()
    assert len(read_log(tmp_path / "captions.jsonl")) == 4
    assert export_tables(tmp_path) == (2, 4)


def image_bytes(size=(100, 80), fmt="PNG"):
    buffer = io.BytesIO()
    noise = random.Random(0).randbytes(size[0] * size[1] * 3)  # Does not compress.
    Image.frombytes("RGB", size, noise).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def images_pipe(tmp_path):
    return TemplateImagesPipeline.from_crawler(crawler_for(tmp_path))


def image_response(body, content_type=b"image/png"):
    url = "http://127.0.0.1/img/X.png"
    return Response(
        url, body=body, headers={"Content-Type": content_type}, request=Request(url)
    )


def test_images_pipeline_keeps_original_bytes_under_the_template_id(images_pipe):
    item = TemplateItem("imgflip-X", "X", "imgflip.com", "u")
    good = image_bytes()
    response = image_response(good)
    ((path, image, buf),) = images_pipe.get_images(
        response, response.request, None, item=item
    )
    assert path == "templates/imgflip-X.png"
    assert image.size == (100, 80)
    assert buf.getvalue() == good


@pytest.mark.parametrize(
    "body, content_type, message",
    [
        (image_bytes(), b"text/html", "not an image"),
        (image_bytes()[:12000], b"image/png", "truncated"),
        (b"<html>nope</html>", b"image/png", "not an image"),
        (image_bytes((20, 20)), b"image/png", "too small"),
        (image_bytes() + b"\0" * (9 * 2**20), b"image/png", "bytes is over"),
    ],
)
def test_images_pipeline_refuses_bad_images(images_pipe, body, content_type, message):
    item = TemplateItem("imgflip-X", "X", "imgflip.com", "u")
    response = image_response(body, content_type)
    with pytest.raises(ImageException, match=message):
        list(images_pipe.get_images(response, response.request, None, item=item))


def test_backoff_doubles_up_to_the_cap():
    crawler = get_crawler(
        ImgflipSpider, {"DANK_RETRY_BACKOFF_BASE": 1.5, "DANK_RETRY_BACKOFF_MAX": 5}
    )
    middleware = BackoffRetryMiddleware.from_crawler(crawler)
    assert [middleware.backoff(n) for n in (1, 2, 3, 4)] == [1.5, 3.0, 5, 5]


def test_site_boundary_blocks_even_dont_filter_requests():
    assert on_site("http://127.0.0.1:8000/x", ["127.0.0.1"])
    assert on_site("https://i.imgflip.com/a.jpg", ["imgflip.com"])
    assert not on_site("http://localhost:8000/x", ["127.0.0.1"])
    assert not on_site("https://evilimgflip.com/", ["imgflip.com"])
    crawler = get_crawler(ImgflipSpider)
    crawler.spider = ImgflipSpider.from_crawler(crawler, base_url="http://127.0.0.1:9/")
    middleware = SiteBoundaryMiddleware.from_crawler(crawler)
    assert middleware.process_request(Request("http://127.0.0.1:9/i/a")) is None
    with pytest.raises(IgnoreRequest):
        middleware.process_request(Request("http://localhost:9/i/a", dont_filter=True))
    assert crawler.stats.get_value("dank/offsite_blocked") == 1


def test_report_summary():
    stats = {
        "response_received_count": 40,
        "item_scraped_count": 20,
        "downloader/response_status_count/500": 3,
        "downloader/response_status_count/503": 1,
        "downloader/exception_type_count/scrapy.exceptions.DownloadTimeoutError": 2,
        "robotstxt/forbidden": 1,
        "dank/dropped/empty": 4,
        "dank/apps/export/captions": 16,
        "dank/malformed/template_box": 1,
        "dank/skipped/no_caption": 1,
    }
    report = summarize(stats, elapsed=4.0)
    assert (report["pages_per_s"], report["items_per_s"]) == (10.0, 5.0)
    assert report["faults"]["http_5xx"] == 4
    assert report["faults"]["timeouts"] == 2
    assert report["faults"]["malformed_pages"] == 2
    assert report["dropped"] == {"empty": 4}
    json.dumps(report)  # The report must be JSON.


def test_tfrecord_shards_are_whole_and_resume_after_an_interruption(tmp_path):
    from dank_spiders.tfrecords import LogShards, lines_done

    log, shards = tmp_path / "captions.jsonl", tmp_path / "tfrecords"
    shards.mkdir()

    def append(numbers, torn=False):
        with log.open("a") as f:
            for n in numbers:
                f.write(json.dumps({"n": n}) + "\n")
            if torn:
                f.write('{"n": 9')  # A line still being written.

    def encode(row):
        return b"x" if row["n"] % 7 else "skipped"

    append(range(15), torn=True)
    writer = LogShards(log, shards, "captions", 10, encode)
    writer.poll()
    assert [p.name for p in shards.iterdir()] == [
        "crawl-captions-00000000-00000010.tfrecord"
    ]
    assert len(writer.pending) == 5  # Not yet a full shard; the torn line unread.
    # The crawl is killed here: no close(). On resume the log has been repaired.
    log.write_bytes(log.read_bytes()[: log.read_bytes().rfind(b"\n") + 1])
    append(range(15, 25))
    resumed = LogShards(log, shards, "captions", 10, encode)
    assert resumed.done == 10 and len(resumed.pending) == 15
    resumed.close()
    assert sorted(p.name for p in shards.iterdir()) == [
        "crawl-captions-00000000-00000010.tfrecord",
        "crawl-captions-00000010-00000020.tfrecord",
        "crawl-captions-00000020-00000025.tfrecord",
    ]
    assert lines_done(shards, "captions") == 25
    assert resumed.skipped == {"skipped": 2}  # Lines 14 and 21 (7 and 0 were before).
    import tensorflow as tf

    records = tf.data.TFRecordDataset([str(p) for p in sorted(shards.iterdir())])
    assert sum(1 for _ in records) == 25 - 4  # 0, 7, 14, 21 made no record.
