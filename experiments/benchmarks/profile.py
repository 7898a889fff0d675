"""Profiles the two hot paths, caption training and beam decoding, and tries levers.

    python -m experiments.benchmarks.profile --what train|beam [--logdir runs/profile]
        [--preset cpu] [--batch 32] [--steps 10] [--jit] [--unroll] [--top 12]
    python -m experiments.benchmarks.profile --what train|beam --levers
        [--rounds 3] [--json-out FILE]

The workloads use dank's own ``CaptionModel`` at the preset's sizes with random
weights (speed depends on shapes only):

* ``train``: one ``train_on_batch`` step (Adam with clipping, masked
  cross-entropy: what ``dank train language`` compiles) on ``--batch`` captions
  of ``--length`` tokens;
* ``beam``: beam-5 decoding of ``--batch`` captions, 25 tokens each (the model
  is made never to end early, so every run does the same work).

**Profile** (default): warms up, records ``--steps`` runs with the TensorFlow
profiler into ``LOGDIR/<what>/`` and prints the op types and ops with the most
self time (``traces.py`` reads the trace; ``ops.json`` beside it keeps the
table). ``make tensorboard`` shows the trace in its Profile tab when the
``tensorboard-plugin-profile`` package is installed.

**Levers** (``--levers``): times the default workload against each variant,
in turns within one process (XLA per function, unroll, batch size, tied
embeddings and the vocabulary projection's table), and in child processes for
what must be set before TensorFlow starts (oneDNN off, intra/inter-op
threads), against a default child. TensorFlow's fp32 matmul (the half of the
suite's ceiling that can run in-process: numpy's half needs its own process
to unpin OpenBLAS, see ``ceiling.py``) is timed in the same turns, so a busy
machine slows both alike. Prints items/s, the ratio to the default
(in-process: items/s; child processes: fraction of their own ceiling) and the
fraction of the ceiling; ``--json-out`` keeps them.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from experiments.benchmarks import common

common.setup_env()

from experiments.benchmarks import standins, traces  # noqa: E402

BEAM, MAX_LEN = 5, 25
# Levers that need a fresh process: (name, extra environment, extra arguments).
CHILD_LEVERS = (
    ("default (child process)", {}, ()),
    ("oneDNN off", {"TF_ENABLE_ONEDNN_OPTS": "0"}, ()),
    ("intra-op threads 1", {}, ("--intra-op", "1")),
    ("inter-op threads 1", {}, ("--inter-op", "1")),
    ("intra 1, inter 1", {}, ("--intra-op", "1", "--inter-op", "1")),
)


def flops_per_item(model, what, length):
    """Forward+backward FLOPs per token (train) or per caption (beam)."""
    c, v = model.config, model.vocab_size
    if c.tie_embeddings:  # h -> E, then E -> V.
        token = common.caption_flops(c.units, c.embedding_dim, 0) + 2 * (
            c.units * c.embedding_dim + c.embedding_dim * v
        )
    else:
        token = common.caption_flops(c.units, c.embedding_dim, v)
    return 3 * token if what == "train" else BEAM * MAX_LEN * token


def train_workload(args, batch, jit=False, **changes):
    """``(run once, items per run, FLOPs per run)`` of one training step."""
    from dank.models.language.losses import MaskedCrossEntropy
    from dank.models.language.train import make_optimizer

    model = standins.caption_model(args.preset, **changes)
    model.compile(
        optimizer=make_optimizer(model.config),
        loss=MaskedCrossEntropy(),
        jit_compile=jit,
    )
    x, y = standins.caption_batch(model, batch, args.length)
    tokens = batch * args.length
    return (
        lambda: model.train_on_batch(x, y),
        tokens,
        tokens * flops_per_item(model, "train", args.length),
    )


def beam_workload(args, batch, jit=False, step_jit=False, transpose_b=False, **changes):
    """``(run once, items per run, FLOPs per run)`` of one beam-5 decode.

    Args:
        jit: XLA over the whole search (``compiled_decoder(jit_compile=True)``).
        step_jit: XLA over the model step only, the search in the graph.
        transpose_b: tied embeddings only: score against the embedding table
            with ``matmul(transpose_b=True)`` instead of ``CaptionModel.logits``'
            transpose of the table at every step.
    """
    import tensorflow as tf

    from dank.decoding import DecodeConfig, compiled_decoder

    model = standins.never_end(standins.caption_model(args.preset, **changes))
    step = model.step
    if transpose_b:
        step = tied_step_transpose_b(model)
    if step_jit:
        step = tf.function(step, jit_compile=True)
    config = DecodeConfig(method="beam", beam_size=BEAM, max_len=MAX_LEN)
    decoder = compiled_decoder(step, config, jit_compile=jit)
    state = standins.caption_state(model, batch)
    seed = tf.constant([0, 0], tf.int32)
    return (
        lambda: decoder(state, seed).tokens.numpy(),
        batch,
        batch * flops_per_item(model, "beam", args.length),
    )


def tied_step_transpose_b(model):
    """``model.step`` (template variant, tied embeddings) with the vocabulary
    scores taken against the untransposed table: no per-step transpose."""
    import tensorflow as tf

    n = model.decoder.state_size()

    def step(tokens, state):
        state = tuple(state)
        h, new = model.decoder.step(model.word_embedding(tokens), state[:n])
        logits = (
            tf.matmul(
                model.output_embedding(h),
                model.word_embedding.embeddings,
                transpose_b=True,
            )
            + model.output_bias
        )
        return logits, (*new, *state[n:])

    return step


def workload(args, batch=None, **lever):
    make = train_workload if args.what == "train" else beam_workload
    return make(args, batch or args.batch, **lever)


def in_process_levers(args):
    """``{name: keyword arguments of workload}`` for this ``--what``."""
    b = args.batch
    levers = {"default": {}, "XLA (jit_compile) on": {"jit": True}}
    if args.what == "train":
        levers["unroll"] = {"unroll": True}
        levers["XLA on, unrolled"] = {"jit": True, "unroll": True}
    else:
        levers["XLA on the model step only"] = {"step_jit": True}
    levers[f"batch {2 * b}"] = {"batch": 2 * b}
    levers[f"batch {4 * b}"] = {"batch": 4 * b}
    from dank.models.language.config import get_preset

    tied = get_preset(args.preset).tie_embeddings  # The lever flips the preset's.
    levers["untied output layer" if tied else "tied embeddings"] = {
        "tie_embeddings": not tied
    }
    if args.what == "beam":
        levers["tied, table not transposed per step"] = {
            "tie_embeddings": True,
            "transpose_b": True,
        }
    return levers


CHILD_TURNS = 2  # Runs of each child-process lever.
CEILING = "ceiling (TF fp32 matmul)"  # Timed in turns with the workloads.
CEILING_SIDE = 2048  # Smaller than the suite's 4096: it runs every round.


def rows_of(seconds, sizes):
    """Each workload's items/s, its ratio to the first (the default) and its
    FLOP/s over the ceiling matmul timed in the same rounds."""
    seconds = dict(seconds)
    ceiling = CEILING_SIDE**3 * 2 / seconds.pop(CEILING)["median"]
    rows = []
    for name, s in seconds.items():
        items, flops = sizes[name]
        rate = common.rates(s, items, "items/s")
        rows.append(
            {
                "lever": name,
                "items_per_s": rate,
                "of_ceiling": round(flops / s["median"] / ceiling, 4),
            }
        )
    return [
        {**r, "vs_default": common.ratio(r["items_per_s"], rows[0]["items_per_s"])}
        for r in rows
    ]


def time_in_turns(fns, sizes, args):
    """``rows_of`` for ``fns`` (warmed up), timed in turns with the ceiling."""
    matmul, _ = common.tf_matmul(CEILING_SIDE)
    seconds = common.interleaved(
        {**fns, CEILING: matmul}, args.rounds, number=args.steps, warmup=0
    )
    return rows_of(seconds, sizes)


def run_levers(args):
    """Every lever's row: in-process ones, then child-process ones, each group
    against its own default; levers that fail (XLA cannot compile) say why."""
    import tensorflow as tf

    fns, sizes, failed = {}, {}, []
    for name, lever in in_process_levers(args).items():
        print(f"[profile] building: {name}", flush=True)
        fn, *sizes[name] = workload(args, **lever)
        try:
            fn()  # Warm-up: tracing and compiling.
        except (tf.errors.OpError, ValueError) as e:  # E.g. XLA cannot compile it.
            failed.append({"lever": name, "error": str(e).strip().splitlines()[0]})
            continue
        fns[name] = fn
    rows = time_in_turns(fns, sizes, args) + failed
    # Child processes run one after another, so the machine's load can differ
    # between them: each lever is compared by its fraction of the ceiling timed
    # in its own process, and run CHILD_TURNS times in turns (the median kept).
    runs = {name: [] for name, _, _ in CHILD_LEVERS}
    for turn in range(CHILD_TURNS):
        for name, env, extra in CHILD_LEVERS:
            print(
                f"[profile] child process {turn + 1}/{CHILD_TURNS}: {name}", flush=True
            )
            runs[name].append(run_child(args, env, extra))
    children = []
    for name, results in runs.items():
        middle = sorted(results, key=lambda r: r["of_ceiling"])[len(results) // 2]
        children.append({**middle, "lever": name, "vs_default": None})
    for child in children:
        child["vs_default"] = round(child["of_ceiling"] / children[0]["of_ceiling"], 4)
    return rows + children


def run_child(args, env, extra):
    """Measures the default workload in a fresh process with ``env``/``extra``."""
    with tempfile.TemporaryDirectory(prefix="dank-profile.") as tmp:
        out = Path(tmp) / "row.json"
        command = [
            sys.executable,
            "-m",
            "experiments.benchmarks.profile",
            "--what",
            args.what,
            "--measure",
            "--preset",
            args.preset,
            "--batch",
            str(args.batch),
            "--length",
            str(args.length),
            "--steps",
            str(args.steps),
            "--rounds",
            "2",
            "--json-out",
            str(out),
            *extra,
        ]
        subprocess.run(
            command,
            env={**os.environ, **env},
            check=True,
            cwd=common.ROOT,
            stdout=subprocess.DEVNULL,
        )
        return json.loads(out.read_text())


def measure_one(args):
    """The default workload's row in this process (a child of ``--levers``)."""
    fn, *size = workload(args)
    fn()
    return time_in_turns({"default": fn}, {"default": size}, args)[0]


