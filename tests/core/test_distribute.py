"""Scaling-out flags: bad TF_CONFIG, busy ports, absent peers, no TPU, XLA errors."""

import json
import os
import socket
import subprocess
import sys

import pytest

from dank.apps.cli import main
from dank.core.distribute import read_tf_config, xla_errors
from dank.core.errors import DankError


def _tf_config(workers, index, kind="worker", chief=None):
    cluster = {"worker": workers}
    if chief:
        cluster["chief"] = chief
    return {
        "TF_CONFIG": json.dumps(
            {"cluster": cluster, "task": {"type": kind, "index": index}}
        )
    }


def test_reads_workers_and_this_task():
    env = _tf_config(["127.0.0.1:1", "127.0.0.1:2"], 1)
    assert read_tf_config(env) == (["127.0.0.1:1", "127.0.0.1:2"], 1)
    # A chief comes first; worker 0 is then the second process.
    env = _tf_config(["h:2"], 0, chief=["h:1"])
    assert read_tf_config(env) == (["h:1", "h:2"], 1)


@pytest.mark.parametrize(
    "env, says",
    [
        ({}, "needs TF_CONFIG"),
        ({"TF_CONFIG": "{not json"}, "malformed"),
        ({"TF_CONFIG": json.dumps({"cluster": {}})}, "malformed"),
        (_tf_config(["127.0.0.1:1"], 3), "not in its cluster"),
        (_tf_config(["127.0.0.1:1"], 0, kind="ps"), "not chief or worker"),
        (_tf_config(["localhost"], 0), "not host:port"),
    ],
)
def test_bad_tf_config_names_the_fix(env, says):
    with pytest.raises(DankError, match=says) as e:
        read_tf_config(env)
    assert "README" in str(e.value) and "TF_CONFIG" in str(e.value)


def _train(tmp_path, *flags):
    return main(
        [
            "train",
            "language",
            "--preset",
            "tiny",
            "--data",
            str(tmp_path / "data"),
            "--run",
            str(tmp_path / "run"),
            *flags,
        ]
    )


def test_multiworker_without_tf_config_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert _train(tmp_path, "--strategy", "multiworker") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dank: error: --strategy multiworker")
    assert not (tmp_path / "run").exists()  # Nothing half-written.


def test_a_port_in_use_is_named(tmp_path, monkeypatch, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = _tf_config([f"127.0.0.1:{port}", "127.0.0.1:1"], 0)
        monkeypatch.setenv("TF_CONFIG", env["TF_CONFIG"])
        assert _train(tmp_path, "--strategy", "multiworker") == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "in use" in err
    assert not (tmp_path / "run").exists()


def _dank(args, env, timeout=240):
    return subprocess.run(
        [sys.executable, "-m", "dank", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout,
    )


def test_an_unreachable_peer_ends_with_exit_2(
    tmp_path, monkeypatch, capsys, free_ports
):
    ports = free_ports(2)
    env = _tf_config([f"127.0.0.1:{p}" for p in ports], 0)
    monkeypatch.setenv("TF_CONFIG", env["TF_CONFIG"])
    monkeypatch.setattr("dank.core.distribute.PEER_TIMEOUT_SECONDS", 2)
    assert _train(tmp_path, "--strategy", "multiworker") == 2
    err = capsys.readouterr().err
    assert f"worker 1 at 127.0.0.1:{ports[1]}" in err
    assert "unreachable after 2 s" in err
    assert not (tmp_path / "run").exists()


def test_tpu_without_a_tpu_is_one_clear_line(tiny_data, tmp_path):
    proc = _dank(
        [
            "train",
            "language",
            "--preset",
            "tiny",
            "--data",
            str(tiny_data),
            "--run",
            str(tmp_path / "run"),
            "--strategy",
            "tpu",
        ],
        {},
    )
    assert proc.returncode == 2
    assert "dank: error: --strategy tpu: no TPU found" in proc.stderr
    assert ".[tpu]" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()


def test_xla_compilation_failures_become_a_clear_error():
    import tensorflow as tf

    with pytest.raises(DankError, match="--jit-compile off"), xla_errors(True):
        raise tf.errors.InvalidArgumentError(
            None,
            None,
            "Detected unsupported operations when trying to compile "
            "graph with XLA: PyFunc",
        )
    # Other errors, and any error with XLA off, pass through unchanged.
    with pytest.raises(tf.errors.InvalidArgumentError), xla_errors(True):
        raise tf.errors.InvalidArgumentError(None, None, "indices out of range")
    with pytest.raises(tf.errors.InvalidArgumentError), xla_errors(False):
        raise tf.errors.InvalidArgumentError(None, None, "XLA compile failed")


def test_train_commands_take_the_scaling_flags():
    from dank.apps.cli import build_parser

    parser = build_parser()
    for command in (["train", "language"], ["train", "vision"]):
        args = parser.parse_args(
            [
                *command,
                "--jit-compile",
                "on",
                "--strategy",
                "mirrored",
                "--logical-cpus",
                "2",
                "--force",
            ]
        )
        assert (args.jit_compile, args.strategy, args.logical_cpus, args.force) == (
            "on",
            "mirrored",
            2,
            True,
        )
    args = parser.parse_args(["train", "humor", "--jit-compile", "off"])
    assert args.jit_compile == "off"
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "language", "--jit-compile", "maybe"])


@pytest.mark.parametrize("build_first", [True, False])
def test_compile_model_traces_the_train_step_once(build_first):
    """``compile_model`` builds the optimizer's slots before ``fit``, so the
    train step is traced once; a plain ``compile`` traces it twice."""
    import keras
    import numpy as np

    from dank.core.distribute import compile_model

    traces = []

    class Counted(keras.Model):
        def train_step(self, data):
            traces.append(1)
            return super().train_step(data)

    inputs = keras.Input((4,))
    model = Counted(inputs, keras.layers.Dense(3)(inputs))
    settings = dict(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    if build_first:
        compile_model(model, **settings)
    else:
        model.compile(**settings)
    x, y = np.ones((8, 4), "float32"), np.zeros(8, "int32")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert len(traces) == (1 if build_first else 2)
    assert model.optimizer.iterations.numpy() == 4
