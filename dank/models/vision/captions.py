"""Caption text layers in meme style, rendered once with Pillow.

Augmentation composites these RGBA layers onto template images inside tf.data,
so the expensive part (font layout) happens once per bank, not once per image.
"""

import functools

import numpy as np
from PIL import Image, ImageDraw

from dank.render.font import load_font
from dank.render.meme import fit_text, stroke_width_for

# The width at which text is laid out before the layer is resized to the canvas.
LAYOUT_WIDTH = 320
MAX_LINES = 3
BOX_SHARE = 0.3  # A caption box takes at most this share of the image height.
MARGIN = 0.03  # Side and edge margins, as a share of the width.


@functools.lru_cache(maxsize=4096)
def _layout(text, width, height, start):
    """Font size and lines of one caption box: the same fitting as the memes
    dank draws (``dank.render.meme.fit_text``). Remembered because fitting is
    most of a bank's cost and a bank at another canvas size lays out the same
    captions at the same ``LAYOUT_WIDTH`` (the progressive-resizing phases)."""
    size, lines, _ = fit_text(
        text,
        width * (1 - 2 * MARGIN),
        height * BOX_SHARE,
        max_lines=MAX_LINES,
        max_size=start,
    )
    return size, tuple(lines)


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
        size, lines = _layout(text.upper(), width, height, start)
        font = load_font(size)
        line_height = size * 1.1
        block = len(lines) * line_height
        y = height * MARGIN if at_top else height * (1 - MARGIN) - block
        for line in lines:
            x = (width - draw.textlength(line, font=font)) / 2
            draw.text(
                (x, y),
                line,
                font=font,
                fill=(255, 255, 255, 255),
                stroke_width=stroke_width_for(size),
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
