"""Memes as they turn up in the wild, drawn with Pillow.

Real memes are rarely the clean template with white Impact-style text: sites
stamp watermarks on them (imgflip writes "imgflip.com" in the bottom-left
corner), people pick other fonts and colours, lay an opaque caption box over
the middle of the picture, post screenshots of a social-media post, crop, pad,
stack two pictures, and every upload re-compresses the JPEG. This module draws
those effects once, for two users:

* ``tools/render_eval_memes.py --style wild`` applies them to whole memes, the
  harder evaluation stand-in;
* ``augment.meme_augment`` composites the same layers during training, from
  banks rendered once by ``layer_bank`` and ``frame_bank``.

Every random choice comes from an explicit ``random.Random``, so a seed fixes
the result.
"""

import functools
import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dank.render.font import bundled_font_path, font_path

# Caption fonts besides the bundled Anton; those missing are skipped.
SYSTEM_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
)
WATERMARK = "imgflip.com"  # Bottom left, as imgflip stamps it.
OTHER_MARKS = (
    "made with mematic",
    "9GAG",
    "@dank.memes",
    "memegenerator.net",
    "iFunny",
    "reddit.com/r/memes",
)
# Text for layers drawn without a caption at hand (the training banks).
FILLER = (
    "me trying to explain it",
    "nobody: absolutely nobody:",
    "when the wifi drops",
    "my last brain cell",
    "pov: it is monday again",
    "that one friend",
    "me at 3 am",
    "the group chat after",
)
USERNAMES = ("@memelord420", "@not_a_bot", "Dank Memes Daily", "@grandma_online")
CAPTION_STYLES = ("outline", "black", "boxed")
BAND = 0.24  # A top or bottom caption takes at most this share of the height.
COVER = (0.3, 0.6)  # A covering box spans this share of the height.
MARK_HEIGHT = 0.028  # Watermark text height as a share of the image height.
BORDER = (0.02, 0.12)  # Border width as a share of the side.
FRAME_SCALE = (0.55, 0.85)  # Picture width as a share of the screenshot width.
LAYOUT_WIDTH = 320  # Banks are drawn at this width, then squeezed to the canvas.


@functools.cache
def fonts():
    """Paths of the caption fonts that load here (Anton first); None: Pillow's."""
    found = []
    for path in (str(bundled_font_path()), *SYSTEM_FONTS):
        try:
            ImageFont.truetype(path, 12)
        except OSError:
            continue
        found.append(path)
    return tuple(found) or (font_path(),)


@functools.lru_cache(maxsize=512)
def _font(path, size):
    size = max(6, int(size))
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size)


def _wrap(draw, words, font, width):
    lines, line = [], ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line]


