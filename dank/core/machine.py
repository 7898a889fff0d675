"""What machine a figure was measured on: CPU, cores, versions, switches, load.

One place for the machine record that benchmark results, experiment results and
generation reports carry, so they can be compared field by field. TensorFlow is
imported only when ``with_tf`` asks for its versions and settings.
"""

import contextlib
import os
import platform
import re
from pathlib import Path


def read_cpuinfo():
    """The text of /proc/cpuinfo, or None where there is none (macOS, Windows)."""
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def cpu_flags(cpuinfo):
    """The feature flags of the first CPU in /proc/cpuinfo text (x86 ``flags``,
    ARM ``Features``)."""
    m = re.search(r"^(?:flags|Features)\s*:\s*(.*)$", cpuinfo or "", re.MULTILINE)
    return set(m.group(1).split()) if m else set()


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (or platform's guess)."""
    m = re.search(r"^model name\s*:\s*(.+)$", read_cpuinfo() or "", re.MULTILINE)
    return m.group(1).strip() if m else platform.processor() or platform.machine()


def usable_cores():
    """Cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def machine_info(with_tf=True):
    """CPU, cores, versions, the oneDNN/XLA switches this process runs with, and
    the 1-minute load average (above the core count: the CPU was shared)."""
    info = {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(unset)"),
        "tf_xla_flags": os.environ.get("TF_XLA_FLAGS", ""),
        "load_average_1min": round(os.getloadavg()[0], 2)
        if hasattr(os, "getloadavg")
        else None,
    }
    try:
        import numpy

        info["numpy"] = numpy.__version__
    except ImportError:
        pass
    if with_tf:
        import keras
        import tensorflow as tf

        info.update(
            tensorflow=tf.__version__,
            keras=keras.__version__,
            gpus=len(tf.config.list_physical_devices("GPU")),
            intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
            inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads(),
            # Global auto-clustering; each figure names its own jit_compile.
            xla_auto_jit=bool(tf.config.optimizer.get_jit()),
        )
    return info


def _cpu_has_bf16():
    """Whether the CPU multiplies bfloat16 natively (AVX512_BF16 or AMX)."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags(read_cpuinfo()))


def fast_bf16():
    """Whether this machine multiplies bfloat16 matrices natively: an x86 CPU
    with AVX512_BF16 or AMX, or a GPU of compute capability 8.0 (Ampere) or
    later. Elsewhere TensorFlow emulates bfloat16 and it is slower than float32."""
    if _cpu_has_bf16():
        return True
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get(
            "compute_capability", (0, 0)
        )
        if tuple(capability) >= (8, 0):
            return True
    return False


def onednn_enabled():
    """Whether TensorFlow runs its CPU ops through oneDNN (x86 Linux builds do
    unless ``TF_ENABLE_ONEDNN_OPTS=0``)."""
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0" and (
        platform.machine().lower() in ("x86_64", "amd64")
    )


def fast_cpu_bf16_convolutions():
    """Whether oneDNN runs bfloat16 convolutions and matmuls natively on this
    CPU (AVX512_BF16 or AMX, with oneDNN on): there they take about half the
    time of float32 ones (docs/performance.md, "Vision")."""
    return _cpu_has_bf16() and onednn_enabled()


@contextlib.contextmanager
def onednn_bfloat16(enabled=True):
    """TensorFlow's graph rewrite to bfloat16 for the oneDNN CPU ops
    (``auto_mixed_precision_onednn_bfloat16``) for the ``tf.function`` graphs
    first run inside the block.

    Convolutions and matmuls (and the elementwise ops between them) compute in
    bfloat16; reductions such as BatchNorm's statistics, the softmax
    cross-entropy and the variables with their optimizer updates stay float32.
    Graphs first run outside the block are untouched; ``enabled=False``
    changes nothing.
    """
    if not enabled:
        yield
        return
    import tensorflow as tf

    key = "auto_mixed_precision_onednn_bfloat16"
    before = tf.config.optimizer.get_experimental_options().get(key, False)
    tf.config.optimizer.set_experimental_options({key: True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({key: before})
