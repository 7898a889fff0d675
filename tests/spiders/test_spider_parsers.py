"""Spider parsers on saved responses: the real imgflip excerpt, hand-written pages."""

import pytest
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from spider_helpers import fixture_text

from dank_spiders.items import CaptionItem, TemplateItem
from dank_spiders.spiders.base import parse_count
from dank_spiders.spiders.imgflip import (
    ImgflipSpider,
    alt_caption,
    caption_from_post,
    split_boxes,
    templates_from_script,
)
from dank_spiders.spiders.memegenerator import MemegeneratorSpider, strip_name

BASE = "https://imgflip.com"


def response(url, name):
    return HtmlResponse(url, body=fixture_text(name), encoding="utf-8")


def make_spider(cls, **kwargs):
    crawler = get_crawler(
        cls, {"MEMEGENERATOR_MIN_POSTS": 210, "MEMEGENERATOR_PAGES_PER_TEMPLATE": 13}
    )
    return cls.from_crawler(crawler, **kwargs)


def test_real_excerpt_alt_text_and_template_json():
    page = response(f"{BASE}/memegenerator", "imgflip_memegenerator_c2018_EXCERPT.html")
    alts = page.css("img.mm-rec::attr(alt)").getall()
    assert len(alts) == 6
    title, caption, tags = alt_caption(alts[1])
    assert title == "plot twist"
    assert caption == (
        "NOT SURE IF I SUCK AT MAKING MEMES OR IF Y'ALL SUCK AT USING THE UPVOTE BUTTON"
    )
    assert tags == "memes,futurama fry,trhtimmy"
    # A ';' inside the title does not end it: the separator is " | ".
    assert alt_caption(alts[5])[0].endswith("and then make a change")
    templates = templates_from_script(page)
    assert [t["slug"] for t in templates] == [
        "Distracted-Boyfriend",
        "One-Does-Not-Simply",
    ]
    assert templates[0]["imgflip_id"] == "112126428"
    assert templates[0]["box_count"] == 3  # Three default text boxes.
    assert templates[1]["box_count"] == 2  # No layout: the usual top/bottom.
    assert templates[0]["alt_names"].startswith("distracted bf")


def test_template_listing_takes_each_template_once_and_paginates():
    spider = make_spider(ImgflipSpider, base_url=BASE)
    out = list(
        spider.parse(
            response(f"{BASE}/memetemplates?page=2", "imgflip_memetemplates.html")
        )
    )
    urls = [r.url for r in out]
    assert urls == [
        f"{BASE}/memetemplate/Drake-Hotline-Bling",
        f"{BASE}/meme/Drake-Hotline-Bling",
        f"{BASE}/memetemplate/Two-Buttons",
        f"{BASE}/meme/Two-Buttons",
        f"{BASE}/memetemplates?page=3",
    ]
    assert spider.crawler.stats.get_value("dank/malformed/template_box") == 1


def test_template_listing_stops_at_max_templates():
    spider = make_spider(ImgflipSpider, base_url=BASE, max_templates=1)
    out = list(
        spider.parse(response(f"{BASE}/memetemplates", "imgflip_memetemplates.html"))
    )
    assert [r.url for r in out] == [
        f"{BASE}/memetemplate/Drake-Hotline-Bling",
        f"{BASE}/meme/Drake-Hotline-Bling",
    ]


def test_template_page():
    spider = make_spider(ImgflipSpider, base_url=BASE)
    url = f"{BASE}/memetemplate/Drake-Hotline-Bling"
    (item,) = spider.parse_template(
        response(url, "imgflip_memetemplate.html"), slug="Drake-Hotline-Bling"
    )
    assert isinstance(item, TemplateItem)
    assert item.template_id == "imgflip-Drake-Hotline-Bling"
    assert item.name == "Drake Hotline Bling"
    assert item.imgflip_id == "181913649"
    assert item.alt_names == "drake yes no, drake no yes, drake & josh"
    assert item.image_urls == [f"{BASE}/s/meme/Drake-Hotline-Bling.jpg"]


def test_stream_page_requests_new_posts_and_next_page():
    spider = make_spider(ImgflipSpider, base_url=BASE)
    url = f"{BASE}/meme/Drake-Hotline-Bling"
    out = list(
        spider.parse_stream(
            response(url, "imgflip_stream.html"), slug="Drake-Hotline-Bling", page=1
        )
    )
    assert [r.url for r in out] == [
        f"{BASE}/i/4a1b2c",
        f"{BASE}/i/4a1b2d",
        f"{BASE}/meme/Drake-Hotline-Bling?page=2",
    ]  # The sidebar post and the repeated one are not taken.
    assert out[0].cb_kwargs["alt"] == (
        "FIXING THE BUG CAUSING THE TEST TO FAIL DELETING THE TEST"
    )
    # The same page again (a pagination loop): no requests, counted.
    again = list(
        spider.parse_stream(
            response(url + "?page=9", "imgflip_stream.html"),
            slug="Drake-Hotline-Bling",
            page=2,
        )
    )
    assert again == []
    assert spider.crawler.stats.get_value("dank/pagination_loop") == 1


