"""Draws a caption onto an image in the classic meme style.

The look follows jacebrowning/memegen: upper-case white text with a black stroke
that scales with the font, wrapped to at most three lines and shrunk until it fits
its box. The boxes are a top and a bottom band by default, or a template's own
layout (memegen's ``text_layout_json`` in the catalogue).

Text is measured with ``ImageDraw.textbbox`` and ``multiline_textbbox`` only
(Pillow 10 removed ``textsize`` and ``getsize``, which broke older meme renderers).
Characters the font has no glyph for (emoji, CJK, Arabic in Anton) are left out
of the drawing and reported, never a crash.
"""

import dataclasses
import logging
import math
import unicodedata

from PIL import Image, ImageColor, ImageDraw

from dank.core.io import atomic_path
from dank.render import font as fonts
from dank.render.layout import STYLES, parse_layout

log = logging.getLogger(__name__)

MAX_FONT_FRACTION = 1 / 8  # Largest font, as a share of image height (memegen: h/9).
MIN_FONT_SIZE = 10  # Pixels; text that only fits smaller is cut short with "...".
STROKE_FRACTION = 1 / 13  # Stroke width per pixel of font size (at least 1 pixel).
PAD_X = 0.03  # Share of the box width kept clear on each side.
PAD_Y = 0.04  # Share of the box height kept clear above and below.
LINE_GAP = 0.0  # Extra space between lines, as a share of the font size.
MAX_CHARS = 200  # Per box; longer text is cut before fitting (cost grows with length).
ELLIPSIS = "..."  # Three dots: every font has "." but not all have U+2026.
NOTDEF_PROBE = "\U0010ffff"  # A non-character: every font draws its .notdef for it.


@dataclasses.dataclass(frozen=True)
class PlacedText:
    """One caption as drawn: its lines, font size and where its ink landed."""

    lines: tuple  # The drawn lines, after styling, wrapping and dropping glyphs.
    font_size: int  # Pixels.
    stroke_width: int  # Pixels (0 for dark text, which gets no outline).
    bbox: tuple  # (left, top, right, bottom) of the text in image pixels.
    truncated: bool  # True if the text did not fit at MIN_FONT_SIZE and was cut.


@dataclasses.dataclass(frozen=True)
class RenderResult:
    """A rendered meme and what could not be drawn faithfully."""

    image: Image.Image  # A new RGB image; the input is not modified.
    placed: tuple  # A PlacedText per box that received non-empty text.
    missing: frozenset  # Characters the font had no glyph for (left out).

    @property
    def truncated(self):
        """True if any caption was cut short to fit its box."""
        return any(p.truncated for p in self.placed)


def stroke_width_for(size):
    """Returns the outline width in pixels for a font of ``size`` pixels."""
    return max(1, round(size * STROKE_FRACTION))


def _ignorable(char):
    # Spaces, controls, format characters (ZWJ) and variation selectors draw nothing
    # in any font, so their absence from a font is not worth reporting.
    category = unicodedata.category(char)
    return (
        category[0] in "ZC"
        or "\ufe00" <= char <= "\ufe0f"
        or "\U000e0100" <= char <= "\U000e01ef"
    )


def _glyph_pixels(char, font):
    size = int(getattr(font, "size", 16))
    canvas = Image.new("L", (3 * size + 8, 2 * size + 8))
    ImageDraw.Draw(canvas).text((4, 4), char, font=font, fill=255)
    return canvas.tobytes()


def missing_glyphs(text, font):
    """Returns the characters of ``text`` that ``font`` cannot draw.

    A character is missing when it draws exactly like the font's .notdef glyph
    (the box or blank a font shows for unknown code points). Spaces, controls,
    joiners and variation selectors are never reported.
    """
    notdef = _glyph_pixels(NOTDEF_PROBE, font)
    return {
        char
        for char in set(text)
        if not _ignorable(char) and _glyph_pixels(char, font) == notdef
    }


def _drawable(text, font):
    """Returns ``text`` with undrawable characters removed and spaces collapsed."""
    missing = missing_glyphs(text, font)
    kept = "".join(
        " " if c.isspace() else c
        for c in text
        if c.isspace() or not (c in missing or _ignorable(c))
    )
    return " ".join(kept.split()), missing


