"""Training and validation pipelines for the template classifier.

Training streams endless meme-like images, every template equally often, with
captions from the train split. Validation is a fixed set: ``val_per_template``
memes of every template drawn with a fixed seed and the val split's captions,
plus ``val_unknown`` pictures of no template for calibrating ``known``.
"""

import functools
import logging
import os

import numpy as np
import tensorflow as tf

from dank.core.errors import DankError
from dank.data import pipeline
from dank.models.vision import augment
from dank.models.vision.captions import caption_bank

log = logging.getLogger(__name__)

TRAIN_SEED_OFFSET = 1  # Train and val streams never share a seed.
UNKNOWN_SEED_OFFSET = 2


def canvas_size(config):
    """Side of the square canvas templates are resized to before cropping."""
    return int(round(config.image_size * config.canvas_scale))


def _captions(data_dir, split):
    try:
        return pipeline.load_captions(data_dir, split)
    except Exception as e:  # noqa: BLE001 - a build without captions still trains.
        log.warning(
            "no %s captions in %s (%s); training without caption text",
            split,
            data_dir,
            e,
        )
        return []


def _bank(data_dir, split, config, seed):
    """The split's caption layers (``caption_bank``), rendered once per process:
    the training phases, the BatchNorm pass and the evaluation share them."""
    try:
        files = pipeline.caption_files(data_dir, split)
        stamp = tuple((str(f), os.stat(f).st_mtime_ns) for f in files)
    except (DankError, OSError):  # _captions says why there is no text.
        stamp = ()
    return _render_bank(
        str(data_dir), split, config.caption_bank, canvas_size(config), seed, stamp
    )


@functools.lru_cache(maxsize=4)
def _render_bank(data_dir, split, n, canvas, seed, stamp):
    """``_bank``'s cache, keyed on the caption shards' names and times."""
    del stamp  # Only part of the key: a rebuilt split renders afresh.
    bank = caption_bank(_captions(data_dir, split), n, canvas, seed)
    bank.flags.writeable = False
    return bank


def _templates(data_dir, canvas):
    """(canvas float32 image, label) per template, cached in memory as uint8."""

    def to_canvas(example):
        image = augment.to_canvas(example["image"], canvas)
        return tf.cast(tf.round(image), tf.uint8), tf.cast(example["label"], tf.int32)

    return (
        pipeline.image_dataset(data_dir)
        .map(to_canvas, num_parallel_calls=tf.data.AUTOTUNE)
        .cache()
    )


def _memes(
    templates,
    bank,
    seed,
    config,
    wild=True,
    flip_prob=augment.FLIP_PROB,
    others=None,
    shares=None,
):
    """Maps (template, label) with an index onto augmented memes; ``others``,
    a second stream of (template, label), gives the pictures to stack on."""
    canvas = canvas_size(config)
    bank = tf.constant(bank)
    n_layers = bank.shape[0]
    if others is not None:
        templates = tf.data.Dataset.zip(templates, others)

    def make(index, item):
        other = None
        if others is not None:
            item, (other, _) = item
            other = tf.cast(other, tf.float32)
        template, label = item
        example_seed = tf.stack([tf.constant(seed, tf.int64), index])
        example_seed = tf.cast(example_seed % (2**31 - 1), tf.int32)
        pick = tf.random.stateless_uniform(
            [], example_seed + 7, 0, n_layers, dtype=tf.int32
        )
        layer = tf.ensure_shape(tf.gather(bank, pick), (canvas, canvas, 4))
        image = augment.meme_augment(
            tf.cast(template, tf.float32),
            layer,
            example_seed,
            config.image_size,
            config.min_crop_area,
            config.jpeg_quality,
            wild=wild,
            flip_prob=flip_prob,
            other=other,
            shares=shares,
        )
        return image, label

    return templates.enumerate().map(
        make, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )


def train_dataset(data_dir, config, seed=None):
    """Endless batches of (images float32 [B, S, S, 3], labels int32 [B]).

    ``seed`` picks the stream (templates, crops, effects); the caption layers
    are the training split's one bank whatever the seed."""
    bank = _bank(data_dir, "train", config, config.seed + TRAIN_SEED_OFFSET)
    seed = config.seed + TRAIN_SEED_OFFSET if seed is None else seed
    pictures = _templates(data_dir, canvas_size(config))
    templates = pictures.shuffle(config.shuffle_buffer, seed=seed).repeat()
    others = None
    if config.stack_prob:
        # Another shuffle of the same pictures: what gets stacked on.
        others = pictures.shuffle(config.shuffle_buffer, seed=seed + 1).repeat()
    memes = _memes(
        templates,
        bank,
        seed,
        config,
        flip_prob=config.flip_prob,
        others=others,
        shares=config.wild_shares(),
    )
    memes = memes.batch(config.batch_size, drop_remainder=True)
    return pipeline.without_autotune_thread(memes.prefetch(tf.data.AUTOTUNE))


def val_dataset(data_dir, config, batch_size=None, wild=True):
    """The fixed synthetic-meme validation set: batches of (images, labels);
    ``wild=False`` draws the same memes without the effects of the wild."""
    seed = config.seed
    bank = _bank(data_dir, "val", config, seed)
    templates = _templates(data_dir, canvas_size(config)).repeat(
        config.val_per_template
    )
    memes = _memes(templates, bank, seed, config, wild=wild)
    return pipeline.without_autotune_thread(
        memes.batch(batch_size or config.batch_size)
    )


def template_images(data_dir, config, batch_size=None):
    """Each template's clean picture at the model's input size, no caption:
    batches of (images float32 [B, S, S, 3], labels int32 [B]), in build order."""
    images = _templates(data_dir, config.image_size).map(
        lambda image, label: (tf.cast(image, tf.float32), label)
    )
    return pipeline.without_autotune_thread(
        images.batch(batch_size or config.batch_size)
    )


def unknown_dataset(config, batch_size=None):
    """Fixed synthetic pictures of no template: batches of images."""
    seed = config.seed + UNKNOWN_SEED_OFFSET

    def make(index):
        example_seed = tf.cast(tf.stack([tf.constant(seed, tf.int64), index]), tf.int32)
        return augment.synthetic_unknown(example_seed, config.image_size)

    ds = tf.data.Dataset.range(config.val_unknown).map(
        make, num_parallel_calls=tf.data.AUTOTUNE
    )
    return pipeline.without_autotune_thread(ds.batch(batch_size or config.batch_size))


def validation_arrays(data_dir, config):
    """The validation memes as numpy: (uint8 images [N, S, S, 3], labels [N])."""
    images, labels = [], []
    for x, y in val_dataset(data_dir, config):
        images.append(np.round(x.numpy()).astype(np.uint8))
        labels.append(y.numpy())
    return np.concatenate(images), np.concatenate(labels)
