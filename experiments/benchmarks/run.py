"""The benchmark suite (``make bench``): every script, one ceiling, one results file.

    python -m experiments.benchmarks.run [--quick] [--only NAME ...]
        [--run runs/default] [--data data/build/starter] [--list]

Measures the fp32 matmul ceiling (``ceiling.py``: the best of TensorFlow's
and numpy's 4096x4096 fp32 matmul, numpy with OpenBLAS unpinned in its own
subprocess, plus the CPU's features and a bf16 ceiling where it has one) at
the start, then runs each ``bench_*.py`` in its own subprocess with the ceiling
measured again just before it (``ceiling_before`` in its result): on a shared
machine the load moves during a 15-minute run, and a fraction taken against a
ceiling from minutes earlier would say more about the neighbours than about
the code. Each script starts with a fresh TensorFlow, and the child's peak
memory is its own (``os.wait4``). Writes ``results/<date>-<machine>[-quick].json`` (with
``-only-NAMES`` added for an ``--only`` run) and a
Markdown summary beside it, then compares every ratio with the last committed
results file (same mode and machine preferred) and prints the ratios that fell
more than 20%. The exit status is 0 even then: a noisy machine should not
fail a build, but the list is printed where it cannot be missed.

``--quick`` (~2 min) runs the cheaper cases of the cheaper benchmarks; the full
suite (~15 min) adds XLA, the paper-size caption training, vision and cascade
(224 px, random weights), batch 1 decoding, the ONNX export comparison and the
server load test.
"""

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from experiments.benchmarks import ceiling as ceilings
from experiments.benchmarks import common, summary

common.setup_env()

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


@dataclass(frozen=True)
class Bench:
    """One entry of the suite."""

    name: str  # Key in the results file.
    script: str  # File in experiments/benchmarks/, run as a module.
    args: tuple = ()  # Extra arguments in both modes.
    full_args: tuple = ()  # Extra arguments in full mode only.
    quick: bool = True  # Part of --quick.
    needs_run: bool = False  # Takes --run (skips itself when the run is absent).
    needs_data: bool = False  # Takes --data when the build exists.
    timeout_s: dict = field(default_factory=lambda: {"quick": 300, "full": 900})


SUITE = (
    # The cpu preset trains with logits_dtype "auto", so its bench does too.
    Bench("lstm", "bench_lstm.py", ("--preset", "cpu", "--logits-dtype", "auto")),
    # Issue 23's size: the paper's model at batch 64 x 20 tokens.
    Bench(
        "lstm_paper",
        "bench_lstm.py",
        ("--preset", "paper", "--batch", "64", "--length", "20"),
        quick=False,
    ),
    Bench(
        "lstm_paper_bf16",
        "bench_lstm.py",
        ("--preset", "paper", "--batch", "64", "--length", "20")
        + ("--logits-dtype", "bfloat16"),
        quick=False,
    ),
    Bench("decoding", "bench_decoding.py", ("--method", "beam")),
    Bench(
        "decoding_bf16",
        "bench_decoding.py",
        ("--method", "beam", "--logits-dtype", "bfloat16"),
    ),
    # The paper's diverse beam (beam 5, its 100 top words): issue 23's target.
    Bench("decoding_diverse", "bench_decoding.py", ("--method", "diverse")),
    Bench(
        "decoding_diverse_bf16",
        "bench_decoding.py",
        ("--method", "diverse", "--logits-dtype", "bfloat16"),
    ),
    # The cpu preset's adaptive softmax against the full one (issue 23).
    Bench("softmax", "bench_softmax.py", ("--preset", "cpu")),
    Bench("vision", "bench_vision.py", ("--preset", "cpu"), needs_data=True),
    Bench(
        "vision_paper",
        "bench_vision.py",
        ("--preset", "paper", "--no-xla", "--steps", "3"),
        quick=False,
    ),
    Bench("cascade", "bench_cascade.py", ("--preset", "cpu"), needs_run=True),
    Bench(
        "cascade_paper",
        "bench_cascade.py",
        ("--preset", "paper", "--repeats", "10"),
        quick=False,
    ),
    Bench("export", "bench_export.py", needs_run=True, quick=False),
    Bench(
        "serve",
        "bench_serve.py",
        ("--clients", "4"),
        ("--requests", "48"),
        quick=False,
        needs_run=True,
    ),
    Bench("spiders", "bench_spiders.py"),
    Bench("xla", "bench_xla.py", ("--preset", "cpu")),
)


