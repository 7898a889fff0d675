"""onnxruntime vs SavedModel on the CPU: classifier at batch 1 and 32, beam
captions at batch 1 and 8, and the file sizes, from one trained run.

    python -m experiments.benchmarks.bench_export [--quick] --run runs/default
        [--cache DIR] [--repeats 5]

Both formats are exported from the same run and timed in this one process, so
only the ratios mean anything: ``*_ort_speedup`` is SavedModel time over
onnxruntime time (above 1: onnxruntime is faster). Exports are kept in
``--cache`` (default: a folder under the system temp dir named after the run)
and reused while they are newer than the run's models, so a second run skips
the minutes of exporting; ``export_seconds`` is reported when they were made.
"""

import hashlib
import tempfile
import time
from pathlib import Path

from experiments.benchmarks import common

common.setup_env()

import numpy as np  # noqa: E402

from dank.core import constants  # noqa: E402
from dank.core.run import RunLayout  # noqa: E402


def folder_mib(path):
    """Total size of the files under ``path`` in MiB."""
    files = [f for f in Path(path).rglob("*") if f.is_file()]
    return round(sum(f.stat().st_size for f in files) / 2**20, 2)


def fresh(folder, run_dir):
    """True when ``folder`` exists and is newer than both of the run's models."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    layout = RunLayout(run_dir)
    models = [
        layout.model_file(c) for c in (constants.VISION_DIR, constants.LANGUAGE_DIR)
    ]
    return folder.stat().st_mtime > max(m.stat().st_mtime for m in models)


def exports(run_dir, cache, config):
    """``(savedmodel_dir, onnx_dir, export_seconds)``, exporting what is stale."""
    from dank.apps.export.onnx import export_onnx
    from dank.apps.export.savedmodel import export_savedmodel

    seconds = {}
    for name, export in (("savedmodel", export_savedmodel), ("onnx", export_onnx)):
        if not fresh(cache / name, run_dir):
            start = time.perf_counter()
            export(run_dir, cache / name, config)
            seconds[name] = round(time.perf_counter() - start, 1)
    return cache / "savedmodel", cache / "onnx", seconds


def main(argv=None):
    parser = common.make_parser(__doc__, needs_run=True)
    parser.add_argument("--cache", default=None, help="export folder to (re)use")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats: 7 (quick 3)"
    )
    args = parser.parse_args(argv)
    reason = common.missing_run(args.run)
    if reason:
        return common.emit(common.skipped("export", args, reason), args)

    import tensorflow as tf

    from dank.apps.export.ort_runner import OnnxCascade
    from dank.decoding import DecodeConfig

    repeats = args.repeats or (3 if args.quick else 7)
    key = hashlib.sha1(str(Path(args.run).resolve()).encode()).hexdigest()[:8]
    cache = Path(args.cache or Path(tempfile.gettempdir()) / f"dank-bench-{key}")
    config = DecodeConfig(method="beam", beam_size=5, max_len=25)
    sm_dir, onnx_dir, export_seconds = exports(args.run, cache, config)
    saved = tf.saved_model.load(str(sm_dir))
    runner = OnnxCascade(onnx_dir)
    size = runner.image_size
    result = common.make_result(
        "export",
        args,
        {
            "run": str(args.run),
            "image_size": size,
            "decoder": "beam",
            "beam_size": config.beam_size,
            "max_len": config.max_len,
            "repeats": repeats,
            "cache": str(cache),
        },
    )
    result["export_seconds"] = export_seconds
    figures, ratios = result["figures"], result["ratios"]
    rng = np.random.default_rng(0)
    for batch in (1, 32):
        pixels = rng.uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
        sm = common.measure(
            lambda p=pixels: saved.classify_pixels(p)["probs"].numpy(), repeats
        )
        ort = common.measure(lambda p=pixels: runner.classify(p), repeats)
        figures[f"classify_b{batch}_savedmodel_s"] = sm
        figures[f"classify_b{batch}_onnxruntime_s"] = ort
        ratios[f"classify_b{batch}_ort_speedup"] = common.ratio(sm, ort)
    n = runner.manifest["n_templates"]
    seed = np.array([0, 0], np.int32)
    beam = {"method": "beam", "beam_size": config.beam_size, "max_len": config.max_len}
    for batch in (1, 8):
        weights = np.eye(n, dtype=np.float32)[np.arange(batch) % n]
        embedding = np.zeros((batch, runner.manifest["image_dim"]), np.float32)
        sm = common.measure(
            lambda w=weights, e=embedding: saved.caption_beam(w, e, seed)[
                "tokens"
            ].numpy(),
            repeats,
        )
        ort = common.measure(
            lambda w=weights, e=embedding: runner.caption(w, e, 0, **beam), repeats
        )
        figures[f"caption_beam_b{batch}_savedmodel_s"] = sm
        figures[f"caption_beam_b{batch}_onnxruntime_s"] = ort
        ratios[f"caption_beam_b{batch}_ort_speedup"] = common.ratio(sm, ort)
    result["size_mib"] = {
        "savedmodel": folder_mib(sm_dir),
        "onnx_total": folder_mib(onnx_dir),
        **{
            f.name: round(f.stat().st_size / 2**20, 3)
            for f in sorted(onnx_dir.glob("*.onnx"))
        },
    }
    return common.emit(result, args)


if __name__ == "__main__":
    raise SystemExit(main())
