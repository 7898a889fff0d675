"""What every benchmark shares: the ceiling, timing statistics, machine info, output.

Each ``bench_*.py`` script builds one result dict with ``make_result`` and hands
it to ``emit``; ``run.py`` runs the scripts and collects their results. The
conventions, so results from different scripts read the same way:

* ``figures``: name -> ``{"median", "min", "max", "unit", "n"}``, a measurement
  over ``n`` timed runs after warm-up (``stats`` / ``measure`` / ``rates``);
* ``ratios``: name -> float, always "higher is better" (a speed-up over the
  named baseline, or a fraction of the same run's fp32 matmul ceiling), so the
  regression guard can flag any ratio that fell;
* ``ceiling``: the fp32 GFLOP/s every fraction was taken against (the best of
  TensorFlow's and unpinned numpy's matmul: ``ceiling.py``).

Nothing here imports TensorFlow at module level, so the helpers stay cheap to
test; ``tf_matmul_rate`` imports it when called.
"""

import argparse
import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path

# Re-exported: benchmarks record the same machine fields as experiments.
from dank.core.machine import cpu_model, machine_info  # noqa: F401
from dank.models.language.config import LOGITS_DTYPES

ROOT = Path(__file__).resolve().parents[2]
CEILING_SIZE = 4096  # Square fp32 matmul side for the ceiling (``ceiling.py``).
# Caption vocabulary per language preset: the starter set's words; the paper's.
VOCAB = {"tiny": 500, "cpu": 10530, "paper": 38821}


def setup_env():
    """TensorFlow settings every benchmark runs with (before TF is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


# -- statistics ----------------------------------------------------------------


def stats(values, unit):
    """Median, min and max of ``values`` (a non-empty list) in ``unit``."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("stats() needs at least one value")
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "unit": unit,
        "n": len(values),
    }


