"""Decoding speed: per-step Python loop vs tf.function graph vs XLA.

Stand-in model at the paper's size (LSTM 512, embeddings 300, vocabulary
38,821) with random weights, written with plain ``keras.ops`` matmuls, since
only the shapes matter for speed. Each mode runs the same beam search
(``dank.decoding.decode``, beam 5, max length 25):

- ``python``: im2txt's way. The model step is one compiled graph call per token
  (im2txt ran ``sess.run`` per step) and the beam bookkeeping runs eagerly,
  op by op, from a Python loop (``tf.while_loop`` in eager mode is one).
- ``graph``: the whole search in one ``tf.function``.
- ``xla``: the same with ``jit_compile=True``.
- ``xla_model_only``: just the 25 model steps in an XLA while-loop, no search,
  to show how much of the time is the model and how much the search.

FLOPs per row and step: the LSTM's 2 * 4u * (e + u) plus the vocabulary
projection's 2 * u * V; a batch runs B * K rows for every step it takes. The
ceiling is the best numpy fp32 matmul rate measured in the same run (the
projection's own shape and a square 2048 matmul). Ratios and fractions compare
numbers measured in this run only.

Usage: python experiments/benchmarks/bench_decoding.py [--quick] [--method beam]
"""

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import numpy as np  # noqa: E402

UNITS, EMBED, VOCAB = 512, 300, 38821


def make_step_fn(units=UNITS, embed=EMBED, vocab=VOCAB, seed=0):
    """A random LSTM caption step at the given size (uniform +-0.08, as the paper)."""
    import keras
    import tensorflow as tf
    from keras import ops

    from dank import constants

    rng = np.random.default_rng(seed)

    def weight(*shape):
        return tf.Variable(rng.uniform(-0.08, 0.08, shape).astype(np.float32))

    emb, w, b = (
        weight(vocab, embed),
        weight(embed + units, 4 * units),
        weight(4 * units),
    )
    wp, bias = weight(units, vocab), rng.uniform(-0.08, 0.08, vocab)
    # A random model ranks "</s>" alone first and the bound stops the search
    # after a step or two; never ending makes every run do all max_len steps,
    # the worst case and a fixed amount of work to time.
    bias[constants.END_ID] = -np.inf
    bp = tf.Variable(bias.astype(np.float32))

    def step_fn(tokens, state):
        h, c = state
        x = ops.take(emb, tokens, axis=0)
        z = ops.matmul(ops.concatenate([x, h], axis=-1), w) + b
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = keras.activations.sigmoid(f) * c + keras.activations.sigmoid(i) * ops.tanh(
            g
        )
        h = keras.activations.sigmoid(o) * ops.tanh(c)
        return ops.matmul(h, wp) + bp, (h, c)

    return step_fn


def flops_per_row_step(units=UNITS, embed=EMBED, vocab=VOCAB):
    return 2 * 4 * units * (embed + units) + 2 * units * vocab


def numpy_ceiling(rows, seconds=1.0):
    """Best numpy fp32 matmul GFLOP/s: the projection's shape and square 2048."""
    rng = np.random.default_rng(0)
    shapes = {"projection": (rows, UNITS, VOCAB), "square2048": (2048, 2048, 2048)}
    rates = {}
    for name, (m, k, n) in shapes.items():
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        a @ b
        count, start = 0, time.perf_counter()
        while count < 2 or time.perf_counter() - start < seconds:
            a @ b
            count += 1
        rates[name] = 2 * m * k * n * count / (time.perf_counter() - start) / 1e9
    return rates


def time_call(fn, reps, warm_up=True):
    """Best wall time of ``reps`` calls, after one warm-up call if asked."""
    if warm_up:
        fn()
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_batch(step_fn, config, batch, reps, python_reps):
    import tensorflow as tf

    from dank.decoding import compiled_decoder, decode

    rng = np.random.default_rng(batch)
    units = UNITS
    state = (
        tf.constant(rng.standard_normal((batch, units)).astype(np.float32) * 0.1),
        tf.zeros([batch, units]),
    )
    seed = tf.constant([1, 2], tf.int32)
    graph_step = tf.function(step_fn, jit_compile=False)
    runs = {
        "python": lambda: decode(graph_step, state, config, seed=seed),
        "graph": compiled_decoder(step_fn, config),
        "xla": compiled_decoder(step_fn, config, jit_compile=True),
    }
    rows = batch * config.beam_size
    big_state = tuple(tf.repeat(s, config.beam_size, axis=0) for s in state)

    @tf.function(jit_compile=True)
    def model_only(state):
        tokens = tf.fill([rows], 2)

        def body(t, tokens, state):
            logits, state = step_fn(tokens, state)
            return t + 1, tf.argmax(logits, -1, output_type=tf.int32), state

        return tf.while_loop(
            lambda t, *_: t < config.max_len, body, (0, tokens, state)
        )[1]

    results = {}
    for mode, fn in runs.items():
        if mode == "python":
            # Tracing the one-step graph is the only warm-up this mode needs.
            graph_step(tf.fill([rows], 2), big_state)
            results[mode] = time_call(
                lambda fn=fn: fn().tokens.numpy(), python_reps, warm_up=False
            )
        else:
            results[mode] = time_call(
                lambda fn=fn: fn(state, seed).tokens.numpy(), reps
            )
    # The stand-in never says </s>, so every search runs max_len steps.
    steps = int(np.max(runs["xla"](state, seed).lengths.numpy()))
    results["xla_model_only"] = time_call(lambda: model_only(big_state).numpy(), reps)
    return results, steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (<2 min)")
    parser.add_argument("--method", default="beam", choices=["beam", "diverse"])
    parser.add_argument("--batches", default="1,32")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from dank.decoding import DecodeConfig

    config = DecodeConfig(method=args.method, beam_size=5, max_len=25)
    step_fn = make_step_fn()
    reps, python_reps = (1, 1) if args.quick else (5, 3)
    batches = [int(b) for b in args.batches.split(",")]
    report = {
        "benchmark": "decoding",
        "method": args.method,
        "beam_size": config.beam_size,
        "max_len": config.max_len,
        "model": {"units": UNITS, "embed": EMBED, "vocab": VOCAB},
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "gpus": len(tf.config.list_physical_devices("GPU")),
            "tensorflow": tf.__version__,
        },
        "quick": args.quick,
        "results": [],
    }
    for batch in batches:
        rows = batch * config.beam_size
        ceiling = numpy_ceiling(rows, seconds=0.5 if args.quick else 2.0)
        best = max(ceiling.values())
        times, steps = bench_batch(step_fn, config, batch, reps, python_reps)
        flops = steps * rows * flops_per_row_step()
        for mode, seconds in times.items():
            gflops = flops / seconds / 1e9
            report["results"].append(
                {
                    "batch": batch,
                    "mode": mode,
                    "steps": steps,
                    "seconds": round(seconds, 4),
                    "captions_per_s": round(batch / seconds, 3),
                    "ratio_to_python": round(times["python"] / seconds, 3),
                    "gflops_per_s": round(gflops, 2),
                    "fraction_of_ceiling": round(gflops / best, 3),
                }
            )
        report["results"].append(
            {"batch": batch, "mode": "numpy_ceiling_gflops_per_s", **ceiling}
        )
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
