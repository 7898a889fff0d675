"""memegenerator.net, the paper's source: popular templates, then their top captions.

The site is gone; this spider keeps the markup scraped in 2018-2020
(``../shared/data/memes/html/SOURCES.txt``) and the paper's selection rules
(settings ``MEMEGENERATOR_PAGES_PER_TEMPLATE`` = 13 pages of about 15 captions,
``MEMEGENERATOR_MIN_POSTS`` = 210)::

    /memes/popular/alltime[/page/N]           .char-img > a[href=/<Slug>] > img
                                              (alt = name, src = template image),
                                              .char-stat-images ("1,234 Posts")
    /<Slug>/images/popular/alltime[/page/N]   .char-img > a[href=/instance/<id>] > img
                                              (alt = "<Name> - <caption>"),
                                              div[class*=score] (vote score)

The caption is the image alt text with top and bottom joined and no separator,
exactly what the paper had, so it is exported as a one-box caption.
"""

import scrapy

from dank_spiders.items import CaptionItem, TemplateItem
from dank_spiders.spiders.base import SiteSpider, parse_count
from dank_spiders.spiders.imgflip import last_segment

SCORE_TYPE = "memegenerator_votes"  # The instance's vote score on the site.
LISTING = "/memes/popular/alltime"
CAPTIONS = "/{slug}/images/popular/alltime"


def paged(path, page):
    """The URL path of page ``page`` (1-based) of a memegenerator listing."""
    return path if page == 1 else f"{path}/page/{page}"


def following_text(tile, css_class):
    """Text of the first ``div`` after ``tile`` whose class contains ``css_class``."""
    texts = tile.xpath(
        f"following::div[contains(@class, '{css_class}')][1]//text()"
    ).getall()
    return " ".join(" ".join(texts).split())


def strip_name(alt, name):
    """ "Success Kid - went to bed early" -> "went to bed early"."""
    alt = " ".join((alt or "").split())
    prefix = f"{name} - "
    return alt[len(prefix) :] if alt.lower().startswith(prefix.lower()) else alt


class MemegeneratorSpider(SiteSpider):
    """Popular templates (``MEMEGENERATOR_MIN_POSTS`` or more), top captions of each."""

    name = "memegenerator"
    default_base_url = "https://memegenerator.net"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.slugs = set()  # Templates taken.
        self.listed = set()  # Templates seen on a listing (taken or not).
        self.instances = set()  # Caption instance ids seen.

    async def start(self):
        yield self._listing(1)

    def _listing(self, page):
        return scrapy.Request(
            self.url(paged(LISTING, page)),
            callback=self.parse,
            errback=self.page_failed,
            cb_kwargs={"page": page},
        )

    def parse(self, response, page=1):
        """A popular-templates page: one TemplateItem and a caption crawl each."""
        settings = self.crawler.settings
        min_posts = settings.getint("MEMEGENERATOR_MIN_POSTS")
        tiles = response.css(".char-img")
        new = 0
        for tile in tiles:
            if self.max_templates and len(self.slugs) >= self.max_templates:
                return
            href = tile.css("a::attr(href)").get()
            if not href:
                self.count("malformed/template_tile")
                continue
            slug = last_segment(href)
            if slug in self.listed:
                self.count("duplicate/template")
                continue
            self.listed.add(slug)
            new += 1
            posts = parse_count(following_text(tile, "char-stat-images"))
            if posts < min_posts:
                self.count("skipped/few_posts")  # The paper's rule.
                continue
            self.slugs.add(slug)
            name = " ".join(tile.css("img::attr(alt)").get("").split())
            name = name or slug.replace("-", " ")
            image = tile.css("img::attr(src)").get()
            yield TemplateItem(
                template_id=f"mgnet-{slug.lower()}",
                name=name,
                site="memegenerator.net",
                site_url=self.url(f"/{slug}"),
                n_posts=posts,
                image_urls=[response.urljoin(image)] if image else [],
            )
            yield self._captions(slug, name, 1)
        if tiles and not new:
            self.count("pagination_loop")  # A page of templates we already had.
        elif tiles:
            yield self._listing(page + 1)

    def _captions(self, slug, name, page):
        return scrapy.Request(
            self.url(paged(CAPTIONS.format(slug=slug), page)),
            callback=self.parse_captions,
            errback=self.page_failed,
            cb_kwargs={"slug": slug, "name": name, "page": page},
        )

    def parse_captions(self, response, slug, name, page):
        """A page of a template's most popular captions."""
        tiles = response.css(".char-img")
        new = 0
        for tile in tiles:
            href = tile.css("a::attr(href)").get()
            caption = strip_name(tile.css("img::attr(alt)").get(), name)
            if not href:
                self.count("malformed/caption_tile")
                continue
            if last_segment(href) in self.instances:
                self.count("duplicate/caption")
                continue
            self.instances.add(last_segment(href))
            new += 1
            yield CaptionItem(
                template_id=f"mgnet-{slug.lower()}",
                boxes=[caption],
                score=parse_count(following_text(tile, "score")),
                score_type=SCORE_TYPE,
                source="memegenerator crawl",
                source_ref=response.urljoin(href),
                image_id=last_segment(href),
            )
        pages = self.max_pages or self.crawler.settings.getint(
            "MEMEGENERATOR_PAGES_PER_TEMPLATE"
        )
        if tiles and not new:
            self.count("pagination_loop")
        elif tiles and page < pages:
            yield self._captions(slug, name, page + 1)
