"""The spider tests need Scrapy (the ``dev``/``spiders`` extras); skip without it.

``spiders/`` (the Scrapy project) and ``tools/`` (the mirror) are put on
``sys.path`` here, before any test module imports from them.
"""

import sys
from pathlib import Path

import pytest

pytest.importorskip("scrapy")

ROOT = Path(__file__).resolve().parents[2]
for folder in (ROOT / "spiders", ROOT / "tools"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