def profile(args):
    """Records a trace of ``--steps`` runs and prints the op summary."""
    import tensorflow as tf

    fn, _, _ = workload(args, jit=args.jit, **({"unroll": True} if args.unroll else {}))
    fn()
    fn()  # Warm-up: tracing, compiling, first allocations.
    logdir = Path(args.logdir) / args.what
    logdir.mkdir(parents=True, exist_ok=True)
    tf.profiler.experimental.start(str(logdir))
    try:
        for _ in range(args.steps):
            fn()
    finally:
        tf.profiler.experimental.stop()
    trace = traces.latest_trace(logdir)
    summary = traces.summarise(traces.op_self_times(traces.load_space(trace)), args.top)
    summary.update(
        what=args.what,
        trace=str(trace),
        steps=args.steps,
        params={
            k: getattr(args, k) for k in ("preset", "batch", "length", "jit", "unroll")
        },
    )
    from dank.core.io import write_json

    write_json(trace.parent / "ops.json", summary)
    print(
        f"[profile] {args.what}: trace in {trace.parent} "
        f"(`make tensorboard`, Profile tab)\n"
    )
    print(traces.format_summary(summary))
    return summary


def print_levers(rows, what):
    unit = "tokens/s" if what == "train" else "captions/s"
    print(f"\n{'lever':42} {unit:>12} {'vs default':>10} {'of ceiling':>10}")
    for r in rows:
        if "error" in r:
            print(f"{r['lever']:42} failed: {r['error'][:80]}")
            continue
        rate = r["items_per_s"]["median"]
        print(
            f"{r['lever']:42} {rate:12,.1f} {r.get('vs_default') or 0:10.3f} "
            f"{r['of_ceiling']:10.3f}"
        )


