"""``dank scrape``: run the Scrapy spiders in ``spiders/`` from the dank command.

Scrapy is an optional dependency (the ``spiders`` and ``dev`` extras); it is
imported only when a crawl runs, so ``import dank`` never needs it.
"""
