"""Meme rendering: fit, shrink, wrap, case, stroke, layouts, glyphs and fonts."""

import csv
import inspect
import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from dank.render import font, meme
from dank.render.layout import DEFAULT_BOXES, TextBox, parse_layout
from dank.render.meme import (
    draw_meme,
    fit_text,
    missing_glyphs,
    render_meme,
    save_png,
)

SHARED_TEMPLATES = (
    Path(os.environ.get("DANK_SHARED_DATA", "/work/shared/data/memes"))
    / "templates.csv"
)
LONG = (
    "when you finally understand the homework the night before it is due and the "
    "teacher extends the deadline by another week"
)


def _inside(bbox, rect):
    left, top, right, bottom = rect
    return bbox[0] >= left and bbox[1] >= top and bbox[2] <= right and bbox[3] <= bottom


def _box_rect(box, size):
    left, top, width, height = box.rect(size)
    return left, top, left + width, top + height


def _changed(before, after):
    """Boolean mask (height, width) of pixels that differ between two images."""
    a = np.asarray(before, dtype=np.int16)
    b = np.asarray(after, dtype=np.int16)
    return np.abs(a - b).max(axis=2) > 0


def test_short_caption_is_upper_case_and_inside_its_boxes(picture):
    result = render_meme(picture, "one does not simply", "walk into Mordor")
    assert [p.lines for p in result.placed] == [
        ("ONE DOES NOT SIMPLY",),
        ("WALK INTO MORDOR",),
    ]
    for placed, box in zip(result.placed, DEFAULT_BOXES):
        assert _inside(placed.bbox, _box_rect(box, picture.size))
    assert result.image.size == picture.size and result.image.mode == "RGB"
    assert not result.missing and not result.truncated


def test_long_text_fits_inside_image_and_box(picture):
    result = render_meme(picture, LONG, LONG)
    for placed, box in zip(result.placed, DEFAULT_BOXES):
        assert _inside(placed.bbox, (0, 0, *picture.size))
        assert _inside(placed.bbox, _box_rect(box, picture.size))
    # Every pixel the drawing changed lies inside one of the two boxes.
    changed = _changed(picture, result.image)
    inside = np.zeros_like(changed)
    for box in DEFAULT_BOXES:
        left, top, right, bottom = _box_rect(box, picture.size)
        inside[top:bottom, left:right] = True
    assert changed.any() and not (changed & ~inside).any()


def test_long_caption_gets_a_smaller_font(picture):
    short = render_meme(picture, "nailed it", "").placed[0]
    long = render_meme(picture, LONG, "").placed[0]
    assert long.font_size < short.font_size
    assert len(long.lines) > len(short.lines) == 1
    assert short.stroke_width > long.stroke_width >= 1


@pytest.mark.parametrize("max_lines", [1, 2, 3])
def test_wraps_to_at_most_max_lines(picture, max_lines):
    placed = render_meme(picture, LONG, "", max_lines=max_lines).placed[0]
    assert 1 <= len(placed.lines) <= max_lines
    words = " ".join(placed.lines).removesuffix("...").split()
    assert words and words == LONG.upper().split()[: len(words)]


def test_wrapped_lines_are_balanced():
    tall = Image.new("RGB", (320, 480), (128, 128, 128))
    placed = render_meme(tall, "one two three four five six seven", "").placed[0]
    assert len(placed.lines) == 2
    lengths = [len(line) for line in placed.lines]
    assert abs(lengths[0] - lengths[1]) <= 8, placed.lines


def test_fit_text_evens_out_lines_instead_of_greedy_filling():
    draw = ImageDraw.Draw(Image.new("L", (1, 1)))
    text = "AAAA BBBB CCCC DDDD EEEE FFFF"
    anton = font.load_font(20)

    def width(line):
        box = draw.textbbox((0, 0), line, font=anton, stroke_width=2)
        return box[2] - box[0]

    limit = int(0.9 * width(text))  # Greedy would put five words on line one.
    size, lines, cut = fit_text(text, limit, 500, max_lines=2, max_size=20)
    assert size == 20 and len(lines) == 2 and not cut
    assert [len(line.split()) for line in lines] == [3, 3]
    assert max(width(line) for line in lines) < 0.6 * width(text)


def test_fit_text_shrinks_then_truncates():
    size_short, lines_short, cut_short = fit_text("HI", 300, 60)
    size_long, lines_long, cut_long = fit_text("WORD " * 300, 300, 60)
    assert 50 <= size_short <= 60 and lines_short == ["HI"] and not cut_short
    assert cut_long and size_long <= meme.MIN_FONT_SIZE
    assert len(lines_long) <= 3 and lines_long[-1].endswith("...")
    with pytest.raises(ValueError, match="max_lines"):
        fit_text("HI", 300, 60, max_lines=0)


def test_unbreakable_word_is_split_between_characters(picture):
    result = render_meme(picture, "x" * 60, "")
    placed = result.placed[0]
    assert len(placed.lines) > 1
    assert "".join(placed.lines) == "X" * 60
    assert _inside(placed.bbox, _box_rect(DEFAULT_BOXES[0], picture.size))


