"""``dank serve`` under a bounded loopback load.

Starts ``dank serve`` on 127.0.0.1 (a free port) as a subprocess for a trained
run, warms it up, then runs a fixed number of generate requests (each uploads
a picture and fetches its first PNG):

- ``serial``: one client, as a baseline;
- ``concurrent``: ``--clients`` clients at once, twice, so growth between the
  two rounds (resident memory, open descriptors) shows a leak rather than warm-up.

All of it twice: with batching (``--max-batch 8``) and without (1). Prints
one JSON object: p50/p95 latency and throughput per phase, the throughput
ratios concurrent/serial and batched/unbatched measured in this run, the
server's mean batch size, and the server's RSS and descriptors after each
round. Exits 1 on any error or on growth past the limits.

The suite (``run.py``) runs it in full mode only, with a smaller load.

Usage: python -m experiments.benchmarks.bench_serve [--quick] --run runs/default
       [--requests 200] [--clients 8] [--decoder sample]
"""

import subprocess
import sys
import threading
import time

from experiments.benchmarks import common

common.setup_env()

from dank.apps.serve.client import Client  # noqa: E402
from dank.apps.serve.loadtest import process_usage, run_load  # noqa: E402

MAX_RSS_GROWTH_MIB = 64  # Between the two concurrent rounds.
MAX_FD_GROWTH = 4


def start_server(run, decoder, max_batch):
    command = [
        sys.executable,
        "-m",
        "dank",
        "serve",
        "--run",
        run,
        "--port",
        "0",
        "--rate-limit",
        "1000000",
        "--timeout",
        "300",
        "--max-batch",
        str(max_batch),
    ]
    if decoder:
        command += ["--decoder", decoder]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # "dank serve: listening on URL/"
    if "listening on" not in line:
        process.wait(timeout=30)
        raise SystemExit(f"dank serve did not start (exit {process.returncode})")
    # Keep reading the server's stdout so a full pipe can never block it.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, line.split("listening on", 1)[1].strip().rstrip("/")


def main(argv=None):
    parser = common.make_parser(__doc__, needs_run=True)
    parser.add_argument(
        "--requests",
        type=int,
        default=None,
        help="requests per concurrent round (default 200, quick 40)",
    )
    parser.add_argument(
        "--clients", type=int, default=8, help="concurrent clients (default 8)"
    )
    parser.add_argument(
        "--serial",
        type=int,
        default=None,
        help="requests of the one-client baseline (default requests/4)",
    )
    parser.add_argument("-n", type=int, default=1, help="memes per request")
    parser.add_argument("--decoder", default=None, help="server default if omitted")
    args = parser.parse_args(argv)
    reason = common.missing_run(args.run)
    if reason:
        return common.emit(common.skipped("serve", args, reason), args)
    args.requests = args.requests or (40 if args.quick else 200)
    batched = measure(args, max_batch=8)
    unbatched = measure(args, max_batch=1)
    ok = all([batched.pop("ok"), unbatched.pop("ok")])
    result = common.make_result(
        "serve",
        args,
        {
            "run": args.run,
            "n": args.n,
            "requests": args.requests,
            "clients": args.clients,
            "decoder": args.decoder,
        },
    )
    result.update(batched=batched, unbatched=unbatched, ok=ok)
    for name, phase in (("batched", batched), ("unbatched", unbatched)):
        result["figures"][f"{name}_concurrent_requests_per_s"] = common.stats(
            [r["requests_per_s"] for r in phase["concurrent"]], "requests/s"
        )
        result["ratios"][f"{name}_concurrent_vs_serial"] = phase[
            "throughput_ratio_concurrent_vs_serial"
        ]
    result["ratios"]["batched_vs_unbatched"] = round(
        batched["concurrent"][1]["requests_per_s"]
        / unbatched["concurrent"][1]["requests_per_s"],
        3,
    )
    common.emit(result, args)
    return 0 if ok else 1


def measure(args, max_batch):
    """Serial and concurrent rounds against one server; a dict of results."""
    process, url = start_server(args.run, args.decoder, max_batch)
    try:
        images = common.pictures()
        run_load(url, 2 * args.clients, args.clients, images, n=args.n)  # Warm-up.
        serial = run_load(
            url, args.serial or max(1, args.requests // 4), 1, images, n=args.n
        )
        rounds, usage = [], []
        for _ in range(2):
            rounds.append(run_load(url, args.requests, args.clients, images, n=args.n))
            time.sleep(0.5)  # Let finished connections close.
            usage.append(process_usage(process.pid))
        health = Client(url).get("/healthz").json()
    finally:
        process.terminate()
        process.wait(timeout=60)
    rss_growth = usage[1][0] - usage[0][0]
    fd_growth = usage[1][1] - usage[0][1]
    errors = sum(sum(r["errors"].values()) for r in (serial, *rounds))
    ok = errors == 0 and rss_growth <= MAX_RSS_GROWTH_MIB and fd_growth <= MAX_FD_GROWTH
    return {
        "max_batch": max_batch,
        "decoder": health.get("decoder"),
        "serial": serial,
        "concurrent": rounds,
        "throughput_ratio_concurrent_vs_serial": round(
            rounds[1]["requests_per_s"] / serial["requests_per_s"], 2
        ),
        "server_mean_batch": health.get("mean_batch"),
        "server_rss_mib": [u[0] for u in usage],
        "server_open_fds": [u[1] for u in usage],
        "server_renders_kept": health.get("renders"),
        "rss_growth_mib": round(rss_growth, 1),
        "fd_growth": fd_growth,
        "ok": ok,
    }


if __name__ == "__main__":
    sys.exit(main())
