"""Scaling out on loopback: two workers write one run; mirrored matches one device.

Each test starts fresh processes: a strategy must be made before TensorFlow runs
any op, and logical CPUs before TensorFlow starts.
"""

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from dank.core import constants

MIRRORED_PARITY = textwrap.dedent("""
    import json, sys
    import keras, numpy as np, tensorflow as tf
    from dank.core.distribute import get_strategy
    from dank.models.language.config import PRESETS
    from dank.models.language.losses import MaskedCrossEntropy
    from dank.models.language.models import CaptionModel

    mirrored = get_strategy("mirrored", logical_cpus=2)
    rng = np.random.default_rng(0)
    # Captions of very different lengths, so the replicas see unequal tokens.
    tokens = np.zeros((8, 9), "int32")
    for i, n in enumerate([9, 3, 4, 9, 2, 8, 5, 9]):
        tokens[i, :n] = rng.integers(5, 40, n)
    x = {"tokens": tokens[:, :-1], "label": rng.integers(0, 5, 8).astype("int32")}
    y = tokens[:, 1:]
    config = PRESETS["tiny"].replace(dropout=0.0)
    keras.utils.set_random_seed(3)
    reference = CaptionModel(config, 40, 5)
    reference(x)
    losses = {}
    for name, strategy in (("one", tf.distribute.get_strategy()),
                           ("mirrored", mirrored)):
        with strategy.scope():
            model = CaptionModel(config, 40, 5)
            model(x)
            model.set_weights(reference.get_weights())
            model.compile(optimizer=keras.optimizers.SGD(0.5),
                          loss=MaskedCrossEntropy())
        history = model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0)
        losses[name] = history.history["loss"]
    print(json.dumps({"replicas": mirrored.num_replicas_in_sync, **losses}))
""")


def _python(code_or_args, env=None, timeout=600):
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def test_mirrored_on_two_cpus_matches_one_device_on_the_global_batch():
    proc = _python(MIRRORED_PARITY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    np.testing.assert_allclose(result["mirrored"], result["one"], rtol=1e-4)
    assert result["one"][-1] < result["one"][0]  # It trained.


def _start_workers(tiny_data, run, scratch, epochs, ports):
    workers = [f"127.0.0.1:{p}" for p in ports]
    procs = []
    for index in range(2):
        tf_config = {
            "cluster": {"worker": workers},
            "task": {"type": "worker", "index": index},
        }
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(tf_config),
            "TMPDIR": str(scratch),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dank",
                    "train",
                    "language",
                    "--preset",
                    "tiny",
                    "--data",
                    str(tiny_data),
                    "--run",
                    str(run),
                    "--epochs",
                    str(epochs),
                    "--strategy",
                    "multiworker",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    return procs


def _stderrs(outputs):
    """Both workers' stderr tails: a peer's failure shows up in the other's log."""
    return "\n".join(
        f"--- worker {i} ---\n{err[-2500:]}" for i, (_, err) in enumerate(outputs)
    )


def test_two_workers_on_loopback_write_the_run_once(tiny_data, tmp_path, free_ports):
    from dank.models.run import Run

    run, scratch = tmp_path / "run", tmp_path / "scratch"
    scratch.mkdir()
    procs = _start_workers(tiny_data, run, scratch, 1, free_ports(2))
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], _stderrs(outputs)
    # Both trained the same model; the chief wrote the run, worker 1 its scratch.
    assert "test perplexity" in outputs[0][0] and "test perplexity" in outputs[1][0]
    assert f"saved to {run}" in outputs[0][1]
    assert f"saved to {scratch}" in outputs[1][1]
    assert list(scratch.iterdir()) == []  # The scratch copy is gone.
    sub = run / constants.LANGUAGE_DIR
    metrics = json.loads((sub / constants.METRICS_FILE).read_text())
    assert metrics["replicas"] == 2 and metrics["strategy"] == "multiworker"
    assert sorted(p.name for p in sub.iterdir()) == [
        constants.LOGS_DIR,
        constants.METRICS_FILE,
        constants.MODEL_FILE,
    ]
    events = list((sub / constants.LOGS_DIR / "train").glob("events.out.*"))
    assert len(events) == 1  # One writer of the TensorBoard logs.
    model = Run.open(run).captioner()
    assert model.count_params() == metrics["parameters"]


@pytest.mark.slow
def test_a_killed_cluster_resumes_from_the_chiefs_backup(
    tiny_data, tmp_path, free_ports
):
    run, scratch = tmp_path / "run", tmp_path / "scratch"
    scratch.mkdir()
    backup = run / constants.LANGUAGE_DIR / constants.BACKUP_DIR
    procs = _start_workers(tiny_data, run, scratch, 4, free_ports(2))
    deadline = time.monotonic() + 600
    while not (backup / "training_metadata.json").is_file():
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.2)
    for p in procs:  # Both workers die after their first epoch's backup.
        p.kill()
        p.communicate()
    killed = set(scratch.glob("dank-worker-*"))  # SIGKILL leaves its scratch.
    procs = _start_workers(tiny_data, run, scratch, 4, free_ports(2))
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], _stderrs(outputs)
    for out, err in outputs:
        assert "Epoch 2/4" in out + err or "Epoch 3/4" in out + err
        assert "Epoch 1/4" not in out + err  # Resumed after the backed-up epoch.
    metrics = json.loads((run / constants.LANGUAGE_DIR / "metrics.json").read_text())
    assert 1 <= metrics["epochs_this_session"] <= 3
    assert set(scratch.glob("dank-worker-*")) == killed