class _Measure:
    """Measures text for one font size with textbbox, remembering results."""

    def __init__(self, size):
        self.font = fonts.load_font(size)
        self.size = size
        self.stroke = stroke_width_for(size)
        self.spacing = round(LINE_GAP * size)
        self._draw = ImageDraw.Draw(Image.new("L", (1, 1)))
        self._widths = {}

    def width(self, line):
        if line not in self._widths:
            box = self._draw.textbbox(
                (0, 0), line, font=self.font, stroke_width=self.stroke
            )
            self._widths[line] = box[2] - box[0]
        return self._widths[line]

    def block(self, lines, align="center"):
        """Returns the ink bbox of ``lines`` drawn as one block at the origin."""
        return self._draw.multiline_textbbox(
            (0, 0),
            "\n".join(lines),
            font=self.font,
            spacing=self.spacing,
            align=align,
            stroke_width=self.stroke,
        )


def _wrap(words, measure, limit, max_lines):
    """Greedy wrap of ``words`` into lines at most ``limit`` pixels wide.

    A word wider than the limit (or a run of CJK text, which has no spaces) is
    broken between characters. Stops early once more than ``max_lines`` lines
    are needed, so a result longer than ``max_lines`` means "does not fit".
    """
    lines, line = [], ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if measure.width(candidate) <= limit:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = word
        while measure.width(line) > limit and len(line) > 1:
            # Binary search for the longest head of the word that fits.
            lo, hi = 1, len(line) - 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (
                    (mid, hi) if measure.width(line[:mid]) <= limit else (lo, mid - 1)
                )
            lines.append(line[:lo])
            line = line[lo:]
            if len(lines) > max_lines:
                return lines
        if len(lines) > max_lines:
            return lines
    return [*lines, line]


def _balance(words, measure, limit, n_lines):
    """Rewraps into ``n_lines`` lines as even as possible (smallest widest line)."""
    lo, hi = 1, limit
    best = _wrap(words, measure, limit, n_lines)
    while lo < hi:
        mid = (lo + hi) // 2
        lines = _wrap(words, measure, mid, n_lines)
        if len(lines) > n_lines:
            lo = mid + 1
        else:
            best, hi = lines, mid
    return best


def _fits(lines, measure, width, height, align):
    x0, y0, x1, y1 = measure.block(lines, align)
    return x1 - x0 <= width and y1 - y0 <= height


def _try_size(words, size, width, height, max_lines, align):
    measure = _Measure(size)
    lines = _wrap(words, measure, width, max_lines)
    if len(lines) > max_lines or not _fits(lines, measure, width, height, align):
        return None
    return measure, lines


def _truncate(words, top_size, width, height, max_lines, align):
    """Fits the start of the text, ending in "...", at the largest size that can."""
    for size in range(top_size, 0, -1):
        measure = _Measure(size)
        lines = _wrap(words, measure, width, max_lines)
        for n in range(min(max_lines, len(lines)), 0, -1):
            kept = lines[:n]
            last = kept[-1]
            while last and measure.width(last + ELLIPSIS) > width:
                # Drop whole words while there are several; cut inside the last one.
                last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
            kept[-1] = last.rstrip() + ELLIPSIS
            if _fits(kept, measure, width, height, align):
                return measure, kept
    return _Measure(1), [ELLIPSIS]


def fit_text(text, width, height, max_lines=3, max_size=None, align="center"):
    """Chooses the font size and line breaks that fit ``text`` in a box.

    Tries the largest size first (binary search down to MIN_FONT_SIZE), wrapping
    greedily, then evens out the lines. Text that fits only below MIN_FONT_SIZE,
    or is longer than MAX_CHARS, is cut short with "..." instead.

    Args:
        text: the caption, already styled, with undrawable characters removed.
        width: the box's inner width, pixels.
        height: the box's inner height, pixels.
        max_lines: most lines to wrap to (memegen: 1-3).
        max_size: largest font size to try, pixels (default: ``height``).
        align: "center" or "left", as the text will be drawn.

    Returns:
        ``(size, lines, truncated)``.
    """
    if max_lines < 1:
        raise ValueError(f"max_lines must be at least 1, not {max_lines}")
    cut = len(text) > MAX_CHARS
    if cut:
        head = text[:MAX_CHARS]
        text = (head.rsplit(" ", 1)[0] if " " in head else head) + ELLIPSIS
    words = text.split()
    if not words:
        return 0, [], False
    top = max(1, int(max_size or height))
    floor = min(MIN_FONT_SIZE, top)
    best = None
    lo, hi = floor, top
    while lo <= hi:
        mid = (lo + hi) // 2
        found = _try_size(words, mid, width, height, max_lines, align)
        if found is None:
            hi = mid - 1
        else:
            best, lo = found, mid + 1
    if best is not None:
        measure, lines = best
        return measure.size, _balance(words, measure, width, len(lines)), cut
    measure, lines = _truncate(words, floor, width, height, max_lines, align)
    return measure.size, lines, True


