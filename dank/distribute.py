"""Picks the ``tf.distribute`` strategy named by ``--strategy``."""

import contextlib

from dank.errors import DankError

STRATEGIES = ("default", "mirrored", "multiworker", "tpu")


def get_strategy(name="default", logical_cpus=0):
    """Returns a ``tf.distribute.Strategy``.

    Args:
        name: one of ``STRATEGIES``. ``multiworker`` reads ``TF_CONFIG``; ``tpu``
            needs a reachable TPU.
        logical_cpus: if > 1, split the CPU into that many logical devices first
            (for testing ``mirrored`` without GPUs). Must be set before TF runs.
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise DankError(
            f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}"
        )
    if logical_cpus > 1:
        cpus = tf.config.list_physical_devices("CPU")
        # RuntimeError: TF is already initialised, so keep the devices it has.
        with contextlib.suppress(RuntimeError):
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration()] * logical_cpus
            )
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [
            d.name for d in tf.config.list_logical_devices("CPU")
        ]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.NotFoundError) as e:
        raise DankError(f"--strategy tpu: no TPU found ({e})") from e
    return tf.distribute.TPUStrategy(resolver)
