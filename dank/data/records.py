"""The TFRecord format of a data build: one ``tf.train.Example`` per record.

Images (``constants.IMAGES_PATTERN``), one record per template:
    ``image/encoded`` bytes (JPEG), ``image/template_id`` bytes (canonical id),
    ``image/label`` int64.
Captions (``constants.CAPTIONS_PATTERN``, one set of shards per split):
    ``caption/label`` int64, ``caption/tokens`` int64 list (``<s> top <sep>
    bottom </s>`` as vocabulary ids), ``caption/score`` float (upvote percentile
    within the template, ``NO_SCORE`` when the source had none),
    ``caption/top`` and ``caption/bottom`` bytes (cleaned text),
    ``caption/weight`` float (training loss weight: 1, or the safety filter's
    ``TrainingFilter.weight`` for a flagged caption of a ``"downweight"`` build;
    builds older than the key read as 1), ``caption/upvotes`` and
    ``caption/views`` float (the source's raw imgflip upvotes and views, for the
    humour model's exposure-corrected targets; NaN when the source had none, and
    in builds older than the keys).
"""

import math
from pathlib import Path

from dank.core import constants

NO_SCORE = -1.0  # Caption score when the source gave no votes.
UPVOTES = "imgflip_upvotes"  # The source score type that is a raw upvote count.
IMAGES_PER_SHARD = 1000  # Templates per image shard (about 40 MB of JPEG).
CAPTIONS_PER_SHARD = 100_000  # Captions per caption shard (about 10 MB).


def _tf():
    import tensorflow as tf

    return tf


def _bytes(values):
    tf = _tf()
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def _ints(values):
    tf = _tf()
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _floats(values):
    tf = _tf()
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def _example(features):
    tf = _tf()
    # Deterministic: protobuf writes a map's entries in an arbitrary order, so
    # two builds of the same source would hold the same records in other bytes.
    return tf.train.Example(
        features=tf.train.Features(feature=features)
    ).SerializeToString(deterministic=True)


def image_example(encoded, template_id, label):
    """Serialises one template image record."""
    return _example(
        {
            constants.IMAGE_ENCODED: _bytes([encoded]),
            constants.IMAGE_TEMPLATE_ID: _bytes([template_id.encode("utf-8")]),
            constants.IMAGE_LABEL: _ints([int(label)]),
        }
    )


def caption_example(label, token_ids, score, top, bottom, weight=1.0,
                    upvotes=math.nan, views=math.nan):
    """Serialises one caption record."""
    return _example(
        {
            constants.CAPTION_LABEL: _ints([int(label)]),
            constants.CAPTION_TOKENS: _ints([int(i) for i in token_ids]),
            constants.CAPTION_SCORE: _floats([float(score)]),
            constants.CAPTION_TOP: _bytes([top.encode("utf-8")]),
            constants.CAPTION_BOTTOM: _bytes([bottom.encode("utf-8")]),
            constants.CAPTION_WEIGHT: _floats([float(weight)]),
            constants.CAPTION_UPVOTES: _floats([float(upvotes)]),
            constants.CAPTION_VIEWS: _floats([float(views)]),
        }
    )


def shard_names(pattern, count, per_shard, **fields):
    """File names of the shards that hold ``count`` records (at least one shard)."""
    n = max(1, math.ceil(count / per_shard))
    return [pattern.format(shard=i, n=n, **fields) for i in range(n)]


def write_shards(out_dir, names, records):
    """Writes ``records`` (a list of serialised examples) across ``names`` in order.

    Records are dealt out in contiguous runs, so shard ``i`` holds the ``i``-th
    slice; callers shuffle beforehand when order matters.
    """
    tf = _tf()
    out_dir = Path(out_dir)
    per = math.ceil(len(records) / len(names)) if records else 0
    for i, name in enumerate(names):
        with tf.io.TFRecordWriter(str(out_dir / name)) as writer:
            for record in records[i * per : (i + 1) * per]:
                writer.write(record)


def image_features():
    """The parsing spec of an image record."""
    tf = _tf()
    return {
        constants.IMAGE_ENCODED: tf.io.FixedLenFeature([], tf.string),
        constants.IMAGE_TEMPLATE_ID: tf.io.FixedLenFeature([], tf.string),
        constants.IMAGE_LABEL: tf.io.FixedLenFeature([], tf.int64),
    }


def caption_features():
    """The parsing spec of a caption record."""
    tf = _tf()
    return {
        constants.CAPTION_LABEL: tf.io.FixedLenFeature([], tf.int64),
        constants.CAPTION_TOKENS: tf.io.VarLenFeature(tf.int64),
        constants.CAPTION_SCORE: tf.io.FixedLenFeature([], tf.float32),
        constants.CAPTION_TOP: tf.io.FixedLenFeature([], tf.string),
        constants.CAPTION_BOTTOM: tf.io.FixedLenFeature([], tf.string),
        constants.CAPTION_WEIGHT: tf.io.FixedLenFeature(
            [], tf.float32, default_value=1.0
        ),
        constants.CAPTION_UPVOTES: tf.io.FixedLenFeature(
            [], tf.float32, default_value=math.nan
        ),
        constants.CAPTION_VIEWS: tf.io.FixedLenFeature(
            [], tf.float32, default_value=math.nan
        ),
    }


def parse_caption(serialized):
    """A serialised caption record -> a dict of tensors (label, tokens, ...)."""
    tf = _tf()
    f = tf.io.parse_single_example(serialized, caption_features())
    tokens = tf.sparse.to_dense(f[constants.CAPTION_TOKENS])
    return _caption_fields(f, tf.cast(tokens, tf.int32))


def parse_captions(serialized):
    """A batch of serialised caption records -> ``parse_caption``'s dict with a
    leading batch axis, tokens ragged ``[B, None]``. One vectorised parse: ten
    times faster than parsing record by record (``load_captions``)."""
    tf = _tf()
    f = tf.io.parse_example(serialized, caption_features())
    tokens = tf.RaggedTensor.from_sparse(f[constants.CAPTION_TOKENS])
    return _caption_fields(f, tf.cast(tokens, tf.int32))


def _caption_fields(f, tokens):
    tf = _tf()
    return {
        "label": tf.cast(f[constants.CAPTION_LABEL], tf.int32),
        "tokens": tokens,
        "score": f[constants.CAPTION_SCORE],
        "top": f[constants.CAPTION_TOP],
        "bottom": f[constants.CAPTION_BOTTOM],
        "weight": f[constants.CAPTION_WEIGHT],
        "upvotes": f[constants.CAPTION_UPVOTES],
        "views": f[constants.CAPTION_VIEWS],
    }


def parse_image(serialized):
    """A serialised image record -> ``{image uint8 [H,W,3], label, template_id}``."""
    tf = _tf()
    f = tf.io.parse_single_example(serialized, image_features())
    image = tf.io.decode_image(
        f[constants.IMAGE_ENCODED], channels=3, expand_animations=False
    )
    return {
        "image": tf.ensure_shape(image, [None, None, 3]),
        "label": tf.cast(f[constants.IMAGE_LABEL], tf.int32),
        "template_id": f[constants.IMAGE_TEMPLATE_ID],
    }