def _draw_box(image, text, box, max_lines):
    """Draws one caption into its box on ``image`` (in place); returns PlacedText."""
    left, top, box_w, box_h = box.rect(image.size)
    pad_x, pad_y = math.ceil(box_w * PAD_X), math.ceil(box_h * PAD_Y)
    inner_w, inner_h = max(1, box_w - 2 * pad_x), max(1, box_h - 2 * pad_y)
    max_size = max(1, min(round(image.height * MAX_FONT_FRACTION), inner_h))
    size, lines, truncated = fit_text(
        text, inner_w, inner_h, max_lines, max_size, box.align
    )
    measure = _Measure(size)
    fill = ImageColor.getrgb(box.color)[:3]
    # Dark text sits on light panels: an outline there only smudges it (memegen too).
    dark = sum(fill) < 3 * 96
    stroke = 0 if dark else measure.stroke
    x0, y0, x1, y1 = measure.block(lines, box.align)
    block_w, block_h = x1 - x0, y1 - y0
    x = pad_x if box.align == "left" else (box_w - block_w) // 2
    free_h = box_h - block_h
    y = {"top": pad_y, "middle": free_h // 2, "bottom": free_h - pad_y}[box.valign]
    layer = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    ImageDraw.Draw(layer).multiline_text(
        (x - x0, y - y0),
        "\n".join(lines),
        font=measure.font,
        fill=fill,
        spacing=measure.spacing,
        align=box.align,
        stroke_width=stroke,
        stroke_fill=(0, 0, 0),
    )
    if box.angle:
        # Like memegen, the rotated (grown) layer keeps its top-left at the anchor;
        # template layouts were tuned for that placement.
        layer = layer.rotate(box.angle, resample=Image.Resampling.BICUBIC, expand=True)
    image.paste(layer, (left, top), layer)
    ink = layer.getchannel("A").getbbox() or (0, 0, 0, 0)
    bbox = (ink[0] + left, ink[1] + top, ink[2] + left, ink[3] + top)
    return PlacedText(tuple(lines), size, stroke, bbox, truncated)


def render_meme(image, top, bottom="", boxes=None, max_lines=3, extra=()):
    """Draws a caption on a copy of ``image`` in the classic meme style.

    Args:
        image: a PIL image (any mode); it is not modified.
        top: text for the first box ("" for none).
        bottom: text for the second box ("" for none).
        boxes: None for the default top and bottom bands, or a template layout
            (anything ``parse_layout`` takes). ``top``, ``bottom`` and ``extra``
            fill its boxes in order; text beyond the last box joins the last box.
        max_lines: most lines per box.
        extra: texts for boxes 3, 4, ... of multi-panel templates.

    Returns:
        A RenderResult with the new RGB image, where each caption went, and the
        characters the font could not draw (left out of the drawing).
    """
    boxes = parse_layout(boxes)
    texts = [top or "", bottom or "", *extra]
    if len(texts) > len(boxes):
        overflow = " ".join(t for t in texts[len(boxes) - 1 :] if t)
        texts = [*texts[: len(boxes) - 1], overflow]
    canvas = image.convert("RGB")  # Always a new image, even from RGB.
    probe = fonts.load_font(32)
    placed, missing = [], set()
    for text, box in zip(texts, boxes):
        drawable, lost = _drawable(STYLES[box.style](" ".join(text.split())), probe)
        missing |= lost
        if drawable:
            placed.append(_draw_box(canvas, drawable, box, max_lines))
    return RenderResult(canvas, tuple(placed), frozenset(missing))


def draw_meme(image, top, bottom, boxes=None, max_lines=3):
    """Returns a new RGB image with the caption drawn on it (see ``render_meme``).

    Logs a warning naming any characters the font could not draw and any caption
    that had to be cut short.
    """
    result = render_meme(image, top, bottom, boxes=boxes, max_lines=max_lines)
    if result.missing:
        log.warning(
            "the meme font has no glyph for %s; drew the rest",
            " ".join(sorted(result.missing)),
        )
    if result.truncated:
        log.warning("caption too long for its box; cut short with %r", ELLIPSIS)
    return result.image


def save_png(image, path):
    """Writes ``image`` to ``path`` as PNG, atomically. Returns the path."""
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=True)
    return path
