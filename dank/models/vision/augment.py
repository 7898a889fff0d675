"""Meme-like augmentation as TensorFlow ops, for use inside tf.data.

A template has one clean picture but users upload memes: that picture with
caption text on it, cropped, resized, re-compressed, sometimes mirrored or
framed. ``meme_augment`` turns a template into such a meme. Every random choice
uses stateless ops driven by an explicit seed, so a fixed seed gives a fixed
validation set and training never depends on global RNG state.

Memes in the wild also carry site watermarks, other caption fonts and colours,
caption boxes over the subject, screenshot frames and heavy re-compression.
Those layers are drawn once with Pillow by ``wild`` (the same code that draws
the evaluation stand-in, ``tools/render_eval_memes.py --style wild``) into
banks, and composited here with modest probabilities.

All images here are float32 RGB in 0..255, channels last.
"""

import functools

import tensorflow as tf

from dank.models.vision import wild

CAPTION_PROB = 0.9  # Share of memes that carry a caption layer.
FLIP_PROB = 0.15  # Mirrored reposts (their share in the validation memes).
BORDER_PROB = 0.25  # Framed or letter-boxed memes.
MAX_BORDER = 0.12  # Border width as a share of the side.
JPEG_PROB = 0.85  # Re-compressed at a random quality.
NOISE_STD = 4.0  # Max std of additive sensor-like noise, in pixel values.
# Effects of memes in the wild (``wild``), each with its share of memes.
RESTYLE_PROB = 0.2  # The caption in another font and colour instead.
COVER_PROB = 0.1  # A caption box over the middle of the picture.
WATERMARK_PROB = 0.25  # imgflip's mark bottom left, or another site's.
FRAME_PROB = 0.08  # A social-media screenshot around the picture.
STACK_PROB = 0.0  # Another template's picture above or below (needs ``other``).
STACK_SHARE = (0.2, 1 / 3)  # The other picture's share of the stacked height.
LOW_JPEG_PROB = 0.15  # Re-compressed once more at a low quality.
LOW_JPEG = (20, 45)  # Its quality range.
WILD_BANK = 48  # Layers of each kind, drawn once per canvas size.
WILD_SEED = 7919  # Folded into an example's seed for the wild effects, so the
# older effects keep their draws.


def to_canvas(image, canvas):
    """Resizes a uint8 template image [H, W, 3] to a square float32 canvas."""
    image = tf.image.resize(
        tf.cast(image, tf.float32), (canvas, canvas), antialias=True
    )
    return tf.clip_by_value(image, 0.0, 255.0)


def composite(image, layer):
    """Alpha-blends an RGBA uint8 ``layer`` over a float ``image`` of the same size."""
    layer = tf.cast(layer, tf.float32)
    alpha = layer[..., 3:] / 255.0
    return image * (1.0 - alpha) + layer[..., :3] * alpha


def _coin(seed, prob):
    return tf.random.stateless_uniform([], seed) < prob


def _jpeg(image, quality, seed):
    return 255.0 * tf.image.stateless_random_jpeg_quality(
        image / 255.0, quality[0], quality[1], seed
    )


def _crop(image, seed, min_area):
    """A random crop keeping ``min_area``..1 of the area at aspect 3/4..4/3."""
    side = tf.cast(tf.shape(image)[0], tf.float32)
    seeds = tf.random.experimental.stateless_split(seed, 4)
    area = tf.random.stateless_uniform([], seeds[0], min_area, 1.0)
    log_ratio = tf.random.stateless_uniform([], seeds[1], -0.2877, 0.2877)  # ln(4/3)
    ratio = tf.exp(log_ratio)
    height = tf.minimum(side, side * tf.sqrt(area / ratio))
    width = tf.minimum(side, side * tf.sqrt(area * ratio))
    h, w = tf.cast(height, tf.int32), tf.cast(width, tf.int32)
    size = tf.cast(side, tf.int32)
    top = tf.cast(
        tf.random.stateless_uniform([], seeds[2]) * tf.cast(size - h + 1, tf.float32),
        tf.int32,
    )
    left = tf.cast(
        tf.random.stateless_uniform([], seeds[3]) * tf.cast(size - w + 1, tf.float32),
        tf.int32,
    )
    return tf.image.crop_to_bounding_box(
        image, tf.minimum(top, size - h), tf.minimum(left, size - w), h, w
    )


