"""The spider tests need Scrapy (the ``dev``/``spiders`` extras); skip without it."""

import pytest

pytest.importorskip("scrapy")