def test_stream_stops_at_max_pages():
    spider = make_spider(ImgflipSpider, base_url=BASE, max_pages=1)
    out = list(
        spider.parse_stream(
            response(f"{BASE}/meme/X", "imgflip_stream.html"), slug="X", page=1
        )
    )
    assert all("/i/" in r.url for r in out)


def test_post_page_keeps_top_and_bottom_apart():
    url = f"{BASE}/i/4a1b2c"
    item = caption_from_post(response(url, "imgflip_post.html"), "fallback")
    assert isinstance(item, CaptionItem)
    assert item.boxes == [
        "FIXING THE BUG CAUSING THE TEST TO FAIL",
        "DELETING THE TEST & SHIPPING",
    ]
    assert (item.score, item.views) == (678, 12345)
    assert item.template_id == "imgflip-Drake-Hotline-Bling"  # From .recaption.
    assert (item.image_id, item.source_ref) == ("4a1b2c", url)
    assert item.title == "when the build passes"
    assert item.score_type == "imgflip_upvotes"


def test_post_page_without_votes_and_skipped_posts():
    body = fixture_text("imgflip_post.html").replace(
        b'<span class="img-votes" title="Upvotes">678 upvotes</span>', b""
    )
    item = caption_from_post(
        HtmlResponse(f"{BASE}/i/x", body=body, encoding="utf-8"), "s"
    )
    assert item.score == 0  # Absent img-votes means no upvotes.
    added = response(f"{BASE}/i/y", "imgflip_post_added_images.html")
    assert caption_from_post(added, "s") == "added_images"
    broken = HtmlResponse(
        f"{BASE}/i/z", body=b"<html><div class='img-d", encoding="utf-8"
    )
    assert caption_from_post(broken, "s") == "no_caption"


def test_helpers():
    assert split_boxes("A;B; ;C") == ["A", "B", "", "C"]
    assert parse_count("2,426 views") == 2426
    assert parse_count("-3") == -3
    assert parse_count(None, default=None) is None
    assert strip_name("Success Kid - went  to bed", "Success Kid") == "went to bed"
    assert strip_name("no prefix here", "Success Kid") == "no prefix here"
    with pytest.raises(ValueError, match="base_url"):
        make_spider(ImgflipSpider, base_url="ftp://imgflip.com")


def test_memegenerator_listing_applies_the_papers_min_posts():
    spider = make_spider(MemegeneratorSpider, base_url="https://memegenerator.net")
    page = response(
        "https://memegenerator.net/memes/popular/alltime", "memegenerator_popular.html"
    )
    out = list(spider.parse(page, page=1))
    templates = [x for x in out if isinstance(x, TemplateItem)]
    assert [t.template_id for t in templates] == ["mgnet-success-kid", "mgnet-y-u-no"]
    assert templates[0].n_posts == 158290
    assert templates[0].image_urls == ["https://cdn.meme.am/images/300x300/1031.jpg"]
    assert templates[1].image_urls == ["https://memegenerator.net/images/300x300/2.jpg"]
    requests = [x.url for x in out if not isinstance(x, TemplateItem)]
    assert requests == [
        "https://memegenerator.net/Success-Kid/images/popular/alltime",
        "https://memegenerator.net/Y-U-No/images/popular/alltime",
        "https://memegenerator.net/memes/popular/alltime/page/2",
    ]
    assert spider.crawler.stats.get_value("dank/skipped/few_posts") == 1


def test_memegenerator_captions_and_page_limit():
    spider = make_spider(MemegeneratorSpider, base_url="https://memegenerator.net")
    url = "https://memegenerator.net/Success-Kid/images/popular/alltime/page/13"
    out = list(
        spider.parse_captions(
            response(url, "memegenerator_captions.html"),
            slug="Success-Kid",
            name="Success Kid",
            page=13,
        )
    )
    assert [(c.boxes, c.score, c.image_id) for c in out] == [
        (["went to bed early woke up early"], 1204, "11111111"),
        (["found a &euro;20 note"], -3, "22222222"),  # Unescaped once by the parser.
    ]  # Page 13 is the paper's last: no request for page 14.
    assert out[0].template_id == "mgnet-success-kid"
    assert out[0].source_ref == "https://memegenerator.net/instance/11111111"
