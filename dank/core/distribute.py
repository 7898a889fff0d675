"""Scaling out: the ``tf.distribute`` strategy, XLA, and who writes the run.

Three rules, from ``official/`` in tensorflow/models:

* The strategy is made once, at program start, before TensorFlow runs any op:
  ``MultiWorkerMirroredStrategy`` configures collective ops, and logical CPUs
  and TPU systems must be set up before TensorFlow initialises. The trainers
  call ``get_strategy`` before they read any data.
* Only the chief writes a run. The other workers of a multi-worker run train
  the same model but write into a scratch directory that is removed afterwards
  (``run_writer``), starting from a copy of the chief's run and backups.
* ``--jit-compile auto`` turns XLA on where it pays (a GPU or a TPU) and off on
  a CPU; ``on`` forces it everywhere (``resolve_jit_compile``).
"""

import contextlib
import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from dank.core.errors import DankError

STRATEGIES = ("default", "mirrored", "multiworker", "tpu")
JIT_CHOICES = ("auto", "on", "off")
# How long a multi-worker run waits for its peers to listen before giving up.
PEER_TIMEOUT_SECONDS = float(os.environ.get("DANK_PEER_TIMEOUT", "120"))

TF_CONFIG_FIX = (
    "set TF_CONFIG to JSON such as "
    '\'{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]}, '
    '"task": {"type": "worker", "index": 0}}\' '
    "(docs/scaling.md, linked from the README)"
)


def read_tf_config(environ=None):
    """Parses and checks ``TF_CONFIG`` for ``--strategy multiworker``.

    Returns:
        ``(workers, index)``: the ``host:port`` list of the workers (the chief
        first, when there is one) and this process's index in it.

    Raises:
        DankError: naming the problem and the fix.
    """
    raw = (os.environ if environ is None else environ).get("TF_CONFIG", "")
    if not raw.strip():
        raise DankError(f"--strategy multiworker needs TF_CONFIG: {TF_CONFIG_FIX}")
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        workers = list(cluster.get("chief", [])) + list(cluster.get("worker", []))
        kind, index = task["type"], int(task["index"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise DankError(f"TF_CONFIG is malformed ({e!r}): {TF_CONFIG_FIX}") from e
    if kind not in ("chief", "worker"):
        raise DankError(
            f"TF_CONFIG task type {kind!r} is not chief or worker: {TF_CONFIG_FIX}"
        )
    if kind == "worker" and "chief" in cluster:
        index += len(cluster["chief"])
    if not workers or not 0 <= index < len(workers):
        raise DankError(
            f"TF_CONFIG task index {task.get('index')} is not in its "
            f"cluster of {len(workers)}: {TF_CONFIG_FIX}"
        )
    for address in workers:
        host, _, port = str(address).rpartition(":")
        if not host or not port.isdigit():
            raise DankError(
                f"TF_CONFIG address {address!r} is not host:port: {TF_CONFIG_FIX}"
            )
    return workers, index


def _split(address):
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def rendezvous(workers, index, timeout=None):
    """Holds this worker's port until every peer answers on its own.

    Creating ``MultiWorkerMirroredStrategy`` blocks inside TensorFlow, with no
    time limit and no Python running, until every worker has joined. So the
    workers first meet with plain sockets: each listens on its TF_CONFIG port
    (which shows a busy port at once), waits for the others to listen, then
    hands its port to TensorFlow.

    Raises:
        DankError: this worker's port is taken, or a peer did not come up
            within ``timeout`` seconds (``DANK_PEER_TIMEOUT``, default 120).
    """
    address = workers[index]
    host, port = _split(address)
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        # As gRPC does: a port left in TIME_WAIT by a finished run is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            s.listen()
        except OSError as e:
            raise DankError(
                f"this worker's address {address} (TF_CONFIG) cannot be used: "
                f"{e.strerror}. Stop the program on port {port} or pick another "
                "port in TF_CONFIG."
            ) from e
        wait_for_peers(workers, index, timeout)


def wait_for_peers(workers, index, timeout=None):
    """Waits until every other worker accepts connections, or raises DankError."""
    timeout = PEER_TIMEOUT_SECONDS if timeout is None else timeout
    deadline = time.monotonic() + timeout
    for i, address in enumerate(workers):
        if i == index:
            continue
        while True:
            try:
                with socket.create_connection(_split(address), timeout=2):
                    break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise DankError(
                        f"worker {i} at {address} (TF_CONFIG) is unreachable after "
                        f"{timeout:.0f} s ({e.strerror or e}): start "
                        "`dank train ... --strategy multiworker` there with its "
                        "own TF_CONFIG task index, or fix the address"
                    ) from e
                time.sleep(0.5)


def get_strategy(name="default", logical_cpus=0):
    """Returns a ``tf.distribute.Strategy``; call it before any TensorFlow op.

    Args:
        name: one of ``STRATEGIES``. ``multiworker`` reads ``TF_CONFIG``; ``tpu``
            needs a reachable TPU.
        logical_cpus: if > 1, split the CPU into that many logical devices first
            (for trying ``mirrored`` without GPUs).

    Raises:
        DankError: an unknown name, a bad ``TF_CONFIG``, a busy port, peers
            that never come up, or no TPU.
    """
    if name not in STRATEGIES:
        raise DankError(
            f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}"
        )
    if name == "multiworker":
        workers, index = read_tf_config()  # Before TensorFlow starts.
        rendezvous(workers, index)
    import tensorflow as tf

    if logical_cpus > 1:
        cpus = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration()] * logical_cpus
            )
        except RuntimeError as e:
            raise DankError(
                f"--logical-cpus {logical_cpus}: TensorFlow was already running "
                "(logical devices must be set at program start)"
            ) from e
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [
            d.name for d in tf.config.list_logical_devices("CPU")
        ]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multiworker":
        _mend_keras_multi_worker()
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as e:
            raise DankError(
                f"--strategy multiworker: {e}. Start the strategy before anything "
                "else runs TensorFlow (a fresh `dank train` process does)"
            ) from e
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DankError(
            f"--strategy tpu: no TPU found ({reason}). Run on a Cloud TPU VM with "
            "`pip install -e '.[tpu]'`, or use --strategy default"
        ) from e
    return tf.distribute.TPUStrategy(resolver)


