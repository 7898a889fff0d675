"""imgflip.com: templates, their streams of posts, and each post's caption boxes.

Markup followed (``../shared/data/memes/html/SOURCES.txt``)::

    /memetemplates[?page=N]  div.mt-box > h3.mt-title > a[href=/meme/<Slug>],
                             a.pager-next
    /memetemplate/<Slug>     #mtm-img (src), #mtm-subtitle ("also called: A, B"),
                             #mtm-info p ("Template ID: 112126428")
    /meme/<Slug>[?page=N]    #base-left .base-unit-title a[href=/i/<id>],
                             .pager .pager-next
    /i/<id>                  .img-desc (boxes split on ';'), .img-info .img-views,
                             .img-info .img-votes (absent = 0), #img-title,
                             #img-secondary .recaption (href ends in the template slug)

Top and bottom text come from the post page: the stream's ``img alt`` joins the
boxes with spaces, so they cannot be told apart there.
"""

import json
import re
from urllib.parse import urlsplit

import scrapy

from dank_spiders.items import CaptionItem, TemplateItem
from dank_spiders.spiders.base import SiteSpider, parse_count
from dank_spiders.text import unescape

_TEMPLATE_ID_RE = re.compile(r"Template ID:\s*(\d+)")
_NAME_SUFFIX_RE = re.compile(r"\s+(Meme\s+)?(Template|Generator)\s*$", re.IGNORECASE)
SCORE_TYPE = "imgflip_upvotes"  # As in captions.csv: the post's "img-votes".