def test_absurd_caption_is_cut_short_but_stays_in_its_box(picture, caplog):
    with caplog.at_level(logging.WARNING, logger="dank.render.meme"):
        image = draw_meme(picture, "", "blah " * 400)
    result = render_meme(picture, "", "blah " * 400)
    assert result.truncated and result.placed[0].lines[-1].endswith("...")
    assert _inside(result.placed[0].bbox, _box_rect(DEFAULT_BOXES[1], picture.size))
    assert np.array_equal(np.asarray(image), np.asarray(result.image))
    assert "cut short" in caplog.text


@pytest.mark.parametrize("top, bottom", [("", "bottom only"), ("top only", "")])
def test_empty_top_or_bottom_leaves_that_band_untouched(picture, top, bottom):
    result = render_meme(picture, top, bottom)
    assert len(result.placed) == 1
    changed = _changed(picture, result.image)
    half = picture.height // 2
    upper, lower = changed[:half], changed[half:]
    drawn, blank = (lower, upper) if top == "" else (upper, lower)
    assert drawn.any() and not blank.any()


def test_no_caption_returns_an_identical_copy(picture):
    result = render_meme(picture, "", "   ")
    assert result.placed == ()
    assert result.image is not picture
    assert np.array_equal(np.asarray(result.image), np.asarray(picture))


def test_input_is_not_modified_and_any_mode_works(picture):
    rgba = picture.convert("RGBA")
    before = rgba.tobytes()
    out = draw_meme(rgba, "top", "bottom")
    assert rgba.tobytes() == before and out.mode == "RGB"
    assert draw_meme(picture.convert("L"), "top", "bottom").mode == "RGB"
    original = picture.tobytes()
    draw_meme(picture, "top", "bottom")
    assert picture.tobytes() == original


