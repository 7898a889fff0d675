"""Golden images: rendered memes compared with stored reference PNGs.

Slow (run by ``make test-all``). The references in ``tests/render/golden/`` were
drawn with the bundled Anton font; FreeType versions differ slightly in
antialiasing, so images are compared by mean absolute pixel difference.

To regenerate the references after an intended change to the look, run::

    DANK_REGEN_GOLDEN=1 .venv/bin/pytest -q -m slow tests/render/test_render_golden.py

then LOOK at the new PNGs before committing them.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dank.render import font, render_meme, save_png

GOLDEN = Path(__file__).parent / "golden"
TOLERANCE = 2.0  # Mean absolute difference per channel, 0-255 scale.
REGENERATE = os.environ.get("DANK_REGEN_GOLDEN") == "1"

CASES = {
    "classic": dict(top="one does not simply", bottom="walk into mordor"),
    "long": dict(
        top="when you finally understand the homework the night before it is due",
        bottom="and the teacher extends the deadline by another week anyway",
    ),
    "layout": dict(
        top="my free time",
        bottom="video games",
        extra=("me",),
        boxes=[
            dict(anchor_x=0.05, anchor_y=0.65, scale_x=0.35, scale_y=0.15),
            dict(anchor_x=0.45, anchor_y=0.35, scale_x=0.25, scale_y=0.12),
            dict(anchor_x=0.6, anchor_y=0.7, scale_x=0.3, scale_y=0.2, angle=12.0),
        ],
    ),
    "glyphs": dict(top="no emoji 😀 here", bottom="中文 and عربي dropped"),
}

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_golden_image(name, picture):
    if font.font_path() != str(font.bundled_font_path()):
        pytest.skip("golden images were drawn with the bundled Anton font")
    image = render_meme(picture, **CASES[name]).image
    path = GOLDEN / f"{name}.png"
    if REGENERATE:
        save_png(image, path)
        pytest.skip(f"regenerated {path}")
    assert path.is_file(), f"missing {path}; run with DANK_REGEN_GOLDEN=1"
    with Image.open(path) as reference:
        expected = np.asarray(reference.convert("RGB"), dtype=np.float64)
    actual = np.asarray(image, dtype=np.float64)
    assert actual.shape == expected.shape
    diff = np.abs(actual - expected).mean()
    assert diff <= TOLERANCE, f"{name}: mean abs diff {diff:.2f} > {TOLERANCE}"


def test_golden_comparison_can_fail(picture):
    """The tolerance is tight enough that a different caption is caught."""
    with Image.open(GOLDEN / "classic.png") as reference:
        expected = np.asarray(reference.convert("RGB"), dtype=np.float64)
    other = render_meme(picture, "one does not simply", "walk into moria").image
    assert np.abs(np.asarray(other, dtype=np.float64) - expected).mean() > TOLERANCE