def main(argv=None):
    parser = common.make_parser(__doc__)
    parser.add_argument(
        "--what",
        choices=("train", "beam"),
        required=True,
        help="workload: caption training steps or beam search",
    )
    parser.add_argument(
        "--logdir",
        default="runs/profile",
        help="TensorBoard trace folder (default %(default)s)",
    )
    parser.add_argument(
        "--preset",
        default="cpu",
        choices=sorted(common.VOCAB),
        help="caption model size and vocabulary (default %(default)s)",
    )
    parser.add_argument("--batch", type=int, default=32, help="batch (default 32)")
    parser.add_argument("--length", type=int, default=16, help="tokens per caption")
    parser.add_argument("--steps", type=int, default=None, help="runs per round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds")
    parser.add_argument("--jit", action="store_true", help="profile with XLA")
    parser.add_argument("--unroll", action="store_true", help="train: unroll the LSTM")
    parser.add_argument("--top", type=int, default=12, help="rows in each table")
    parser.add_argument("--levers", action="store_true", help="time the levers")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--intra-op", type=int, default=0, help="threads in an op")
    parser.add_argument("--inter-op", type=int, default=0, help="ops at once")
    args = parser.parse_args(argv)
    args.steps = args.steps or (10 if args.what == "train" else 3)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    if not (args.levers or args.measure):
        profile(args)
        return 0
    if args.measure:
        return common.emit(measure_one(args), args)
    rows = run_levers(args)
    print_levers(rows, args.what)
    result = common.make_result(
        f"levers_{args.what}",
        args,
        {k: getattr(args, k) for k in ("preset", "batch", "length", "steps", "rounds")},
    )
    result.update(
        machine=common.machine_info(),
        levers=rows,
        load_average=[round(x, 2) for x in os.getloadavg()],
    )
    if args.json_out:
        from dank.core.io import write_json

        write_json(args.json_out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