def _border(image, seed):
    """Pads the image with a frame of white, black or a random colour."""
    seeds = tf.random.experimental.stateless_split(seed, 3)
    shape = tf.shape(image)
    h, w = shape[0], shape[1]
    pads = tf.random.stateless_uniform([4], seeds[0], 0.0, MAX_BORDER)
    pads = tf.cast(pads * tf.cast(tf.stack([h, h, w, w]), tf.float32), tf.int32)
    choice = tf.random.stateless_uniform([], seeds[1])
    random_colour = tf.random.stateless_uniform([3], seeds[2], 0.0, 255.0)
    colour = tf.where(choice < 0.4, 255.0, tf.where(choice < 0.8, 0.0, random_colour))
    colour = colour * tf.ones([3])
    padded = tf.pad(image - colour, [[pads[0], pads[1]], [pads[2], pads[3]], [0, 0]])
    return padded + colour


@functools.cache
def wild_banks(canvas):
    """The ``wild`` layers at ``canvas`` size: {kind: uint8 [N, C, C, 4]}, plus
    ``frame_boxes`` int32 [N, 4] (top, left, height, width) of each frame's
    window. Drawn once per size, always with the same seed."""
    banks = {
        kind: wild.layer_bank(kind, WILD_BANK, canvas, WILD_SEED)
        for kind in ("caption", "cover", "watermark")
    }
    banks["frame"], banks["frame_boxes"] = wild.frame_bank(WILD_BANK, canvas, WILD_SEED)
    return banks


def _pick(bank, seed):
    bank = tf.constant(bank)
    return bank[tf.random.stateless_uniform([], seed, 0, bank.shape[0], tf.int32)]


def _frame(image, layer, box):
    """``image`` shrunk into ``box`` (top, left, height, width) of the
    screenshot frame ``layer``."""
    canvas = tf.shape(image)[:2]
    inner = tf.image.resize(image, box[2:], antialias=True)
    after = canvas - box[:2] - box[2:]
    inner = tf.pad(inner, [[box[0], after[0]], [box[1], after[1]], [0, 0]])
    return composite(tf.reshape(inner, tf.shape(image)), layer)


def _stack(image, other, seed):
    """``other`` squeezed above or below ``image`` on the same square canvas,
    as ``wild.stack`` draws two-panel memes (the other picture at most half
    the main one's height) before the classifier squeezes them square."""
    seeds = tf.random.experimental.stateless_split(seed, 2)
    side = tf.shape(image)[0]
    share = tf.random.stateless_uniform([], seeds[0], *STACK_SHARE)
    h = tf.cast(share * tf.cast(side, tf.float32), tf.int32)
    width = tf.shape(image)[1]
    main = tf.image.resize(image, tf.stack([side - h, width]), antialias=True)
    other = tf.image.resize(other, tf.stack([h, width]), antialias=True)
    out = tf.cond(
        _coin(seeds[1], 0.5),
        lambda: tf.concat([other, main], axis=0),
        lambda: tf.concat([main, other], axis=0),
    )
    return tf.reshape(out, tf.shape(image))


def _maybe(seed, prob, effect, image):
    return tf.cond(_coin(seed, prob), lambda: effect(image), lambda: image)


def _wild(template, layer, seed, other=None, shares=None):
    """Draws the wild effects of one example.

    Returns ``(layer, effects, recompress)``: the caption layer (sometimes
    swapped for one in another font and colour), a function applying the
    covering box, the stacked ``other`` picture, watermark and screenshot
    frame to the captioned canvas (in ``tools/render_eval_memes.py``'s order),
    and one applying the low-quality re-compression after the usual JPEG.
    ``shares`` may set "cover", "stacked" and "screenshot" (else
    ``COVER_PROB``, ``STACK_PROB``, ``FRAME_PROB``).
    """
    shares = shares or {}
    banks = wild_banks(int(layer.shape[0]))
    seeds = tf.random.experimental.stateless_split(
        tf.random.experimental.stateless_fold_in(seed, WILD_SEED), 9
    )
    # Its own seeds, so that the other effects keep their draws.
    stack_seeds = tf.random.experimental.stateless_split(
        tf.random.experimental.stateless_fold_in(seed, WILD_SEED + 1), 2
    )
    layer = tf.cond(
        _coin(seeds[0], RESTYLE_PROB),
        lambda: _pick(banks["caption"], seeds[1]),
        lambda: tf.convert_to_tensor(layer),
    )
    cover = _pick(banks["cover"], seeds[3])
    mark = _pick(banks["watermark"], seeds[5])
    pick = tf.random.stateless_uniform([], seeds[7], 0, WILD_BANK, tf.int32)
    frame = tf.gather(tf.constant(banks["frame"]), pick)
    box = tf.gather(tf.constant(banks["frame_boxes"]), pick)

    def effects(image):
        cover_prob = shares.get("cover", COVER_PROB)
        image = _maybe(seeds[2], cover_prob, lambda x: composite(x, cover), image)
        if other is not None:
            stack_prob = shares.get("stacked", STACK_PROB)
            image = _maybe(
                stack_seeds[0],
                stack_prob,
                lambda x: _stack(x, other, stack_seeds[1]),
                image,
            )
        image = _maybe(seeds[4], WATERMARK_PROB, lambda x: composite(x, mark), image)
        frame_prob = shares.get("screenshot", FRAME_PROB)
        return _maybe(seeds[6], frame_prob, lambda x: _frame(x, frame, box), image)

    low = seeds[8]

    def recompress(image):
        return _maybe(low, LOW_JPEG_PROB, lambda x: _jpeg(x, LOW_JPEG, low + 1), image)

    return layer, effects, recompress


