"""Drawing captions onto images in the classic meme style."""

from dank.render.layout import DEFAULT_BOXES, TextBox, parse_layout
from dank.render.meme import (
    PlacedText,
    RenderResult,
    draw_meme,
    fit_text,
    missing_glyphs,
    render_meme,
    save_png,
)

__all__ = [
    "DEFAULT_BOXES",
    "PlacedText",
    "RenderResult",
    "TextBox",
    "draw_meme",
    "fit_text",
    "missing_glyphs",
    "parse_layout",
    "render_meme",
    "save_png",
]
