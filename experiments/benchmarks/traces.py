"""Where the time went in a TensorFlow profiler trace, read without TensorBoard.

``tf.profiler.experimental`` writes ``LOGDIR/plugins/profile/<time>/<host>.xplane.pb``
(an ``XSpace`` protobuf; TensorBoard's Profile tab draws it when the
``tensorboard-plugin-profile`` package is installed). This module reads that
file with the protobuf classes TensorFlow ships and sums the **self time** of
every op: its duration minus the time of the ops nested inside it on the same
thread. Two kinds of op are counted:

* TensorFlow executor ops, named ``scope/name:Type`` (``dense/MatMul:_MklMatMul``);
* XLA's compiled HLO ops, the events directly inside an XLA executable's run
  (``CpuExecutable::ExecuteAsyncOnStream``), typed ``xla:<name>`` without the
  numeric suffix (``dot.3`` -> ``xla:dot``).

Shares are of the total op self time; ops on different threads overlap in
wall time, so the total can exceed the profiled wall time.
"""

import re
from collections import defaultdict
from pathlib import Path

TF_OP = re.compile(r"([^:]+):(_?[A-Z]\w*)")  # "scope/name:Type", never "A::B".
XLA_RUN = "Executable::Execute"  # In the name of an XLA executable's run event.


def latest_trace(logdir):
    """The newest ``*.xplane.pb`` under ``logdir``; ``FileNotFoundError`` if none."""
    found = sorted(
        Path(logdir).glob("**/plugins/profile/*/*.xplane.pb"),
        key=lambda p: p.stat().st_mtime,
    )
    if not found:
        raise FileNotFoundError(f"no profiler trace (*.xplane.pb) under {logdir}")
    return found[-1]


def load_space(path):
    """The ``XSpace`` protobuf of a trace file."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(path).read_bytes())
    return space


def _op_type(name, parent):
    """The op type of event ``name`` under event ``parent``, or None if no op."""
    match = TF_OP.fullmatch(name)
    if match:
        return match.group(2)
    if (
        parent
        and XLA_RUN in parent
        and not name.startswith("end: ")
        and "::" not in name
    ):
        return "xla:" + re.sub(r"\.\d+$", "", name)
    return None


def op_self_times(space):
    """``{(op name, op type): self time in seconds}`` over every CPU plane."""
    totals = defaultdict(float)
    for plane in space.planes:
        if "CPU" not in plane.name:
            continue
        names = {k: m.name for k, m in plane.event_metadata.items()}
        for line in plane.lines:
            events = sorted(line.events, key=lambda e: (e.offset_ps, -e.duration_ps))
            stack = []  # [end_ps, name, op key or None, self_ps], outermost first.
            for event in events:
                start, name = event.offset_ps, names.get(event.metadata_id, "")
                while stack and stack[-1][0] <= start:
                    _close(stack.pop(), totals)
                kind = _op_type(name, stack[-1][1] if stack else None)
                key = (name, kind) if kind else None
                if key:
                    outer = next((s for s in reversed(stack) if s[2]), None)
                    if outer:
                        outer[3] -= event.duration_ps
                stack.append([start + event.duration_ps, name, key, event.duration_ps])
            while stack:
                _close(stack.pop(), totals)
    return dict(totals)


def _close(entry, totals):
    if entry[2]:
        totals[entry[2]] += max(entry[3], 0) / 1e12


def summarise(times, top=12):
    """Top op types and ops by self time, with shares of the total.

    Args:
        times: ``op_self_times``'s dict.
        top: rows kept in each list.

    Returns:
        ``{"total_s", "by_type": [{"type", "s", "share"}], "by_op": [{"op",
        "type", "s", "share"}]}``, each list largest first.
    """
    total = sum(times.values())
    by_type = defaultdict(float)
    for (_, kind), seconds in times.items():
        by_type[kind] += seconds

    def share(seconds):
        return round(seconds / total, 4) if total else 0.0

    return {
        "total_s": round(total, 6),
        "by_type": [
            {"type": k, "s": round(s, 6), "share": share(s)}
            for k, s in sorted(by_type.items(), key=lambda kv: -kv[1])[:top]
        ],
        "by_op": [
            {"op": n, "type": k, "s": round(s, 6), "share": share(s)}
            for (n, k), s in sorted(times.items(), key=lambda kv: -kv[1])[:top]
        ],
    }


def format_summary(summary):
    """The summary as printable text: two tables of shares."""
    lines = [
        f"op self time in total: {summary['total_s']:.3f} s",
        "",
        "  share  seconds  op type",
    ]
    lines += [
        f"  {r['share']:5.1%}  {r['s']:7.3f}  {r['type']}" for r in summary["by_type"]
    ]
    lines += ["", "  share  seconds  op (type)"]
    lines += [
        f"  {r['share']:5.1%}  {r['s']:7.3f}  {r['op']} ({r['type']})"
        for r in summary["by_op"]
    ]
    return "\n".join(lines)