def meme_augment(
    template,
    layer,
    seed,
    image_size,
    min_crop_area,
    jpeg_quality,
    wild=True,
    flip_prob=FLIP_PROB,
    other=None,
    shares=None,
):
    """Makes one meme-like training image from a template canvas.

    Args:
        template: float32 [C, C, 3], the template resized to the canvas.
        layer: uint8 [C, C, 4], a caption text layer (see ``captions``).
        seed: int32 [2], the stateless seed of this example.
        image_size: output side S.
        min_crop_area: smallest share of the canvas a crop keeps.
        jpeg_quality: (min, max) JPEG quality.
        wild: add the effects of memes in the wild (``_wild``: other fonts,
            covering boxes, watermarks, screenshot frames, low-quality JPEG);
            without them the meme is "light", like an imgflip original.
        flip_prob: share of memes mirrored left to right.
        other: float32 [C, C, 3], another template's canvas to stack above or
            below (None: never stacked).
        shares: {"cover", "stacked", "screenshot": share of memes with that
            wild effect}, overriding the module's; see ``_wild``.

    Returns:
        float32 [S, S, 3] in 0..255.
    """
    seeds = tf.random.experimental.stateless_split(seed, 12)
    wild_effects = recompress = tf.identity
    if wild:
        layer, wild_effects, recompress = _wild(template, layer, seed, other, shares)
    image = tf.cond(
        _coin(seeds[0], CAPTION_PROB),
        lambda: composite(template, layer),
        lambda: template,
    )
    image = wild_effects(image)
    image = tf.cond(
        _coin(seeds[1], JPEG_PROB),
        lambda: _jpeg(image, jpeg_quality, seeds[2]),
        lambda: image,
    )
    image = recompress(image)
    image = _crop(image, seeds[3], min_crop_area)
    image = tf.cond(
        _coin(seeds[4], BORDER_PROB), lambda: _border(image, seeds[5]), lambda: image
    )
    image = tf.image.resize(image, (image_size, image_size), antialias=True)
    image = tf.cond(
        _coin(seeds[6], flip_prob),
        lambda: tf.image.flip_left_right(image),
        lambda: image,
    )
    image = tf.clip_by_value(image, 0.0, 255.0) / 255.0
    image = tf.image.stateless_random_brightness(image, 0.12, seeds[7])
    image = tf.image.stateless_random_contrast(image, 0.75, 1.3, seeds[8])
    image = tf.image.stateless_random_saturation(
        tf.clip_by_value(image, 0.0, 1.0), 0.6, 1.4, seeds[9]
    )
    image = tf.image.stateless_random_hue(image, 0.03, seeds[10])
    noise_std = tf.random.stateless_uniform([], seeds[11], 0.0, NOISE_STD / 255.0)
    image = image + noise_std * tf.random.stateless_normal(tf.shape(image), seeds[11])
    image = tf.clip_by_value(image, 0.0, 1.0) * 255.0
    image.set_shape((image_size, image_size, 3))
    return image


def synthetic_unknown(seed, image_size):
    """A picture that is no template: smooth colour fields, blobs and noise.

    Used as the "unknown" side when calibrating the known/unknown threshold. It
    is a blend of a colour gradient (random colours on a coarse grid, upsampled)
    and multi-scale value noise, which looks like an out-of-focus photo.

    Args:
        seed: int32 [2].
        image_size: output side S.

    Returns:
        float32 [S, S, 3] in 0..255.
    """
    seeds = tf.random.experimental.stateless_split(seed, 6)
    size = (image_size, image_size)
    image = tf.zeros(size + (3,))
    for i, grid in enumerate((2, 4, 8, 16)):
        coarse = tf.random.stateless_uniform([grid, grid, 3], seeds[i], 0.0, 255.0)
        weight = tf.random.stateless_uniform([], seeds[5] + i, 0.2, 1.0) / (i + 1)
        image += weight * tf.image.resize(coarse[None], size, method="bicubic")[0]
    image = image / tf.reduce_max(tf.abs(image) + 1e-6) * 255.0
    fine = tf.random.stateless_normal(size + (3,), seeds[4], stddev=6.0)
    return tf.clip_by_value(image + fine, 0.0, 255.0)
