"""onnxruntime vs SavedModel on the CPU: classifier at batch 1 and 32, caption
generation, and the file sizes. Prints one JSON object; compare the ratios.

    python experiments/benchmarks/bench_export.py --run runs/default [--out DIR]

Both formats are exported from the same run into ``--out`` (a temp folder by
default) and timed in this one process, so only the ratios mean anything.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def best_of(fn, repeats):
    """The fastest of ``repeats`` calls after one warm-up, in milliseconds."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(1000 * min(times), 2)


def folder_mb(path):
    return round(sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
                 / 2**20, 2)


def main():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/default")
    parser.add_argument("--out", default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--decoder", default="beam")
    args = parser.parse_args()

    import tensorflow as tf

    from dank.decoding import DecodeConfig
    from dank.export.onnx import export_onnx
    from dank.export.ort_runner import OnnxCascade
    from dank.export.savedmodel import export_savedmodel

    out = Path(args.out or tempfile.mkdtemp(prefix="bench_export."))
    config = DecodeConfig(method=args.decoder, beam_size=5, max_len=25)
    start = time.perf_counter()
    export_savedmodel(args.run, out / "savedmodel", config)
    sm_seconds = time.perf_counter() - start
    start = time.perf_counter()
    export_onnx(args.run, out / "onnx", config)
    onnx_seconds = time.perf_counter() - start
    saved = tf.saved_model.load(str(out / "savedmodel"))
    runner = OnnxCascade(out / "onnx")
    size = runner.image_size
    rng = np.random.default_rng(0)
    result = {"run": str(args.run), "image_size": size, "decoder": args.decoder,
              "export_seconds": {"savedmodel": round(sm_seconds, 1),
                                 "onnx": round(onnx_seconds, 1)}}
    for batch in (1, 32):
        pixels = rng.uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
        sm = best_of(lambda p=pixels: saved.classify_pixels(p)["probs"].numpy(),
                     args.repeats)
        ort = best_of(lambda p=pixels: runner.classify(p), args.repeats)
        result[f"classify_b{batch}_ms"] = {"savedmodel": sm, "onnxruntime": ort,
                                           "ort_over_savedmodel": round(ort / sm, 3)}
    n = runner.manifest["n_templates"]
    seed = np.array([0, 0], np.int32)
    for batch in (1, 8):
        weights = np.eye(n, dtype=np.float32)[np.arange(batch) % n]
        embedding = np.zeros((batch, runner.manifest["image_dim"]), np.float32)
        sm = best_of(lambda w=weights, e=embedding: saved.caption(w, e, seed)[
            "tokens"].numpy(), args.repeats)
        ort = best_of(lambda w=weights, e=embedding: runner.caption(w, e, 0),
                      args.repeats)
        result[f"caption_{args.decoder}_b{batch}_ms"] = {
            "savedmodel": sm, "onnxruntime": ort,
            "ort_over_savedmodel": round(ort / sm, 3)}
    result["size_mb"] = {
        "savedmodel": folder_mb(out / "savedmodel"),
        "onnx_total": folder_mb(out / "onnx"),
        **{f.name: round(f.stat().st_size / 2**20, 3)
           for f in sorted((out / "onnx").glob("*.onnx"))},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
