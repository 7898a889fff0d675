"""tf.data pipelines over a data build (``dank data build --out DIR``).

Model code sees data only through these functions (DESIGN.md: data flows one
way). Batches of captions are padded with ``PAD_ID`` (0)::

    tokens: [[2, 17, 9, 4, 5, 3, 0, 0],    <s> y u <sep> <emp> </s> <pad> <pad>
             [2, 40, 4, 41, 88, 12, 3, 0]]
"""

from pathlib import Path

from dank.core import constants
from dank.data import records
from dank.core.errors import DankError

SHUFFLE_BUFFER = 20_000  # Captions held for shuffling (about 2 MB).
BUCKET_BOUNDARIES = (8, 12, 16, 20, 24)  # Token lengths that split buckets.
# With static shapes (XLA) every bucket is padded to its boundary - 1, the last
# to STATIC_MAX_TOKENS - 1 (builds cap captions at 29 tokens, so nothing is cut).
STATIC_MAX_TOKENS = 32


def _check_build(data_dir):
    data_dir = Path(data_dir)
    if not (data_dir / constants.CATALOGUE_FILE).is_file():
        raise DankError(
            f"{data_dir} is not a data build (no {constants.CATALOGUE_FILE}); run "
            "`make data` or `dank data build --source DIR --out DIR` first"
        )
    return data_dir


def _files(data_dir, glob, what):
    files = sorted(str(p) for p in _check_build(data_dir).glob(glob))
    if not files:
        raise DankError(f"{data_dir} has no {what} records ({glob}); rebuild the data")
    return files


def image_files(data_dir):
    """The image shards of a build, sorted."""
    return _files(data_dir, "images-*.tfrecord", "image")


def caption_files(data_dir, split):
    """The caption shards of ``split`` in a build, sorted."""
    if split not in constants.SPLITS:
        raise DankError(
            f"unknown split {split!r}; choose one of {', '.join(constants.SPLITS)}"
        )
    return _files(data_dir, f"captions-{split}-*.tfrecord", f"{split} caption")


def without_autotune_thread(ds):
    """``ds`` without tf.data's autotuning thread.

    Deleting an iterator waits out that thread's current sleep, which doubles
    up to 60 s while the iterator lives. Keras keeps each epoch's exhausted
    validation iterator until the next validation, and the training iterators
    live for whole phases, so epochs and phase ends stalled, idle, for up to a
    minute (docs/performance.md, "The slow epoch"). Parallel maps then run at
    ``AUTOTUNE``'s starting value, one call per core (at most 16)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def image_dataset(data_dir):
    """One element per template: ``{"image": uint8 [H,W,3], "label": int32,
    "template_id": string}``, in label order within each shard."""
    import tensorflow as tf

    ds = tf.data.TFRecordDataset(image_files(data_dir))
    return ds.map(records.parse_image, num_parallel_calls=tf.data.AUTOTUNE)


def caption_dataset(
    data_dir,
    split,
    batch_size,
    shuffle=True,
    seed=0,
    repeat=False,
    max_len=None,
    bucket=False,
    drop_remainder=False,
    static_shapes=False,
):
    """Padded batches of captions.

    Args:
        data_dir: a data build.
        split: ``"train"``, ``"val"`` or ``"test"``.
        batch_size: captions per batch.
        shuffle: shuffle files and records (seeded, so reruns match).
        seed: the shuffle seed.
        repeat: repeat forever (for ``fit(steps_per_epoch=...)``).
        max_len: when set, token sequences are cut to ``max_len`` and every batch
            is padded to exactly ``max_len`` (a static shape for XLA). Cut
            sequences lose their ``</s>``; builds cap captions at 24 words + 5
            specials, so ``max_len >= 29`` never cuts.
        bucket: group captions of similar length into batches (less padding);
            ignored when ``max_len`` fixes the shape.
        drop_remainder: drop a last, smaller batch.
        static_shapes: with ``bucket``, pad each bucket to its boundary so that
            batches take one of a few fixed shapes (XLA compiles each once).

    Returns:
        A ``tf.data.Dataset`` of dicts ``{"label": int32 [B], "tokens": int32
        [B, T], "score": float32 [B], "top": string [B], "bottom": string [B],
        "weight", "upvotes", "views": float32 [B]}`` (see ``records``).
    """
    import tensorflow as tf

    files = caption_files(data_dir, split)
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed)
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(files)))
    if shuffle:
        ds = ds.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.map(records.parse_caption, num_parallel_calls=tf.data.AUTOTUNE)
    shapes = {"label": [], "tokens": [None], "score": [], "top": [], "bottom": [],
              "weight": [], "upvotes": [], "views": []}
    if max_len is not None:
        ds = ds.map(lambda x: {**x, "tokens": x["tokens"][:max_len]})
        shapes["tokens"] = [max_len]
    if bucket and max_len is None:
        boundaries = list(BUCKET_BOUNDARIES)
        if static_shapes:
            boundaries.append(STATIC_MAX_TOKENS)
            cut = STATIC_MAX_TOKENS - 1
            ds = ds.map(lambda x: {**x, "tokens": x["tokens"][:cut]})
        ds = ds.bucket_by_sequence_length(
            lambda x: tf.shape(x["tokens"])[0],
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            padded_shapes=shapes,
            pad_to_bucket_boundary=static_shapes,
            drop_remainder=drop_remainder,
        )
    else:
        ds = ds.padded_batch(
            batch_size, padded_shapes=shapes, drop_remainder=drop_remainder
        )
    return without_autotune_thread(ds.prefetch(tf.data.AUTOTUNE))


def load_captions(data_dir, split):
    """All captions of ``split`` as Python dicts (for metrics and baselines).

    Returns:
        A list of ``{"label": int, "tokens": list[int], "top": str, "bottom": str,
        "score": float, "weight": float, "upvotes": float, "views": float}`` in
        file order.
    """
    import tensorflow as tf

    ds = tf.data.TFRecordDataset(caption_files(data_dir, split)).batch(4096)
    out = []
    for batch in ds.map(records.parse_captions):
        tokens = batch["tokens"].to_list()
        labels = batch["label"].numpy().tolist()
        scores = batch["score"].numpy().tolist()
        floats = {k: batch[k].numpy().tolist() for k in ("weight", "upvotes", "views")}
        tops, bottoms = batch["top"].numpy(), batch["bottom"].numpy()
        for i, label in enumerate(labels):
            out.append(
                {
                    "label": label,
                    "tokens": tokens[i],
                    "top": tops[i].decode("utf-8"),
                    "bottom": bottoms[i].decode("utf-8"),
                    "score": scores[i],
                    **{k: values[i] for k, values in floats.items()},
                }
            )
    return out


def load_catalogue(data_dir):
    """The ``Catalogue`` of a build."""
    from dank.data.catalogue import Catalogue

    return Catalogue.load(_check_build(data_dir) / constants.CATALOGUE_FILE)


def load_vocab(data_dir):
    """The ``Vocabulary`` of a build."""
    from dank.data.vocab import Vocabulary

    return Vocabulary.load(_check_build(data_dir) / constants.VOCAB_FILE)