def last_segment(url):
    """Last path segment of ``url``: "/meme/Success-Kid?page=2" -> "Success-Kid"."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def split_boxes(text):
    """The ``.img-desc`` box text -> a list of box strings ("A; B" -> ["A", "B"]).

    Entities are unescaped first: the ``;`` ending "&lt;3" is not a separator.
    """
    return [box.strip() for box in unescape(text).split(";")]


def alt_caption(alt):
    """A stream/``mm-rec`` image alt -> ``(title, caption text, tags)``.

    imgflip writes "<title> | <box texts joined by spaces> | image tagged in
    <tags> | made w/ Imgflip meme maker"; the tag and maker parts may be absent.
    """
    parts = [p.strip() for p in (alt or "").split(" | ")]
    if parts and parts[-1].startswith("made w/"):
        parts.pop()
    tags = ""
    if parts and parts[-1].startswith("image tagged in"):
        tags = parts.pop()[len("image tagged in") :].strip()
    title = parts.pop(0) if parts else ""
    return title, " | ".join(parts), tags


def templates_from_script(response):
    """Templates from the inline ``memes=[...]`` JSON of imgflip's ``/memegenerator``.

    Returns:
        Dicts with ``imgflip_id``, ``name``, ``slug``, ``alt_names``, ``width``,
        ``height`` and ``box_count`` (from the default text-box layout; 2 if none).
    """
    script = " ".join(response.xpath("//script[contains(., 'memes=')]/text()").getall())
    match = re.search(r"memes=(\[.*?\]);", script, re.DOTALL)
    if not match:
        return []
    # The stored page marks omitted entries with a JS comment; strip comments.
    text = re.sub(r"/\*.*?\*/", "", match.group(1), flags=re.DOTALL)
    out = []
    for meme in json.loads(text):
        layout = json.loads(meme.get("default_settings") or "[]")
        out.append(
            {
                "imgflip_id": str(meme["id"]),
                "name": meme["name"],
                "slug": meme["url_name"],
                "alt_names": meme.get("altNames", ""),
                "width": meme.get("w"),
                "height": meme.get("h"),
                "box_count": len(layout) or 2,
            }
        )
    return out


def template_from_page(response, slug):
    """A ``TemplateItem`` from a ``/memetemplate/<Slug>`` page, or None."""
    image = response.css("#mtm-img::attr(src)").get()
    title = " ".join(response.css("#mtm-title ::text, h1 ::text").get("").split())
    name = _NAME_SUFFIX_RE.sub("", title) or slug.replace("-", " ")
    subtitle = " ".join(response.css("#mtm-subtitle ::text").getall()).strip()
    alt_names = re.sub(r"^\s*also called:\s*", "", subtitle, flags=re.IGNORECASE)
    info = " ".join(response.css("#mtm-info ::text").getall())
    match = _TEMPLATE_ID_RE.search(info)
    return TemplateItem(
        template_id=f"imgflip-{slug}",
        name=name,
        site="imgflip.com",
        site_url=response.url,
        imgflip_id=match.group(1) if match else "",
        alt_names=" ".join(alt_names.split()),
        image_urls=[response.urljoin(image)] if image else [],
    )


def caption_from_post(response, slug):
    """A ``CaptionItem`` from an ``/i/<id>`` post page, or why it was skipped."""
    if response.css(".img-added-imgs-msg"):
        return "added_images"  # Extra pasted images: not a plain template caption.
    # The box text is the .img-desc text node after its label ("...:"), if any.
    texts = [t.strip() for t in response.css(".img-desc ::text").getall()]
    texts = [t for t in texts if t and not t.endswith(":")]
    if not texts:
        return "no_caption"
    recaption = response.css("#img-secondary .recaption::attr(href)").get()
    info = response.css(".img-info")
    return CaptionItem(
        template_id=f"imgflip-{last_segment(recaption) if recaption else slug}",
        boxes=split_boxes(" ".join(texts)),
        score=parse_count(info.css(".img-votes ::text").get()),
        score_type=SCORE_TYPE,
        views=parse_count(info.css(".img-views ::text").get(), default=None),
        source="imgflip crawl",
        source_ref=response.url,
        image_id=last_segment(response.url),
        title=" ".join(response.css("#img-title ::text").get("").split()),
    )


class ImgflipSpider(SiteSpider):
    """Crawls templates and their posts; each post's upvotes rank its caption."""

    name = "imgflip"
    default_base_url = "https://imgflip.com"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.slugs = set()  # Templates taken from the listing.
        self.posts = set()  # Post ids requested, across all streams.
        self.stream_pages = set()  # Stream page URLs requested.

    async def start(self):
        yield scrapy.Request(
            self.url("/memetemplates"), callback=self.parse, errback=self.page_failed
        )

    def parse(self, response):
        """The template listing: one template page and one stream per template."""
        for box in response.css("div.mt-box"):
            if self.max_templates and len(self.slugs) >= self.max_templates:
                return
            href = box.css("h3.mt-title a::attr(href)").get()
            if not href:
                self.count("malformed/template_box")
                continue
            slug = last_segment(href)
            if slug in self.slugs:
                self.count("duplicate/template")
                continue
            self.slugs.add(slug)
            yield scrapy.Request(
                self.url(f"/memetemplate/{slug}"),
                callback=self.parse_template,
                errback=self.page_failed,
                cb_kwargs={"slug": slug},
            )
            yield from self._stream_page(self.url(f"/meme/{slug}"), slug, 1)
        next_page = response.css(".pager-next::attr(href)").get()
        if next_page:
            yield response.follow(
                next_page, callback=self.parse, errback=self.page_failed
            )

    def parse_template(self, response, slug):
        """A template page -> a ``TemplateItem`` (the image goes to ImagesPipeline)."""
        item = template_from_page(response, slug)
        if not item.image_urls:
            self.count("malformed/template_page")
        yield item

    def _stream_page(self, url, slug, page):
        if url in self.stream_pages:
            self.count("pagination_loop")  # A "next" link back to a page we saw.
            return
        self.stream_pages.add(url)
        yield scrapy.Request(
            url,
            callback=self.parse_stream,
            errback=self.page_failed,
            cb_kwargs={"slug": slug, "page": page},
        )

    def parse_stream(self, response, slug, page):
        """A page of a template's stream: request each new post, then the next page."""
        units = response.css("#base-left .base-unit") or response.css(".base-unit")
        links = []
        new = 0
        for unit in units:
            href = unit.css(".base-unit-title a::attr(href)").get()
            if not href:
                continue
            links.append(href)
            post = last_segment(href)
            if post in self.posts:
                self.count("duplicate/post")  # Listed again, here or in a stream.
                continue
            self.posts.add(post)
            new += 1
            alt = alt_caption(unit.css("img.base-img::attr(alt)").get())[1]
            yield response.follow(
                href,
                callback=self.parse_post,
                errback=self.page_failed,
                cb_kwargs={"slug": slug, "alt": alt},
            )
        if links and not new:
            self.count("pagination_loop")  # Only posts we already have: stop here.
            return
        if self.max_pages and page >= self.max_pages:
            return
        next_page = response.css(".pager .pager-next::attr(href)").get()
        next_page = next_page or response.css("a.pager-next::attr(href)").get()
        if next_page:
            yield from self._stream_page(response.urljoin(next_page), slug, page + 1)

    def parse_post(self, response, slug, alt=""):
        """A post page -> a ``CaptionItem`` with its boxes, upvotes and views."""
        item = caption_from_post(response, slug)
        if isinstance(item, str):
            self.count(f"skipped/{item}")
            return
        joined = " ".join(" ".join(b.split()) for b in item.boxes if b.strip())
        if alt and not " ".join(alt.split()).startswith(joined[:40]):
            self.count("check/stream_alt_mismatch")  # The stream showed other text.
        yield item
