"""TensorBoard event files written with TensorFlow alone.

``keras.callbacks.TensorBoard`` needs the ``tensorboard`` package just to write
scalars; this writes the same event format (``scalars`` and ``text`` plugins)
with ``tf.summary.write``, so logs exist whether or not TensorBoard is
installed, and ``tensorboard --logdir runs`` reads them.
"""

import keras


def _metadata(plugin):
    from tensorflow.core.framework import summary_pb2

    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin)
    )


_WRITERS = {}  # One open event file per directory for the life of the process.


def write_summaries(log_dir, step, scalars=None, texts=None):
    """Appends scalar and text summaries at ``step`` to ``log_dir``'s event file."""
    import tensorflow as tf

    writer = _WRITERS.get(str(log_dir))
    if writer is None:
        writer = _WRITERS[str(log_dir)] = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        for tag, value in (scalars or {}).items():
            tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step,
                             metadata=_metadata("scalars"))
        for tag, text in (texts or {}).items():
            tf.summary.write(tag, tf.constant(text), step=step,
                             metadata=_metadata("text"))
    writer.flush()


class EpochSummaries(keras.callbacks.Callback):
    """Logs every epoch's metrics: ``logs/train`` and ``logs/validation``.

    ``val_``-prefixed metrics go to ``validation`` under their plain name, as
    Keras' own TensorBoard callback does, so the two runs overlay in one chart.
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = str(log_dir)

    def on_epoch_end(self, epoch, logs=None):
        train, val = {}, {}
        for key, value in (logs or {}).items():
            if key.startswith("val_"):
                val[f"epoch_{key[4:]}"] = value
            else:
                train[f"epoch_{key}"] = value
        write_summaries(f"{self.log_dir}/train", epoch, scalars=train)
        if val:
            write_summaries(f"{self.log_dir}/validation", epoch, scalars=val)