def run_script(command, timeout_s, log_path):
    """Runs ``command``; returns ``(exit code, timed out, peak RSS MiB, seconds)``.

    The child leads its own process group, so a timeout ends everything it
    started (a server, a crawler) and nothing else.
    """
    start = time.perf_counter()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=common.ROOT,
            start_new_session=True,
        )
    timed_out = threading.Event()

    def kill():
        timed_out.set()
        os.killpg(process.pid, signal.SIGKILL)

    timer = threading.Timer(timeout_s, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    return (
        process.returncode,
        timed_out.is_set(),
        round(usage.ru_maxrss / 1024, 1),
        round(time.perf_counter() - start, 1),
    )


def run_bench(bench, args, ceiling, tmp):
    """Runs one benchmark script; its result dict with status, time and memory."""
    out, log = Path(tmp) / f"{bench.name}.json", Path(tmp) / f"{bench.name}.log"
    command = [
        sys.executable,
        "-m",
        f"experiments.benchmarks.{bench.script.removesuffix('.py')}",
        "--json-out",
        str(out),
        "--ceiling-gflops",
        str(ceiling["fp32"]),
        *bench.args,
    ]
    if args.quick:
        command.append("--quick")
    else:
        command += list(bench.full_args)
    if bench.needs_run:
        command += ["--run", args.run]
    if bench.needs_data and Path(args.data).is_dir():
        command += ["--data", args.data]
    mode = "quick" if args.quick else "full"
    print(f"[bench] {bench.name}: {' '.join(command[1:2] + command[6:])}", flush=True)
    code, timed_out, peak, wall = run_script(command, bench.timeout_s[mode], log)
    result = json.loads(out.read_text()) if out.is_file() else {}
    status = "timeout" if timed_out else "ok" if code == 0 and result else "failed"
    result.update(status=status, exit_code=code, wall_s=wall, peak_rss_mib=peak)
    if status != "ok":
        result["error"] = log.read_text(errors="replace")[-2000:]
    note = result.get("skipped") or ", ".join(
        f"{k}={v}" for k, v in list(result.get("ratios", {}).items())[:4]
    )
    print(
        f"[bench] {bench.name}: {status} in {wall} s, peak {peak} MiB; {note}",
        flush=True,
    )
    return result


def measure_ceiling(quick, bf16=False):
    """The ceiling record (``ceiling.measure``) now; ``fp32`` divides fractions."""
    return ceilings.measure(repeats=3 if quick else 5, bf16=bf16)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.strip().splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument("--quick", action="store_true", help="the ~2 minute subset")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run only these benchmarks (see --list)",
    )
    parser.add_argument("--run", default="runs/default", help="a trained run")
    parser.add_argument("--data", default="data/build/starter", help="a data build")
    parser.add_argument("--out-dir", default=str(RESULTS), help="results folder")
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    parser.add_argument(
        "--note",
        default="",
        help="recorded in the results, e.g. 'shared machine, busy'",
    )
    args = parser.parse_args(argv)
    if args.list:
        for b in SUITE:
            print(f"{b.name:12} {b.script:20} {'quick+full' if b.quick else 'full'}")
        return 0
    names = {b.name for b in SUITE}
    unknown = sorted(set(args.only or ()) - names)
    if unknown:
        parser.error(f"unknown benchmark {unknown}; choose from {sorted(names)}")
    selected = [
        b
        for b in SUITE
        if (b.name in args.only if args.only else (b.quick or not args.quick))
    ]

    start = time.perf_counter()
    machine = common.machine_info()
    slug = common.machine_slug(machine)
    date = datetime.datetime.now(datetime.UTC)
    print(f"[bench] {slug}: measuring the fp32 matmul ceiling", flush=True)
    ceiling = measure_ceiling(args.quick, bf16=True)
    for line in summary.ceiling_lines(ceiling):
        if line:
            print(f"[bench] {line}", flush=True)
    results = {
        "date": date.strftime("%Y-%m-%d"),
        "time_utc": date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine_slug": slug,
        "machine": machine,
        "quick": args.quick,
        "only": args.only,
        "run": args.run,
        "note": args.note,
        "ceiling": ceiling,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "benchmarks": {},
    }
    with tempfile.TemporaryDirectory(prefix="dank-bench.") as tmp:
        for bench in selected:
            before = measure_ceiling(quick=True)
            result = run_bench(bench, args, before, tmp)
            result["ceiling_before"] = {
                "fp32": before["fp32"],
                "source": before["fp32_source"],
                **{
                    k: round(ceilings.best(before[k]), 2)
                    for k in ("tf", "numpy_unpinned", "numpy_pinned")
                },
            }
            results["benchmarks"][bench.name] = result
    # A second ceiling at the end shows whether the machine's load changed
    # during the run (another process on the shared cores), which would make
    # the fractions of the start ceiling unreliable.
    results["ceiling_end"] = measure_ceiling(quick=True)
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    drift = results["ceiling_end"]["fp32"] / ceiling["fp32"]
    results["ceiling_drift"] = round(drift - 1, 3)
    results["wall_s"] = round(time.perf_counter() - start, 1)
    ratios = summary.flat_ratios(results)
    results["targets"] = summary.targets(ratios)
    base = summary.pick_baseline(
        summary.committed_results(args.out_dir, common.ROOT), args.quick, slug
    )
    results["baseline"] = base[0] if base else None
    results["regressions"] = (
        summary.compare(ratios, summary.baseline_ratios(base[1])) if base else []
    )

    stem = f"{results['date']}-{slug}{'-quick' if args.quick else ''}"
    if args.only:  # A partial run never replaces the suite's file of the day.
        stem += "-only-" + "-".join(sorted(args.only))
    out = Path(args.out_dir) / f"{stem}.json"
    from dank.core.io import write_json, write_text

    write_json(out, results)
    write_text(out.with_suffix(".md"), summary.markdown(results))
    report(results, out)
    return 0


