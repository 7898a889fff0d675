"""Caption text layers in meme style, rendered once with Pillow.

Augmentation composites these RGBA layers onto template images inside tf.data,
so the expensive part (font layout) happens once per bank, not once per image.
"""

import numpy as np
from PIL import Image, ImageDraw

from dank.render.font import load_font

# The width at which text is laid out before the layer is resized to the canvas.
LAYOUT_WIDTH = 320
MAX_LINES = 3
BOX_SHARE = 0.3  # A caption box takes at most this share of the image height.
MARGIN = 0.03  # Side and edge margins, as a share of the width.


def _wrap(draw, words, font, max_width):
    """Greedy word wrap; returns lines or None when a single word is too wide."""
    lines, line = [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) <= max_width:
            line = candidate
            continue
        if not line:
            return None
        lines.append(line)
        line = word
        if draw.textlength(line, font=font) > max_width:
            return None
    if line:
        lines.append(line)
    return lines


def _layout(draw, text, width, height, size):
    """Finds the largest font size <= ``size`` at which ``text`` fits its box."""
    words = text.upper().split()
    max_width = width * (1 - 2 * MARGIN)
    while size >= 8:
        font = load_font(size)
        lines = _wrap(draw, words, font, max_width)
        line_height = size * 1.1
        if (
            lines
            and len(lines) <= MAX_LINES
            and len(lines) * line_height <= height * BOX_SHARE
        ):
            return font, lines, line_height
        size = int(size * 0.88)
    font = load_font(8)
    return (
        font,
        (_wrap(draw, words, font, max_width) or [" ".join(words)])[:MAX_LINES],
        8.8,
    )


def render_caption(top, bottom, width, height, size_factor=1.0):
    """Draws ``top``/``bottom`` text, white with a black stroke, on a clear layer.

    Args:
        top: text for the top box ("" for none).
        bottom: text for the bottom box ("" for none).
        width: layer width in pixels.
        height: layer height in pixels.
        size_factor: scales the starting font size (real memes vary).

    Returns:
        An RGBA ``PIL.Image`` of size (width, height).
    """
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    start = max(8, int(min(height * 0.14, width * 0.16) * size_factor))
    for text, at_top in ((top, True), (bottom, False)):
        if not text or not text.strip():
            continue
        font, lines, line_height = _layout(draw, text, width, height, start)
        stroke = max(1, round(font.size / 14))
        block = len(lines) * line_height
        y = height * MARGIN if at_top else height * (1 - MARGIN) - block
        for line in lines:
            x = (width - draw.textlength(line, font=font)) / 2
            draw.text(
                (x, y),
                line,
                font=font,
                fill=(255, 255, 255, 255),
                stroke_width=stroke,
                stroke_fill=(0, 0, 0, 255),
            )
            y += line_height
    return layer


def caption_bank(captions, n, canvas, seed):
    """Renders ``n`` random captions as square RGBA layers of side ``canvas``.

    Each caption is laid out on an image of random aspect ratio, then squeezed
    to the square canvas, as the text of a real meme is when the whole meme is
    resized to the model's square input.

    Args:
        captions: a list of dicts with ``"top"`` and ``"bottom"`` strings.
        n: number of layers.
        canvas: side of each layer in pixels.
        seed: seed for the choice of captions and their layout.

    Returns:
        uint8 array [n, canvas, canvas, 4].
    """
    rng = np.random.default_rng(seed)
    if not captions:
        captions = [{"top": "", "bottom": ""}]
    bank = np.zeros((n, canvas, canvas, 4), np.uint8)
    for i in range(n):
        caption = captions[int(rng.integers(len(captions)))]
        top, bottom = caption.get("top") or "", caption.get("bottom") or ""
        roll = rng.random()
        if roll < 0.12:
            bottom = ""  # Top-only memes are common.
        elif roll < 0.2:
            top = ""
        aspect = float(np.exp(rng.uniform(np.log(0.6), np.log(1.7))))
        width, height = LAYOUT_WIDTH, max(64, int(LAYOUT_WIDTH / aspect))
        layer = render_caption(top, bottom, width, height, rng.uniform(0.6, 1.15))
        bank[i] = np.asarray(layer.resize((canvas, canvas), Image.Resampling.BILINEAR))
    return bank
