"""Training speed of dank's ConditionedLSTM vs keras.layers.LSTM, same process.

Builds two caption-like models with the same sizes (Embedding -> LSTM ->
Dense(V), masked-free cross-entropy), times ``train_on_batch`` alternately, and
prints one JSON object:

* ``ratio``: custom tokens/s divided by built-in tokens/s (target >= 0.95),
  for the full model and for the LSTM alone (``lstm_only``);
* ``ceiling_fraction``: achieved training FLOP/s of the full custom model over
  a numpy fp32 matmul ceiling measured here (target >= 0.6). Training FLOPs
  per token are counted as 3x the forward matmuls (forward + two backward).
  numpy's BLAS may be slower than TensorFlow's (oneDNN), so the fraction over a
  TensorFlow matmul of the same size (``tf_ceiling_fraction``) is printed too.

Usage: python experiments/benchmarks/bench_lstm.py [--batch 64 --steps 20 ...]
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from dank.language.lstm import ConditionedLSTM  # noqa: E402


def matmul_ceiling(n=1024, repeats=10):
    """Best numpy fp32 GFLOP/s over a few square matmuls."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ b
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - start))
    return best


def tf_matmul_ceiling(n=1024, repeats=10):
    """Best TensorFlow fp32 GFLOP/s over square matmuls (training's own BLAS)."""
    import tensorflow as tf

    a = tf.random.uniform((n, n))
    b = tf.random.uniform((n, n))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    matmul()
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        matmul().numpy()
        best = max(best, 2 * n**3 / (time.perf_counter() - start))
    return best


def build(kind, args, head=True):
    tokens = keras.Input((args.length,), dtype="int32")
    x = keras.layers.Embedding(args.vocab, args.embedding)(tokens)
    if kind == "custom":
        x = ConditionedLSTM(args.units, unroll=args.unroll)(x)
    else:
        x = keras.layers.LSTM(args.units, return_sequences=True, unroll=args.unroll)(x)
    if head:
        x = keras.layers.Dense(args.vocab)(x)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        loss = "mse"
    model = keras.Model(tokens, x)
    model.compile(keras.optimizers.Adam(1e-3), loss=loss, jit_compile=args.jit)
    return model


def time_models(models, batch, target, steps, rounds):
    """Best seconds per step of each model, alternating to share noise."""
    for name, model in models.items():
        model.train_on_batch(batch, target[name])
    best = dict.fromkeys(models, float("inf"))
    for _ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            for _ in range(steps):
                model.train_on_batch(batch, target[name])
            best[name] = min(best[name], (time.perf_counter() - start) / steps)
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--length", type=int, default=16)
    p.add_argument("--embedding", type=int, default=128)
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--vocab", type=int, default=6000)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--unroll", action="store_true")
    p.add_argument("--jit", action="store_true", help="compile with XLA")
    args = p.parse_args()

    rng = np.random.default_rng(0)
    batch = rng.integers(1, args.vocab, (args.batch, args.length)).astype("int32")
    tokens = args.batch * args.length
    result = {"config": vars(args)}
    for head in (True, False):
        models = {kind: build(kind, args, head) for kind in ("custom", "builtin")}
        zeros = np.zeros((args.batch, args.length, args.units), "float32")
        target = dict.fromkeys(models, batch if head else zeros)
        seconds = time_models(models, batch, target, args.steps, args.rounds)
        rates = {k: tokens / s for k, s in seconds.items()}
        key = "full" if head else "lstm_only"
        result[key] = {
            "custom_tokens_per_s": round(rates["custom"]),
            "builtin_tokens_per_s": round(rates["builtin"]),
            "ratio": round(rates["custom"] / rates["builtin"], 3),
        }
        if head:
            e, u, v = args.embedding, args.units, args.vocab
            forward = 2 * (e * 4 * u + u * 4 * u + u * v)
            flops = 3 * forward * rates["custom"]
            ceiling, tf_ceiling = matmul_ceiling(), tf_matmul_ceiling()
            result["full"]["train_gflops"] = round(flops / 1e9, 2)
            result["matmul_ceiling_gflops"] = round(ceiling / 1e9, 2)
            result["ceiling_fraction"] = round(flops / ceiling, 3)
            result["tf_matmul_ceiling_gflops"] = round(tf_ceiling / 1e9, 2)
            result["tf_ceiling_fraction"] = round(flops / tf_ceiling, 3)
            result["projection_flop_share"] = round(u * v / (forward / 2), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