def test_black_stroke_surrounds_white_fill():
    grey = Image.new("RGB", (400, 300), (128, 128, 128))
    result = render_meme(grey, "MEME", "")
    pixels = np.asarray(result.image).astype(int)
    white = (pixels > 235).all(axis=2)
    black = (pixels < 25).all(axis=2)
    assert white.sum() > 200 and black.sum() > 200
    # Each white pixel's row, scanned outward, meets black before the grey background.
    ys, xs = np.nonzero(white)
    y = ys[len(ys) // 2]
    row_black = np.nonzero(black[y])[0]
    row_white = np.nonzero(white[y])[0]
    assert row_black.min() < row_white.min() and row_black.max() > row_white.max()
    placed = result.placed[0]
    assert placed.stroke_width == max(1, round(placed.font_size * meme.STROKE_FRACTION))


def test_missing_glyphs_reports_emoji_cjk_arabic_only():
    anton = font.load_font(32)
    assert missing_glyphs("HELLO, world! 123 é ß", anton) == set()
    assert missing_glyphs("ok 😀 中文 عربي \u200d\ufe0f", anton) == set("😀中文عربي")


def test_non_latin_text_does_not_crash_and_is_reported(picture, caplog):
    with caplog.at_level(logging.WARNING, logger="dank.render.meme"):
        image = draw_meme(picture, "why 😀 not", "我们 كلام")
    assert image.size == picture.size
    assert "no glyph" in caplog.text and "😀" in caplog.text
    result = render_meme(picture, "why 😀 not", "我们 كلام")
    assert result.missing == set("😀我们كلام")
    # The drawable part is drawn; a caption with nothing drawable is skipped.
    assert [p.lines for p in result.placed] == [("WHY NOT",)]


def test_layout_boxes_are_respected(picture):
    memegen = dict(angle=0.0, font="thick", start=0.0, stop=1.0)  # Ignored fields.
    left = dict(anchor_x=0.05, anchor_y=0.4, scale_x=0.4, scale_y=0.2, **memegen)
    right = dict(anchor_x=0.55, anchor_y=0.6, scale_x=0.4, scale_y=0.3, **memegen)
    right.update(align="left", style="none", color="khaki")
    layout = json.dumps([left, right])
    boxes = parse_layout(layout)
    result = render_meme(picture, "left box", "Right Box Text", boxes=layout)
    assert result.placed[0].lines == ("LEFT BOX",)
    assert " ".join(result.placed[1].lines) == "Right Box Text"  # Style "none".
    changed = _changed(picture, result.image)
    inside = np.zeros_like(changed)
    for placed, box in zip(result.placed, boxes):
        rect = _box_rect(box, picture.size)
        assert _inside(placed.bbox, rect)
        inside[rect[1] : rect[3], rect[0] : rect[2]] = True
    assert changed.any() and not (changed & ~inside).any()
    # "left" alignment starts at the box's left padding, not at its centre.
    left, _, width, _ = boxes[1].rect(picture.size)
    assert result.placed[1].bbox[0] - left <= 0.05 * width


def test_dark_text_has_no_stroke_and_rotation_works(picture):
    layout = [
        dict(anchor_x=0.2, anchor_y=0.3, scale_x=0.5, scale_y=0.3, angle=20.0),
    ]
    layout[0].update(color="black", style="upper")
    result = render_meme(picture, "change my mind", "", boxes=layout)
    placed = result.placed[0]
    assert placed.stroke_width == 0
    assert result.image.size == picture.size
    assert _inside(placed.bbox, (0, 0, *picture.size))


def test_extra_texts_fill_more_boxes_and_overflow_joins_the_last(picture):
    three = [dict(anchor_y=y, scale_y=0.2) for y in (0.0, 0.4, 0.8)]
    result = render_meme(picture, "a", "b", boxes=three, extra=("c",))
    assert [p.lines for p in result.placed] == [("A",), ("B",), ("C",)]
    one = render_meme(picture, "top", "bottom", boxes=[{"scale_y": 0.3}])
    assert [p.lines for p in one.placed] == [("TOP BOTTOM",)]


@pytest.mark.parametrize(
    "layout, message",
    [
        ("{not json", "not valid JSON"),
        ('{"anchor_x": 0}', "must be a list"),
        ([{"align": "justify"}], "align"),
        ([{"color": "notacolour"}], "box 0"),
        ([{"scale_x": 0}], "positive"),
        ([{"anchor_x": "left"}], "box 0"),
        ([3], "must be a dict"),
    ],
)
def test_bad_layouts_are_rejected_with_a_reason(layout, message):
    with pytest.raises(ValueError, match=message):
        parse_layout(layout)


def test_unknown_layout_style_falls_back_to_upper_case(caplog):
    with caplog.at_level(logging.DEBUG, logger="dank.render.layout"):
        (box,) = parse_layout([{"style": "thin"}])
    assert box.style == "upper" and "thin" in caplog.text
    with pytest.raises(ValueError, match="style"):
        TextBox(style="shout")


def test_default_layout_for_missing_layout():
    assert parse_layout(None) == parse_layout("") == parse_layout("[]") == DEFAULT_BOXES
    box = TextBox(anchor_x=0.1, scale_x=0.5)
    assert parse_layout([box]) == (box,)


@pytest.mark.skipif(not SHARED_TEMPLATES.is_file(), reason="shared meme data absent")
def test_every_catalogue_layout_parses_and_renders():
    with SHARED_TEMPLATES.open(encoding="utf-8", newline="") as f:
        layouts = [r["text_layout_json"] for r in csv.DictReader(f)]
    layouts = [layout for layout in layouts if layout]
    assert len(layouts) > 100
    canvas = Image.new("RGB", (120, 90), (90, 90, 90))
    for layout in layouts:
        boxes = parse_layout(layout)
        texts = [f"box {i}" for i in range(len(boxes))]
        result = render_meme(canvas, *texts[:2], boxes=boxes, extra=texts[2:])
        assert len(result.placed) == len(boxes)


def test_fallback_font_is_used_when_patched(monkeypatch, picture):
    calls = []

    def pillow_default(size):
        calls.append(size)
        return ImageFont.load_default(size=size)

    monkeypatch.setattr(font, "load_font", pillow_default)
    result = render_meme(picture, "fallback font", LONG)
    assert calls and len(result.placed) == 2
    for placed, box in zip(result.placed, DEFAULT_BOXES):
        assert _inside(placed.bbox, _box_rect(box, picture.size))


def test_font_chain_falls_back_with_a_warning(
    monkeypatch, picture, caplog, fresh_font_cache
):
    monkeypatch.setattr(font, "bundled_font_path", lambda: Path("/nonexistent/A.ttf"))
    with caplog.at_level(logging.WARNING, logger="dank.render.font"):
        chosen = font.font_path()
        result = render_meme(picture, "dejavu or default", "still fits")
    assert chosen is None or chosen in font.DEJAVU_BOLD
    assert "falling back" in caplog.text or "no TrueType" in caplog.text
    assert len(result.placed) == 2

    monkeypatch.setattr(font, "DEJAVU_BOLD", ())
    font.font_path.cache_clear()
    font.load_font.cache_clear()
    assert font.font_path() is None
    result = render_meme(picture, "pillow default", "font")
    assert [p.lines for p in result.placed] == [("PILLOW DEFAULT",), ("FONT",)]


def test_measures_with_textbbox_only():
    source = inspect.getsource(meme)
    for removed in ("textsize(", "getsize(", "font.getlength(", "font.getbbox("):
        assert removed not in source
    assert "textbbox(" in source


def test_save_png_is_atomic_and_round_trips(tmp_path, picture):
    out = tmp_path / "memes" / "one.png"
    image = draw_meme(picture, "saved", "atomically")
    assert save_png(image, out) == out
    with Image.open(out) as reread:
        assert reread.format == "PNG"
        assert np.array_equal(np.asarray(reread.convert("RGB")), np.asarray(image))
    assert [p.name for p in out.parent.iterdir()] == ["one.png"]
    with pytest.raises(AttributeError):
        save_png(object(), out)
    assert [p.name for p in out.parent.iterdir()] == ["one.png"]
