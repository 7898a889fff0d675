"""Template images through Scrapy's ``ImagesPipeline``, checked before they are kept.

Checks, in order: the response's ``Content-Type`` is an image type; the body is
at most ``DANK_IMAGE_MAX_BYTES``; Pillow decodes it completely through
``dank.core.images.open_image`` (truncated, corrupt and non-image files fail here);
width*height is at most ``DANK_IMAGE_MAX_PIXELS`` and each side at least
``IMAGES_MIN_WIDTH`` x ``IMAGES_MIN_HEIGHT``. The original bytes are stored
(no re-encoding) as ``templates/<template_id>.<ext>``, written atomically.
"""

import logging
from io import BytesIO
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from scrapy.pipelines.files import FSFilesStore
from scrapy.pipelines.images import ImageException, ImagesPipeline

from dank.core.errors import DankError
from dank.core.images import open_image
from dank.core.io import write_bytes
from dank_spiders.items import TemplateItem
from dank_spiders.report import NOT_FOUND, note_url

logger = logging.getLogger(__name__)

EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}


class AtomicFSFilesStore(FSFilesStore):
    """Files store that renames a finished file into place (no half-written image)."""

    def persist_file(self, path, buf, info, meta=None, headers=None):
        write_bytes(self._get_filesystem_path(path), buf.getvalue())


def url_extension(url):
    """ ".jpg"/".png"/... from the URL's path, ".jpg" when it has none we know."""
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return suffix if suffix in (".jpg", ".jpeg", ".png", ".gif", ".webp") else ".jpg"


class TemplateImagesPipeline(ImagesPipeline):
    """Downloads each ``TemplateItem.image_urls`` into ``DANK_OUT/templates/``."""

    STORE_SCHEMES = {**ImagesPipeline.STORE_SCHEMES, "": AtomicFSFilesStore}

    @classmethod
    def from_crawler(cls, crawler):
        cls._update_stores(crawler.settings)
        pipe = cls(str(crawler.settings.get("DANK_OUT") or "crawl"), crawler=crawler)
        settings = crawler.settings
        pipe.max_bytes = settings.getint("DANK_IMAGE_MAX_BYTES", 8 * 2**20)
        pipe.max_pixels = settings.getint("DANK_IMAGE_MAX_PIXELS", 40_000_000)
        pipe.reasons = {}  # Image URL -> why it was refused (for the report).
        pipe.not_found = set()  # Image URLs the site answered 404 or 410 for.
        return pipe

    def file_path(self, request, response=None, info=None, *, item=None):
        ext = url_extension(request.url).replace(".jpeg", ".jpg")
        return f"templates/{item.template_id}{ext}"

    def media_failed(self, failure, request, info):
        self.reasons[request.url] = failure.getErrorMessage() or failure.type.__name__
        return super().media_failed(failure, request, info)

    async def media_downloaded(self, response, request, info, *, item=None):
        # Scrapy calls any status but 200 a "download-error"; keep which it was.
        if response.status in NOT_FOUND:
            self.not_found.add(request.url)
        if response.status != 200:
            self.reasons[request.url] = f"HTTP {response.status}"
        return await super().media_downloaded(response, request, info, item=item)

    def get_images(self, response, request, info, *, item=None):
        try:
            yield from self._checked(response, request, info, item)
        except ImageException as e:
            self.reasons[request.url] = str(e)
            raise

    def _checked(self, response, request, info, item):
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        if not content_type.lower().startswith("image/"):
            raise ImageException(
                f"content type {content_type or 'missing'!r} is not an image"
            )
        if len(response.body) > self.max_bytes:
            raise ImageException(
                f"{len(response.body):,} bytes is over {self.max_bytes:,}"
            )
        try:
            image = open_image(
                response.body, name=request.url, max_pixels=self.max_pixels
            )
        except DankError as e:
            raise ImageException(str(e)) from e
        width, height = image.size
        if width < self.min_width or height < self.min_height:
            raise ImageException(
                f"image too small ({width}x{height} < "
                f"{self.min_width}x{self.min_height})"
            )
        yield (
            self.file_path(request, response, info, item=item),
            image,
            BytesIO(response.body),
        )

    def item_completed(self, results, item, info):
        if not isinstance(item, TemplateItem):
            return item  # Captions have no images to fetch.
        item.images = [result for ok, result in results if ok]
        stats = self.crawler.stats
        for url, (ok, result) in zip(item.image_urls, results):
            if ok:
                stats.inc_value("dank/core/images/stored")
                continue
            if url in self.not_found:
                stats.inc_value("dank/core/images/not_found")
                note_url(
                    stats,
                    "dank/core/images/not_found_urls",
                    f"{item.template_id}: {url}",
                )
                logger.warning(
                    "template image of %s not found: %s", item.template_id, url
                )
                continue
            reason = self.reasons.get(url) or getattr(result, "getErrorMessage", str)()
            stats.inc_value("dank/core/images/failed")
            failures = stats.get_value("dank/core/images/failures") or []
            stats.set_value(
                "dank/core/images/failures",
                [*failures, f"{item.template_id}: {reason}"],
            )
            logger.warning("template image of %s refused: %s", item.template_id, reason)
        return item
