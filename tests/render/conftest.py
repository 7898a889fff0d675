"""Shared helpers for the rendering tests."""

import pytest
from PIL import Image

from dank.render import font


def synthetic_image(size=(320, 240)):
    """A fixed, busy RGB picture: a colour gradient with a few flat shapes."""
    width, height = size
    ramp = Image.linear_gradient("L")
    red = ramp.resize(size)
    green = ramp.rotate(90).resize(size)
    blue = Image.new("L", size, 128)
    image = Image.merge("RGB", (red, green, blue))
    image.paste((30, 160, 60), (width // 8, height // 3, width // 3, 2 * height // 3))
    image.paste((240, 240, 240), (width // 2, height // 4, 7 * width // 8, height // 2))
    return image


@pytest.fixture
def picture():
    return synthetic_image()


@pytest.fixture
def fresh_font_cache():
    """Clears font.py's caches before and after a test that swaps fonts."""
    font.font_path.cache_clear()
    font.load_font.cache_clear()
    yield
    font.font_path.cache_clear()
    font.load_font.cache_clear()
