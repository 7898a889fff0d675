"""The profiler trace reader, the stand-in models and the lever bookkeeping.

No timing is asserted: these check the arithmetic (self time, shares, FLOPs)
that the README's profile tables and lever ratios rest on.
"""

import pytest

from experiments.benchmarks import common, standins, traces


def _space(planes):
    """An XSpace: ``{plane name: {line name: [(event name, start, duration)]}}``
    with times in microseconds."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    for plane_name, lines in planes.items():
        plane = space.planes.add(name=plane_name)
        ids = {}
        for line_name, events in lines.items():
            line = plane.lines.add(name=line_name)
            for name, start, duration in events:
                if name not in ids:
                    ids[name] = len(ids) + 1
                    plane.event_metadata[ids[name]].name = name
                line.events.add(
                    metadata_id=ids[name],
                    offset_ps=start * 10**6,
                    duration_ps=duration * 10**6,
                )
    return space


def test_self_time_subtracts_nested_ops_and_reads_xla_runs():
    space = _space(
        {
            "/host:CPU": {
                "tf_Compute/1": [
                    ("ExecutorState::Process", 0, 100),  # Not an op: ignored.
                    ("dense/MatMul:_MklMatMul", 10, 50),
                    ("inner/add:AddV2", 20, 10),  # Inside the MatMul on this thread.
                    ("relu:Relu", 70, 20),
                ],
                "python": [
                    ("CpuExecutable::ExecuteAsyncOnStream", 200, 100),
                    ("dot.3", 210, 60),
                    ("end: dot.3", 270, 1),
                    ("fusion.12", 280, 10),
                    ("SlinkyThreadPool::Await", 291, 5),
                ],
            },
            "/device:GPU:0": {"stream": [("gpu/MatMul:MatMul", 0, 999)]},
        }
    )
    times = traces.op_self_times(space)
    assert times == pytest.approx(
        {
            ("dense/MatMul:_MklMatMul", "_MklMatMul"): 40e-6,
            ("inner/add:AddV2", "AddV2"): 10e-6,
            ("relu:Relu", "Relu"): 20e-6,
            ("dot.3", "xla:dot"): 60e-6,
            ("fusion.12", "xla:fusion"): 10e-6,
        }
    )
    summary = traces.summarise(
        {**times, ("b/MatMul:_MklMatMul", "_MklMatMul"): 30e-6}, top=2
    )
    assert summary["total_s"] == pytest.approx(170e-6)
    assert [(r["type"], r["share"]) for r in summary["by_type"]] == [
        ("_MklMatMul", 0.4118),
        ("xla:dot", 0.3529),
    ]
    assert summary["by_type"][0]["s"] == pytest.approx(70e-6)
    assert [r["op"] for r in summary["by_op"]] == ["dot.3", "dense/MatMul:_MklMatMul"]
    text = traces.format_summary(summary)
    assert "41.2%" in text and "dot.3 (xla:dot)" in text


def test_latest_trace_names_the_folder_when_there_is_none(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        traces.latest_trace(tmp_path)
    trace = tmp_path / "train" / "plugins" / "profile" / "2026_01_01" / "h.xplane.pb"
    trace.parent.mkdir(parents=True)
    trace.write_bytes(_space({"/host:CPU": {}}).SerializeToString())
    assert traces.latest_trace(tmp_path) == trace
    assert traces.op_self_times(traces.load_space(trace)) == {}


def test_caption_flops_count_gates_and_projection():
    # 4 gates of (E + U) x U, plus U x V, two FLOPs per multiply-add.
    assert common.caption_flops(2, 3, 5) == 2 * 4 * 2 * 5 + 2 * 2 * 5
    assert common.caption_flops(256, 128, 0) < common.caption_flops(256, 128, 10)


def test_interleaved_times_every_function_each_round():
    calls = []
    out = common.interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
        rounds=3,
        number=2,
    )
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 3
    assert set(out) == {"a", "b"} and out["a"]["n"] == 3


def test_stand_in_caption_model_never_ends():
    import numpy as np

    from dank.core.constants import END_ID

    model = standins.never_end(standins.caption_model("tiny", n_templates=3))
    assert model.vocab_size == common.VOCAB["tiny"]
    state = standins.caption_state(model, batch=4)
    logits, _ = model.step(np.full([4], 2, "int32"), state)
    assert np.all(np.asarray(logits)[:, END_ID] < -1e8)
    x, y = standins.caption_batch(model, batch=4, length=6)
    assert x["tokens"].shape == y.shape == (4, 6)
    assert (x["tokens"][:, 1:] == y[:, :-1]).all() and y.min() >= 6
    vocab = standins.vocab_tokens(8)
    assert vocab[END_ID] == "</s>" and vocab[-1] == "w7" and len(vocab) == 8


def test_lever_rows_compare_to_the_default_and_the_ceiling_timed_with_them():
    from experiments.benchmarks import profile

    seconds = {
        "default": common.stats([1.0, 1.2], "s"),
        "batch 64": common.stats([1.5], "s"),
        profile.CEILING: common.stats([0.5], "s"),
    }
    sizes = {"default": (100, 1e9), "batch 64": (200, 2e9)}
    rows = profile.rows_of(seconds, sizes)
    ceiling = 2 * profile.CEILING_SIDE**3 / 0.5
    assert [r["lever"] for r in rows] == ["default", "batch 64"]
    assert rows[0]["vs_default"] == 1.0
    assert rows[1]["vs_default"] == pytest.approx((200 / 1.5) / (100 / 1.1), abs=1e-4)
    assert rows[0]["of_ceiling"] == pytest.approx(1e9 / 1.1 / ceiling, abs=1e-4)
    assert rows[1]["items_per_s"]["median"] == pytest.approx(200 / 1.5)