def _mend_keras_multi_worker():
    """Lets Keras 3 ``fit`` run under ``MultiWorkerMirroredStrategy``.

    Two mends, for every model, both only when several workers train:

    * Keras learns the input shapes by averaging the first distributed batch
      over the replicas, which fails on dict inputs; one replica's batch has
      the same shapes.
    * Keras reduces each step's logs with ``strategy.reduce("MEAN", v,
      axis=0)``, which fails on scalars ("Invalid reduction dimension 0 for
      input with 0 dimensions", tensorflow/tensorflow#72388). The mean over the
      replicas, ``axis=None``, is what it means.
    """
    import keras
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    if getattr(original, "mended_by_dank", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and (
            trainer._collective_all_reduce_multi_worker(strategy)
        ):
            return keras.tree.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None), values
            )
        return original(values, strategy, reduction)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if (
            strategy is None
            or iterator is None
            or not trainer._collective_all_reduce_multi_worker(strategy)
        ):
            return build(self, iterator, data_batch)
        for _, _, it in iterator:
            batch = next(it)
            break
        local = keras.tree.map_structure(
            lambda v: (
                strategy.experimental_local_results(v)[0]
                if isinstance(v, tf.distribute.DistributedValues)
                else v
            ),
            batch,
        )
        with strategy.scope():
            self._symbolic_build(data_batch=local)

    build = trainer.TensorFlowTrainer._maybe_symbolic_build
    reduce_per_replica.mended_by_dank = True
    trainer.reduce_per_replica = reduce_per_replica
    trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build


