"""The machine's fp32 matmul ceiling, measured honestly (issue 23).

    python -m experiments.benchmarks.ceiling [--quick]      # prints the record
    python -m experiments.benchmarks.ceiling --numpy-probe SIZE REPEATS

Every fraction the suite prints and writes is taken against one number, the
**fp32 ceiling**: the best (fastest repeat) of two square 4096x4096 fp32
matmuls,

* TensorFlow's (oneDNN on this CPU; what training and decoding run on), and
* numpy's, run in a child process with ``OPENBLAS_CORETYPE`` and
  ``OPENBLAS_L2_SIZE`` removed from that child's environment only. The
  environment may pin OpenBLAS to an older kernel (about half the speed on an
  AVX-512 CPU); nothing else, tests included, changes those variables.

For reference, not for fractions, the record also holds numpy in this process
(OpenBLAS as the environment sets it: ``numpy_pinned``), the BLAS kernel each
numpy ran (threadpoolctl's ``architecture``, when threadpoolctl is installed),
the CPU features seen in /proc/cpuinfo, and, where the CPU has AVX512_BF16 or
AMX, a bf16 ceiling (TensorFlow's bf16 matmul of the same size).
"""

import argparse
import json
import os
import subprocess
import sys

from experiments.benchmarks import common, summary

# Removed from the numpy probe's environment only (see the module docstring).
PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# /proc/cpuinfo flags recorded: name in the results -> any of these flags.
FEATURES = {
    "avx2": ("avx2",),
    "avx512f": ("avx512f",),
    "avx512_bf16": ("avx512_bf16",),
    "amx": ("amx_tile", "amx_bf16", "amx_int8"),
}


def cpu_features(flags=None):
    """``{feature: bool}`` for ``FEATURES``, from ``flags`` or /proc/cpuinfo."""
    if flags is None:
        from dank.apps.doctor.environment import cpu_flags, read_cpuinfo

        flags = cpu_flags(read_cpuinfo())
    return {name: any(f in flags for f in names) for name, names in FEATURES.items()}


def has_bf16(features):
    """Whether the CPU multiplies bf16 natively (AVX512_BF16 or AMX)."""
    return bool(features.get("avx512_bf16") or features.get("amx"))


def blas_info():
    """The BLAS numpy uses here, as threadpoolctl sees it; None without it."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    for lib in threadpoolctl.threadpool_info():
        if lib.get("user_api") == "blas":
            return {
                k: lib.get(k)
                for k in ("internal_api", "architecture", "version", "num_threads")
            }
    return None


def best(figure):
    """The best GFLOP/s of a ``common.rates`` figure (its fastest repeat)."""
    return figure["max"]


def numpy_probe(size, repeats):
    """This process's numpy fp32 matmul: GFLOP/s figure plus its BLAS."""
    return {**common.numpy_matmul_rate(size, repeats=repeats), "blas": blas_info()}


def unpinned_env(environ):
    """A copy of ``environ`` without ``PINS`` (for the numpy probe's child)."""
    return {k: v for k, v in environ.items() if k not in PINS}


def numpy_unpinned(size=common.CEILING_SIZE, repeats=3):
    """``numpy_probe`` in a child whose environment lacks ``PINS``."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.benchmarks.ceiling",
            "--numpy-probe",
            str(size),
            str(repeats),
        ],
        env=unpinned_env(os.environ),
        capture_output=True,
        text=True,
        check=True,
        cwd=common.ROOT,
    )
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "unset": list(PINS)}


def measure(repeats=3, size=common.CEILING_SIZE, bf16=True):
    """The ceiling record (see the module docstring); ``fp32`` is the one that
    every fraction divides by, ``fp32_source`` says which matmul gave it."""
    features = cpu_features()
    tf_fp32 = common.tf_matmul_rate(size, repeats=repeats)
    unpinned = numpy_unpinned(size, repeats)
    pinned = {
        **numpy_probe(size, repeats),
        "env": {k: os.environ.get(k, "(unset)") for k in PINS},
    }
    source = max(
        (("tf", tf_fp32), ("numpy_unpinned", unpinned)), key=lambda item: best(item[1])
    )[0]
    record = {
        "size": size,
        "fp32": round(best(tf_fp32 if source == "tf" else unpinned), 2),
        "fp32_source": source,
        "tf": tf_fp32,
        "numpy_unpinned": unpinned,
        "numpy_pinned": pinned,
        "cpu_features": features,
        "bf16": None,
    }
    if bf16 and has_bf16(features):
        record["bf16"] = common.tf_matmul_rate(size, repeats=repeats, dtype="bfloat16")
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--numpy-probe",
        nargs=2,
        type=int,
        metavar=("SIZE", "REPEATS"),
        help="print this process's numpy matmul figure as JSON",
    )
    args = parser.parse_args(argv)
    if args.numpy_probe:
        print(json.dumps(numpy_probe(*args.numpy_probe)))
        return 0
    common.setup_env()
    record = measure(repeats=3 if args.quick else 5)
    print("\n".join(summary.ceiling_lines(record)))
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