def measure(fn, repeats, warmup=1, number=1):
    """Seconds per call of ``fn``: ``stats`` over ``repeats`` timed runs.

    Args:
        fn: a callable that finishes its work before returning (call
            ``.numpy()`` on tensors so asynchronous work is counted).
        repeats: timed runs (the median is over these).
        warmup: untimed calls first (tracing, compiling, caches).
        number: calls per timed run; the run's time is divided by it.
    """
    if repeats < 1 or number < 1:
        raise ValueError(f"repeats and number must be >= 1, got {repeats}, {number}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return stats(times, "s")


def interleaved(fns, rounds, number=1, warmup=1):
    """Seconds per call of each of ``fns`` (name -> callable), timed in turns.

    Each round times ``number`` calls of every function in turn, so all of them
    share the machine's noise (another job on the shared cores slows them all
    alike) and their ratios stay fair. Returns ``{name: stats}`` over ``rounds``.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(measure(fn, 1, warmup=0, number=number)["median"])
    return {name: stats(t, "s") for name, t in times.items()}


def rates(seconds, items, unit):
    """Turns a ``measure`` result into items per second (min rate = max time)."""
    return {
        "median": items / seconds["median"],
        "min": items / seconds["max"],
        "max": items / seconds["min"],
        "unit": unit,
        "n": seconds["n"],
    }


def scale(figure, factor, unit):
    """A figure with every statistic multiplied by ``factor`` (e.g. to GFLOP/s)."""
    return {
        **figure,
        **{k: figure[k] * factor for k in ("median", "min", "max")},
        "unit": unit,
    }


def ratio(numerator, denominator):
    """Median over median, rounded; None when either side is missing or zero."""
    num = numerator["median"] if isinstance(numerator, dict) else numerator
    den = denominator["median"] if isinstance(denominator, dict) else denominator
    if not num or not den:
        return None
    return round(num / den, 4)


# -- the ceiling ---------------------------------------------------------------


def numpy_matmul(m=CEILING_SIZE, k=None, n=None):
    """``(fn, GFLOP)``: a numpy fp32 ``[m,k] @ [k,n]`` to time, and its work."""
    import numpy as np

    k, n = k or m, n or m
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    return (lambda: a @ b), 2 * m * k * n / 1e9


def numpy_matmul_rate(m=CEILING_SIZE, k=None, n=None, repeats=3):
    """GFLOP/s of a numpy fp32 ``[m,k] @ [k,n]`` (``stats`` over ``repeats``)."""
    fn, gflop = numpy_matmul(m, k, n)
    return rates(measure(fn, repeats), gflop, "GFLOP/s")


def tf_matmul(m=CEILING_SIZE, dtype="float32"):
    """``(fn, GFLOP)``: a TensorFlow square matmul in a ``tf.function`` to time.

    TensorFlow multiplies with oneDNN (when on) rather than numpy's BLAS, so
    the two rates can differ; training and decoding run on this one.
    ``dtype="bfloat16"`` gives the bf16 rate (AVX512_BF16 or AMX CPUs).
    """
    import tensorflow as tf

    a = tf.cast(tf.random.uniform((m, m)), dtype)
    b = tf.cast(tf.random.uniform((m, m)), dtype)
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    return (lambda: matmul().numpy()), 2 * m**3 / 1e9


def tf_matmul_rate(m=CEILING_SIZE, repeats=3, dtype="float32"):
    """GFLOP/s of ``tf_matmul`` (``stats`` over ``repeats``)."""
    fn, gflop = tf_matmul(m, dtype)
    return rates(measure(fn, repeats), gflop, "GFLOP/s")


def ceilings(args):
    """The run's fp32 ceiling in GFLOP/s: ``{"fp32": x}`` (``ceiling.py``).

    Taken from ``--ceiling-gflops`` when ``run.py`` measured it just before
    this benchmark, else measured here (and the whole record kept).
    """
    if args.ceiling_gflops:
        return {"fp32": round(args.ceiling_gflops, 2)}
    from experiments.benchmarks import ceiling, summary

    record = ceiling.measure(repeats=3 if args.quick else 5)
    print("\n".join(summary.ceiling_lines(record)), file=sys.stderr, flush=True)
    return {"fp32": record["fp32"], "record": record}


def ceiling_fractions(ratios, name, gflops, ceiling):
    """Adds ``name_of_ceiling``, achieved over the fp32 ceiling, to ``ratios``."""
    value = gflops["median"] if isinstance(gflops, dict) else gflops
    ratios[f"{name}_of_ceiling"] = round(value / ceiling["fp32"], 4)


def caption_flops(units, embed, vocab):
    """Forward FLOPs of one caption-model token (one decoding row and step): the
    LSTM's four gate matmuls plus the vocabulary projection, 2 FLOP per MAC.

    Training costs 3x this (forward and two backward matmuls). Conditioning adds
    nothing per token: ``ConditionedLSTM`` folds it into the state.
    """
    return 2 * 4 * units * (embed + units) + 2 * units * vocab


def percentile(values, q):
    """The ``q``-th percentile (0..100) of ``values``, linearly interpolated."""
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def latencies(fn, repeats, warmup=1):
    """p50/p95/min/max seconds of single calls of ``fn`` (a latency figure)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {**stats(times, "s"), "p95": percentile(times, 95)}


def pictures(count=8, side=480):
    """Distinct JPEG pictures as bytes (drawn here, nothing downloaded)."""
    import io

    from PIL import Image, ImageDraw

    out = []
    for i in range(count):
        image = Image.new("RGB", (side, side * 3 // 4), (30 * i % 255, 80, 150))
        ImageDraw.Draw(image).ellipse(
            (side // 4, side // 5, side * 3 // 4, side // 2),
            fill=(240, 200 - 10 * i % 200, 40),
        )
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


# -- machine and memory --------------------------------------------------------


def machine_slug(info=None):
    """A short file-name-safe machine name, e.g. ``amd-epyc-2cpu``."""
    info = info or machine_info(with_tf=False)
    model = re.sub(r"\((r|tm)\)|cpu|processor|@.*", "", info["cpu"].lower())
    words = re.findall(r"[a-z0-9]+", model)[:3]
    return "-".join([*words, f"{info['cores']}cpu"])


def peak_rss_mib():
    """This process's peak resident memory so far, in MiB (Linux: ru_maxrss KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- arguments and output ------------------------------------------------------


def add_common_args(parser, needs_run=False):
    """The flags every benchmark script takes (and ``run.py`` passes)."""
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and sizes (suite ~2 min)"
    )
    parser.add_argument("--json-out", help="also write the result JSON here")
    parser.add_argument(
        "--ceiling-gflops",
        type=float,
        default=None,
        help="fp32 matmul ceiling of this run (ceiling.py; measured if omitted)",
    )
    if needs_run:
        parser.add_argument(
            "--run", default="runs/default", help="a trained run (`make train`)"
        )
    return parser


def make_parser(doc, needs_run=False):
    """An ``ArgumentParser`` described by the script's docstring, common flags on."""
    parser = argparse.ArgumentParser(
        description=doc.strip().splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return add_common_args(parser, needs_run)


def add_logits_dtype(parser):
    """``--logits-dtype``: operand type of the vocabulary projection's matmul."""
    parser.add_argument(
        "--logits-dtype",
        default="float32",
        choices=LOGITS_DTYPES,
        help="the vocabulary projection's matmul operands (LanguageConfig."
        "logits_dtype; auto: bfloat16 where the CPU has AVX512_BF16 or AMX;"
        " default %(default)s)",
    )
    return parser


def make_result(name, args, params=None):
    """An empty result for benchmark ``name``, to fill in and ``emit``."""
    return {
        "benchmark": name,
        "quick": bool(getattr(args, "quick", False)),
        "params": dict(params or {}),
        "figures": {},
        "ratios": {},
    }


def missing_run(run_dir, components=("vision", "language")):
    """Why ``run_dir`` cannot be benchmarked, or None when it has every model."""
    from dank.core.run import RunLayout

    for component in components:
        path = RunLayout(run_dir).model_file(component)
        if not path.is_file():
            return f"no trained run: {path} is missing (run `make train` first)"
    return None


def skipped(name, args, reason):
    """A result that says why the benchmark did not run."""
    return {**make_result(name, args), "skipped": reason}


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def emit(result, args):
    """Adds peak memory, prints the result as JSON, writes ``--json-out``."""
    import json

    from dank.core.io import write_json

    result = _rounded({**result, "peak_rss_mib": peak_rss_mib()})
    print(json.dumps(result, indent=1), flush=True)
    if getattr(args, "json_out", None):
        write_json(args.json_out, result)
    return 0
