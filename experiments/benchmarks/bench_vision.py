"""Speed of the ResNet50 template classifier against this machine's matmul ceiling.

Measures, in one process, so only ratios are compared:

* ``matmul_gflops``: best TensorFlow fp32 GFLOP/s of a square matmul (ceiling);
* training images/s of ``train_on_batch`` on an in-memory batch, with and
  without XLA (``jit_compile``), and the pipeline's own images/s
  (``dank.vision.data.train_dataset``, when ``--data`` is given) so one can see
  whether tf.data keeps up with the model;
* inference images/s at batch 1 and batch 32, with and without XLA;
* ``*_ceiling_fraction``: achieved FLOP/s over the matmul ceiling, counting
  ResNet50 as 4.1 GMAC (8.2 GFLOP) per 224x224 image forward, scaled by
  (S/224)^2, and a training step as 3x the forward.

Usage: python experiments/benchmarks/bench_vision.py [--preset cpu --steps 5
    --data data/build/starter --n-templates 100]
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from dank.vision.config import get_config  # noqa: E402
from dank.vision.model import build_model  # noqa: E402

RESNET50_GFLOP_224 = 8.2  # Forward, 2 FLOP per multiply-add.


def matmul_ceiling(n=2048, repeats=5):
    """Best TensorFlow fp32 GFLOP/s over square matmuls."""
    a, b = tf.random.uniform((n, n)), tf.random.uniform((n, n))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    matmul()
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        matmul().numpy()
        best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def best_rate(fn, items, repeats):
    """Best items/s of ``fn`` over ``repeats`` timed calls after one warm-up."""
    fn()
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = max(best, items / (time.perf_counter() - start))
    return best


def train_rate(config, n_templates, jit, steps):
    model = build_model(n_templates, config.image_size, config.dropout)
    train = keras.Model(model.inputs, model.get_layer("logits").output)
    train.compile(
        keras.optimizers.AdamW(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit,
    )
    rng = np.random.default_rng(0)
    s, b = config.image_size, config.batch_size
    x = rng.uniform(0, 255, (b, s, s, 3)).astype("float32")
    y = rng.integers(0, n_templates, b)
    return best_rate(lambda: train.train_on_batch(x, y), b, steps), model


def infer_rate(model, batch, jit, steps, size):
    forward = tf.function(lambda x: model(x, training=False)["logits"], jit_compile=jit)
    x = tf.random.uniform((batch, size, size, 3), 0, 255)
    return best_rate(lambda: forward(x).numpy(), batch, steps)


def pipeline_rate(data_dir, config, batches):
    from dank.vision.data import train_dataset

    iterator = iter(train_dataset(data_dir, config))
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * config.batch_size / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--steps", type=int, default=5, help="timed repeats per case")
    parser.add_argument("--n-templates", type=int, default=100)
    parser.add_argument("--data", help="a data build, to time the input pipeline")
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA cases")
    args = parser.parse_args()
    config = get_config(args.preset)
    size = config.image_size
    gflop = RESNET50_GFLOP_224 * (size / 224) ** 2
    ceiling = matmul_ceiling()
    result = {
        "preset": args.preset,
        "image_size": size,
        "batch_size": config.batch_size,
        "matmul_gflops": round(ceiling, 1),
        "cases": {},
    }
    for jit in (False,) if args.no_xla else (False, True):
        rate, model = train_rate(config, args.n_templates, jit, args.steps)
        case = {
            "train_images_per_s": round(rate, 2),
            "train_ceiling_fraction": round(3 * gflop * rate / ceiling, 3),
        }
        for batch in (1, 32):
            r = infer_rate(model, batch, jit, args.steps, size)
            case[f"infer_b{batch}_images_per_s"] = round(r, 2)
            case[f"infer_b{batch}_ceiling_fraction"] = round(gflop * r / ceiling, 3)
        result["cases"]["xla" if jit else "no_xla"] = case
    if args.data:
        result["pipeline_images_per_s"] = round(pipeline_rate(args.data, config, 10), 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