def is_chief(strategy):
    """Whether this process writes the run (always, except non-chief workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    kind = getattr(resolver, "task_type", None)
    if not kind or kind == "chief":
        return True
    cluster = resolver.cluster_spec().as_dict()
    return kind == "worker" and resolver.task_id == 0 and "chief" not in cluster


@contextlib.contextmanager
def run_writer(strategy, run_dir):
    """Yields the run directory this process writes to.

    The chief gets ``run_dir`` itself. Another worker gets a scratch copy of
    the run (removed when the block ends): it resumes from the same backups
    and trains exactly as the chief does, while the run is written once. The
    chief waits at a barrier until every other worker has taken its copy, so
    no copy can catch the chief half-way through writing the run.
    """
    if is_chief(strategy):
        _barrier(strategy)
        yield Path(run_dir)
        return
    scratch = Path(tempfile.mkdtemp(prefix="dank-worker-"))
    try:
        run = Path(run_dir)
        try:
            if run.is_dir():
                shutil.copytree(
                    run,
                    scratch / "run",
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("logs"),
                )
        finally:  # Even a failed copy releases the chief, which then sees it.
            _barrier(strategy)
        yield scratch / "run"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _barrier(strategy):
    """Returns once every worker of a multi-worker ``strategy`` has called it.

    One all-reduce, so each worker must call it the same number of times; a
    no-op for any other strategy or a single worker.
    """
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    if sum(len(cluster.get(job, ())) for job in ("chief", "worker")) <= 1:
        return
    strategy.reduce(
        tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.ones(())), axis=None
    )


def resolve_jit_compile(flag):
    """``--jit-compile`` to a bool: ``auto`` is on with a GPU or a TPU, off on CPU."""
    if flag not in JIT_CHOICES:
        raise DankError(
            f"--jit-compile must be one of {', '.join(JIT_CHOICES)}, got {flag!r}"
        )
    if flag != "auto":
        return flag == "on"
    import tensorflow as tf

    return bool(
        tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU")
    )


def compile_model(model, **kwargs):
    """``model.compile(**kwargs)``, then builds the optimizer's variables.

    Without an explicit strategy Keras creates the optimizer's slots (Adam's
    moments) while it traces the first train step, and ``tf.function`` then
    traces that step a second time without variable creation. Building them
    first makes it one trace: 28 s -> 15 s for ResNet50's train step here
    (docs/performance.md). Call it inside the strategy's scope."""
    model.compile(**kwargs)
    model.optimizer.build(model.trainable_variables)


@contextlib.contextmanager
def xla_errors(jit_compile):
    """Turns an XLA compilation failure into a DankError naming the fix."""
    if not jit_compile:
        yield
        return
    import tensorflow as tf

    try:
        yield
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as e:
        text = str(e)
        if "XLA" not in text and "compil" not in text:
            raise
        first = next((line for line in text.splitlines() if line.strip()), "")
        raise DankError(
            f"XLA could not compile this model ({first.strip()[:200]}); train "
            "with --jit-compile off"
        ) from e


def add_flags(parser, jit_default="auto"):
    """Adds ``--strategy``, ``--logical-cpus`` and ``--jit-compile`` to a parser.

    Args:
        parser: an ``argparse`` parser of a ``dank train`` command.
        jit_default: the default of ``--jit-compile``; None keeps the preset's.
    """
    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="default",
        help="tf.distribute strategy: default (one device), mirrored (all local "
        "GPUs, or --logical-cpus), multiworker (reads TF_CONFIG), tpu",
    )
    parser.add_argument(
        "--logical-cpus",
        type=int,
        default=0,
        metavar="N",
        help="split the CPU into N logical devices (to try mirrored on a CPU)",
    )
    default = "the preset's choice" if jit_default is None else jit_default
    parser.add_argument(
        "--jit-compile",
        choices=JIT_CHOICES,
        default=jit_default,
        help="XLA for training: auto (on with a GPU or TPU, off on a CPU), on, "
        f"off (default: {default})",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="train again from scratch even if the run is finished",
    )
