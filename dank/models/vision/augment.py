"""Meme-like augmentation as TensorFlow ops, for use inside tf.data.

A template has one clean picture but users upload memes: that picture with
caption text on it, cropped, resized, re-compressed, sometimes mirrored or
framed. ``meme_augment`` turns a template into such a meme. Every random choice
uses stateless ops driven by an explicit seed, so a fixed seed gives a fixed
validation set and training never depends on global RNG state.

All images here are float32 RGB in 0..255, channels last.
"""

import tensorflow as tf

CAPTION_PROB = 0.9  # Share of memes that carry a caption layer.
FLIP_PROB = 0.15  # Mirrored reposts.
BORDER_PROB = 0.25  # Framed or letter-boxed memes.
MAX_BORDER = 0.12  # Border width as a share of the side.
JPEG_PROB = 0.85  # Re-compressed at a random quality.
NOISE_STD = 4.0  # Max std of additive sensor-like noise, in pixel values.


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


def meme_augment(template, layer, seed, image_size, min_crop_area, jpeg_quality):
    """Makes one meme-like training image from a template canvas.

    Args:
        template: float32 [C, C, 3], the template resized to the canvas.
        layer: uint8 [C, C, 4], a caption text layer (see ``captions``).
        seed: int32 [2], the stateless seed of this example.
        image_size: output side S.
        min_crop_area: smallest share of the canvas a crop keeps.
        jpeg_quality: (min, max) JPEG quality.

    Returns:
        float32 [S, S, 3] in 0..255.
    """
    seeds = tf.random.experimental.stateless_split(seed, 12)
    image = tf.cond(
        _coin(seeds[0], CAPTION_PROB),
        lambda: composite(template, layer),
        lambda: template,
    )
    image = tf.cond(
        _coin(seeds[1], JPEG_PROB),
        lambda: (
            255.0
            * tf.image.stateless_random_jpeg_quality(
                image / 255.0, jpeg_quality[0], jpeg_quality[1], seeds[2]
            )
        ),
        lambda: image,
    )
    image = _crop(image, seeds[3], min_crop_area)
    image = tf.cond(
        _coin(seeds[4], BORDER_PROB), lambda: _border(image, seeds[5]), lambda: image
    )
    image = tf.image.resize(image, (image_size, image_size), antialias=True)
    image = tf.cond(
        _coin(seeds[6], FLIP_PROB),
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