def draw_text(draw, text, box, path, fill, stroke=0, max_lines=3):
    """Draws ``text`` centred in ``box`` (left, top, right, bottom), the largest
    size of font ``path`` at which it wraps into ``max_lines`` lines that fit."""
    left, top, right, bottom = box
    width, height = max(1, right - left), max(1, bottom - top)
    words = text.split()
    if not words:
        return
    size = max(6, int(height / 1.15))
    while True:
        font = _font(path, size)
        lines = _wrap(draw, words, font, width)
        block = len(lines) * size * 1.15
        widest = max(draw.textlength(line, font=font) for line in lines)
        if size <= 6 or (
            len(lines) <= max_lines and block <= height and widest <= width
        ):
            break
        size = max(6, int(size * 0.85))
    y = top + (height - block) / 2
    for line in lines[:max_lines]:
        x = left + (width - draw.textlength(line, font=font)) / 2
        draw.text(
            (x, y),
            line,
            font=font,
            fill=fill,
            stroke_width=stroke and max(1, size // 14),
            stroke_fill=(0, 0, 0, 255),
        )
        y += size * 1.15


def _colour(rng):
    return tuple(rng.randint(0, 255) for _ in range(3))


def caption_layer(top, bottom, size, rng):
    """Top/bottom captions in a random font and style on a clear RGBA layer.

    Styles: white with a black outline; black with no outline; text on a filled
    box (white, black or a colour) across the band.
    """
    width, height = size
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    path = rng.choice(fonts())
    style = rng.choice(CAPTION_STYLES)
    band = int(height * rng.uniform(0.12, BAND))
    box_fill = rng.choice(((255, 255, 255), (0, 0, 0), _colour(rng)))
    for text, y in ((top, 0), (bottom, height - band)):
        if not text or not text.strip():
            continue
        fill, stroke = (255, 255, 255, 255), 1
        if style == "black":
            fill, stroke = (0, 0, 0, 255), 0
        elif style == "boxed":
            draw.rectangle((0, y, width, y + band), fill=(*box_fill, 255))
            dark = sum(box_fill) > 3 * 140
            fill, stroke = ((0, 0, 0, 255) if dark else (255, 255, 255, 255)), 0
        margin = int(width * 0.03)
        draw_text(
            draw,
            text.upper(),
            (margin, y, width - margin, y + band),
            path,
            fill,
            stroke,
        )
    return layer


def cover_layer(text, size, rng):
    """An opaque or semi-opaque caption box over the middle 30-60% of the height."""
    width, height = size
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    span = int(height * rng.uniform(*COVER))
    top = int((height - span) * rng.uniform(0.3, 0.7))
    inset = int(width * rng.uniform(0.0, 0.1))
    colour = rng.choice(((255, 255, 255), (0, 0, 0), _colour(rng)))
    alpha = rng.choice((255, rng.randint(170, 235)))
    draw.rectangle((inset, top, width - inset, top + span), fill=(*colour, alpha))
    ink = (0, 0, 0, 255) if sum(colour) > 3 * 140 else (255, 255, 255, 255)
    margin = inset + int(width * 0.05)
    draw_text(
        draw,
        text,
        (margin, top + span // 8, width - margin, top + span - span // 8),
        rng.choice(fonts()),
        ink,
        max_lines=4,
    )
    return layer


def watermark_layer(size, rng, other=False):
    """A small semi-transparent site mark: ``WATERMARK`` in the bottom-left
    corner, or with ``other`` another site's mark in a random corner."""
    width, height = size
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    text, corner = WATERMARK, "bottom-left"
    if other:
        text = rng.choice(OTHER_MARKS)
        corner = rng.choice(("bottom-left", "bottom-right", "top-right", "top-left"))
    font = _font(rng.choice(fonts()[1:] or fonts()), max(8, height * MARK_HEIGHT))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(2, (bottom - top) // 4)
    w, h = right - left + 2 * pad, bottom - top + 2 * pad
    x = 0 if corner.endswith("left") else width - w
    y = height - h if corner.startswith("bottom") else 0
    if rng.random() < 0.6:  # imgflip lays a dark translucent strip under its mark.
        draw.rectangle((x, y, x + w, y + h), fill=(0, 0, 0, rng.randint(60, 140)))
    alpha = rng.randint(150, 230)
    draw.text(
        (x + pad - left, y + pad - top), text, font=font, fill=(255, 255, 255, alpha)
    )
    return layer


def screenshot_frame(picture_size, rng):
    """A phone / social-media screenshot around a picture of ``picture_size``.

    Returns ``(frame, box)``: an RGBA frame (status bar, avatar and username,
    a line of post text, grey margins, a like/repost bar) with a clear window,
    and the window's ``(left, top, right, bottom)``, where the picture goes at
    a smaller scale than the screenshot.
    """
    pw, ph = picture_size
    width = int(pw / rng.uniform(*FRAME_SCALE))
    inner_w = pw
    inner_h = ph
    unit = max(8, width // 24)
    head = 5 * unit
    foot = 3 * unit
    height = head + inner_h + foot
    dark = rng.random() < 0.4
    background = (
        (21, 32, 43) if dark else rng.choice(((255, 255, 255), (236, 236, 236)))
    )
    ink = (230, 230, 230, 255) if dark else (20, 20, 20, 255)
    grey = (136, 153, 166, 255)
    frame = Image.new("RGBA", (width, height), (*background, 255))
    draw = ImageDraw.Draw(frame)
    font = _font(rng.choice(fonts()[1:] or fonts()), unit * 0.8)
    draw.rectangle(
        (0, 0, width, unit), fill=(0, 0, 0, 255) if dark else (245, 245, 245, 255)
    )
    draw.text(
        (unit // 2, unit * 0.1),
        f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d}",
        font=font,
        fill=ink,
    )
    draw.ellipse(
        (unit // 2, int(1.4 * unit), int(2.3 * unit), int(3.2 * unit)),
        fill=(*_colour(rng), 255),
    )
    draw.text((3 * unit, int(1.5 * unit)), rng.choice(USERNAMES), font=font, fill=ink)
    draw.text((3 * unit, int(2.5 * unit)), rng.choice(FILLER), font=font, fill=grey)
    left = (width - inner_w) // 2
    box = (left, head, left + inner_w, head + inner_h)
    draw.rectangle(box, fill=(0, 0, 0, 0))
    y = head + inner_h + unit
    for i, action in enumerate(("Like", "Repost", "Share")):
        x = unit + i * width // 4
        draw.text((x, y), f"{action} {rng.randint(1, 999)}", font=font, fill=grey)
    return frame, box


def frame(picture, rng):
    """``picture`` (RGB) as a screenshot inside ``screenshot_frame``."""
    layer, box = screenshot_frame(picture.size, rng)
    out = Image.new("RGB", layer.size)
    out.paste(picture, box[:2])
    out.paste(layer, (0, 0), layer)
    return out


def crop(image, rng, min_area=0.7):
    """A random crop keeping ``min_area``..1 of the area."""
    area = rng.uniform(min_area, 1.0)
    aspect = rng.uniform(0.8, 1.25)
    w = min(image.width, round(image.width * (area * aspect) ** 0.5))
    h = min(image.height, round(image.height * area / (w / image.width)))
    left = rng.randint(0, image.width - w)
    top = rng.randint(0, image.height - h)
    return image.crop((left, top, left + w, top + h))


def pad(image, rng):
    """A border of white, black or a colour, of random width on each side."""
    colour = rng.choice(((255, 255, 255), (0, 0, 0), _colour(rng)))
    side = max(image.size)
    widths = [round(side * rng.uniform(*BORDER)) for _ in range(4)]
    out = Image.new(
        "RGB",
        (image.width + widths[0] + widths[2], image.height + widths[1] + widths[3]),
        colour,
    )
    out.paste(image, (widths[0], widths[1]))
    return out


def stack(image, other, rng):
    """``image`` with ``other`` (scaled to its width, at most half its height)
    above or below it, as in two-panel and stacked memes."""
    h = min(round(other.height * image.width / other.width), image.height // 2)
    other = other.resize((image.width, max(1, h)))
    gap = rng.choice((0, max(2, image.width // 60)))
    out = Image.new(
        "RGB", (image.width, image.height + other.height + gap), (255, 255, 255)
    )
    on_top = rng.random() < 0.5
    out.paste(other, (0, 0 if on_top else image.height + gap))
    out.paste(image, (0, other.height + gap if on_top else 0))
    return out


def rescale(image, width):
    """``image`` resized to ``width`` pixels wide, keeping its aspect."""
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.BILINEAR)


def jpeg(image, quality):
    """``image`` saved as JPEG at ``quality``; returns the bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def layer_bank(kind, n, canvas, seed):
    """``n`` RGBA layers of ``kind`` (``caption``, ``cover`` or ``watermark``)
    drawn at a random aspect and squeezed to a ``canvas`` square, as caption
    banks are: uint8 [n, canvas, canvas, 4]."""
    draw = {
        "caption": lambda s, r: caption_layer(
            r.choice(FILLER), r.choice(("", *FILLER)), s, r
        ),
        "cover": lambda s, r: cover_layer(r.choice(FILLER), s, r),
        "watermark": lambda s, r: watermark_layer(s, r, other=r.random() < 0.35),
    }[kind]
    rng = random.Random(f"{kind}-{seed}")
    bank = np.zeros((n, canvas, canvas, 4), np.uint8)
    for i in range(n):
        size = (LAYOUT_WIDTH, round(LAYOUT_WIDTH / rng.uniform(0.6, 1.7)))
        layer = draw(size, rng)
        bank[i] = np.asarray(layer.resize((canvas, canvas), Image.Resampling.BILINEAR))
    return bank


def frame_bank(n, canvas, seed):
    """``n`` screenshot frames squeezed to a ``canvas`` square, and where the
    picture goes in each: (uint8 [n, canvas, canvas, 4], int32 [n, 4] of top,
    left, height, width)."""
    rng = random.Random(f"frame-{seed}")
    layers = np.zeros((n, canvas, canvas, 4), np.uint8)
    boxes = np.zeros((n, 4), np.int32)
    for i in range(n):
        picture = (LAYOUT_WIDTH, round(LAYOUT_WIDTH / rng.uniform(0.6, 1.7)))
        layer, (left, top, right, bottom) = screenshot_frame(picture, rng)
        sx, sy = canvas / layer.width, canvas / layer.height
        layers[i] = np.asarray(
            layer.resize((canvas, canvas), Image.Resampling.BILINEAR)
        )
        y0, x0 = round(top * sy), round(left * sx)
        h = min(canvas - y0, max(1, round(bottom * sy) - y0))
        boxes[i] = (y0, x0, h, min(canvas - x0, max(1, round(right * sx) - x0)))
    return layers, boxes
