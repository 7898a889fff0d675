"""Items the spiders yield: one per template and one per caption (dataclasses)."""

from dataclasses import dataclass, field


@dataclass
class TemplateItem:
    """A blank meme template, one row of ``templates.csv`` once exported."""

    template_id: str  # Site prefix + slug: "imgflip-Success-Kid", "mgnet-success-kid".
    name: str  # Display name, e.g. "Success Kid".
    site: str  # "imgflip.com" or "memegenerator.net".
    site_url: str  # The page the template was read from.
    imgflip_id: str = ""  # imgflip's numeric "Template ID", when shown.
    alt_names: str = ""  # Comma-separated alternative names.
    n_posts: int = 0  # Posts the site reports for the template (memegenerator).
    image_urls: list = field(default_factory=list)  # For ImagesPipeline.
    images: list = field(default_factory=list)  # Filled by ImagesPipeline.


@dataclass
class CaptionItem:
    """One upvoted caption of a template, one row of ``captions.csv`` once exported."""

    template_id: str  # Same id as the TemplateItem it belongs to.
    boxes: list  # Box texts in order: [top, bottom, extra...]; cleaned by a pipeline.
    score: int  # Upvotes (imgflip "img-votes") or vote score (memegenerator).
    score_type: str  # "imgflip_upvotes" or "memegenerator_votes".
    source: str  # Which spider produced it: "imgflip crawl", "memegenerator crawl".
    source_ref: str  # URL of the meme instance (its post page).
    image_id: str  # The site's id for the meme instance, used for dedupe.
    views: int | None = None  # View count when the site shows one.
    title: str = ""  # Post title (imgflip), not exported.
