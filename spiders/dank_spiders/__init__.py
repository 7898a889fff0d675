"""Scrapy crawlers that collect meme templates and upvoted captions.

Two spiders (``imgflip``, ``memegenerator``) yield ``TemplateItem`` and
``CaptionItem``; the pipelines clean them, fetch template images, and write the
crawl directory in the layout of ``../shared/data/memes`` (``templates.csv``,
``captions.csv``, ``templates/<template_id>.<ext>``) that ``dank data build
--source CRAWL_DIR`` reads, plus optional TFRecords in the foundation's format.
"""
