"""TensorBoard event files: text, images, hparams, final scalars, profiler traces.

Training's epoch (and batch) scalars come from ``keras.callbacks.TensorBoard``
(``logs/train``, ``logs/validation``). This module writes what that callback
does not: text, images and end-of-training scalars with ``tf.summary.write``
and the plugins' metadata (the same event format as Keras'), the hparams
summary with ``tensorboard.plugins.hparams`` (TensorBoard is a pinned
dependency), a throughput metric for the epoch logs, and a profiler trace.

A run's logs for one model (``run/vision/logs``, ``run/language*/logs``) form
one hparams *session*: the hparams summary sits at the root and the scalar
runs below it (``train``, ``validation``, ``samples``, ``final``), so
``tensorboard --logdir runs`` compares every run and variant in one table.
"""

import io
import logging
import time

import keras

log = logging.getLogger(__name__)

FINAL_DIR = "final"  # Sub-run of a model's logs holding the end-of-training metrics.
PROFILE_FIRST_BATCH = 3  # First profiled training batch (skips tracing, warm-up).
PROFILE_BATCHES = 2  # Batches in the profiler trace.


def _metadata(plugin):
    from tensorflow.core.framework import summary_pb2

    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin)
    )


_WRITERS = {}  # One open event file per directory for the life of the process.


def _writer(log_dir):
    import tensorflow as tf

    writer = _WRITERS.get(str(log_dir))
    if writer is None:
        writer = _WRITERS[str(log_dir)] = tf.summary.create_file_writer(str(log_dir))
    return writer


def _png(image):
    buffer = io.BytesIO()
    # The fastest zlib level: about 3x quicker than the default, for a bigger file.
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def write_summaries(log_dir, step, scalars=None, texts=None, images=None):
    """Appends summaries at ``step`` to ``log_dir``'s event file.

    Args:
        log_dir: the TensorBoard run directory.
        step: the x axis (epoch or optimizer step).
        scalars: ``{tag: number}``.
        texts: ``{tag: Markdown text}``.
        images: ``{tag: PIL image}``, stored as PNG.
    """
    import tensorflow as tf

    writer = _writer(log_dir)
    with writer.as_default():
        for tag, value in (scalars or {}).items():
            tf.summary.write(
                tag,
                tf.constant(float(value), tf.float32),
                step=step,
                metadata=_metadata("scalars"),
            )
        for tag, text in (texts or {}).items():
            tf.summary.write(
                tag, tf.constant(text), step=step, metadata=_metadata("text")
            )
        for tag, image in (images or {}).items():
            width, height = image.size  # The images plugin's layout: w, h, PNGs.
            tensor = tf.constant([str(width), str(height), _png(image)])
            tf.summary.write(tag, tensor, step=step, metadata=_metadata("images"))
    writer.flush()


def _hparam_value(value):
    if isinstance(value, bool | int | float | str):
        return value
    return "none" if value is None else str(value)  # Tuples, lists: as text.


def write_hparams(log_dir, values, trial_id=None):
    """Marks ``log_dir`` as one hparams session with these ``values``.

    Call it at the start of training (so unfinished runs show too); the
    session's metrics are the scalars of ``log_dir`` and its sub-runs.
    """
    from tensorboard.plugins.hparams import api as hp

    writer = _writer(log_dir)
    with writer.as_default():
        hp.hparams({k: _hparam_value(v) for k, v in values.items()}, trial_id=trial_id)
    writer.flush()


def write_final(log_dir, step, metrics):
    """Writes end-of-training ``metrics`` (``{tag: number}``) to ``log_dir/final``.

    These are what the hparams table shows in its metric columns.
    """
    scalars = {f"final/{k}": v for k, v in metrics.items() if v is not None}
    write_summaries(f"{log_dir}/{FINAL_DIR}", step, scalars=scalars)


class Throughput(keras.callbacks.Callback):
    """Training items per second of each epoch (validation time excluded).

    Adds ``logs[key]`` at the end of every epoch, so a logging callback placed
    after this one (``keras.callbacks.TensorBoard``, ``CSVLogger``) records it.
    (Keras' ``write_steps_per_second`` counts batches, not tokens or images.)

    Args:
        items_per_epoch: tokens, images... one epoch trains on.
        key: the name in the epoch logs, e.g. ``"tokens_per_second"``.
    """

    def __init__(self, items_per_epoch, key):
        super().__init__()
        self.items_per_epoch = items_per_epoch
        self.key = key
        self.rates = []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_test_begin(self, logs=None):
        if self._start is not None:
            seconds = time.perf_counter() - self._start
            self.rates.append(self.items_per_epoch / seconds)
            self._start = None

    def on_epoch_end(self, epoch, logs=None):
        self.on_test_begin()  # No validation data: the epoch ends here.
        if logs is not None and self.rates:
            logs[self.key] = self.rates[-1]

    def steady_rate(self):
        """Median rate, skipping the first epoch (tracing) when there are more."""
        rates = sorted(self.rates[1:] or self.rates)
        return rates[len(rates) // 2] if rates else 0.0


class ProfileBatches(keras.callbacks.Callback):
    """Records a TensorFlow profiler trace of a few training batches.

    Off unless asked for (``dank train vision|language --profile``). The trace
    lands in ``log_dir/plugins/profile/<time>/`` and shows in TensorBoard's
    Profile tab once ``tensorboard-plugin-profile`` is installed.

    Args:
        log_dir: the TensorBoard run directory (the ``train`` run).
        first: zero-based index, counted over this process, of the first batch.
        count: batches to trace (fewer if training ends first).
    """

    def __init__(self, log_dir, first=PROFILE_FIRST_BATCH, count=PROFILE_BATCHES):
        super().__init__()
        self.log_dir = str(log_dir)
        self.first, self.count = int(first), int(count)
        self.batches = 0
        self.active = False

    def on_train_batch_begin(self, batch, logs=None):
        import tensorflow as tf

        if self.batches == self.first and not self.active:
            try:
                tf.profiler.experimental.start(self.log_dir)
                self.active = True
            except (tf.errors.AlreadyExistsError, tf.errors.UnavailableError) as e:
                log.warning("profiler not started (%s)", e)

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.batches >= self.first + self.count:
            self._stop()

    def on_train_end(self, logs=None):
        self._stop()

    def _stop(self):
        import tensorflow as tf

        if self.active:
            tf.profiler.experimental.stop()
            self.active = False
            log.info("profiler trace written under %s/plugins/profile", self.log_dir)