def report(results, out):
    """Prints the targets and, where nobody can miss them, the regressions."""
    print(
        f"\n[bench] wrote {out} and {out.with_suffix('.md').name} "
        f"({results['wall_s']} s)"
    )
    for row in results["targets"]:
        value = "-" if row["value"] is None else f"{row['value']:.3f}"
        met = {None: "not measured", True: "met", False: "NOT met"}[row["met"]]
        print(f"[bench] target {row['target']}: {value} (goal {row['goal']}) {met}")
    if abs(results["ceiling_drift"]) > summary.THRESHOLD:
        print(
            f"[bench] WARNING: the ceiling moved {results['ceiling_drift']:+.0%} "
            "between the start and the end of the run: the machine was busy, "
            "so fractions of the ceiling are unreliable; rerun on an idle machine"
        )
    failed = [n for n, b in results["benchmarks"].items() if b["status"] != "ok"]
    if failed:
        print(f"[bench] FAILED: {', '.join(failed)} (see the results file)")
    if not results["baseline"]:
        print("[bench] regression guard: no committed results to compare against")
    elif results["regressions"]:
        bar = "!" * 72
        print(
            f"\n{bar}\n[bench] REGRESSIONS: ratios that fell more than "
            f"{summary.THRESHOLD:.0%} against {results['baseline']}:"
        )
        for r in results["regressions"]:
            print(
                f"[bench]   {r['ratio']}: {r['old']:.4g} -> {r['new']:.4g} "
                f"({r['change']:+.0%})"
            )
        print(bar)
    else:
        print(
            f"[bench] regression guard: no ratio fell more than "
            f"{summary.THRESHOLD:.0%} against {results['baseline']}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
