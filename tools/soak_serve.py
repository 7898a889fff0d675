"""Server soak: ``dank serve`` on loopback under many clients for a fixed count.

Starts ``dank serve`` on 127.0.0.1 (a free port; never another interface) for a
run, warms it up, notes its resident memory, then sends ``--requests``
generate requests from ``--clients`` concurrent clients, each with its own
keep-alive connection and its own X-Forwarded-For address (the server trusts
the header from 127.0.0.1 only, so each client gets its own rate-limit
bucket). The generate requests mix uploads of varied size and format and
templates, ``n`` 1-3, every decoder; each fetches its first PNG, and every
tenth is followed by an odd request (a bad upload, OPTIONS, a traversal
path). The soak stops by itself after the count or ``--max-seconds``.

Prints one JSON object: requests sent, statuses, 5xx count, transport errors,
and the server's RSS after warm-up and at the end. Exits 1 when a 5xx or a
transport error occurred, a request was not sent, or the end RSS is over
``--max-rss-ratio`` times the warm-up RSS. Times are printed, never checked.

Usage: python -m tools.soak_serve [--run RUN] [--requests 2000] [--clients 50]
       [--warmup 200]

Without ``--run`` a tiny run (the test suite's ``tiny`` presets on synthetic
data) is trained into a temporary folder first, which takes about a minute.
"""

import argparse
import io
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image, ImageDraw

from dank.apps.serve.client import Client, multipart
from dank.apps.serve.loadtest import process_usage
from dank.decoding.config import DECODERS
from tools.tiny_run import train_tiny_run

FORMATS = (
    ("JPEG", "image/jpeg"),
    ("PNG", "image/png"),
    ("WEBP", "image/webp"),
    ("GIF", "image/gif"),
    ("BMP", "image/bmp"),
)
ODD_REQUESTS = (  # (method, path, body, content type): answered 4xx, never 5xx.
    ("POST", "/api/generate", b"not a form", "text/plain"),
    ("OPTIONS", "/api/generate", None, None),
    ("GET", "/api/templates/..%2F..%2Fetc%2Fpasswd/image", None, None),
    ("GET", "/api/memes/nope.png", None, None),
)


def make_pictures(count, seed=0):
    """``count`` encoded pictures of varied size and format: ``(bytes, mime)``."""
    rng = random.Random(seed)
    pictures = []
    for i in range(count):
        width, height = rng.randint(48, 1600), rng.randint(48, 1600)
        image = Image.new(
            "RGB", (width, height), tuple(rng.randrange(256) for _ in range(3))
        )
        ImageDraw.Draw(image).ellipse(
            (width // 5, height // 5, width * 4 // 5, height * 4 // 5),
            fill=tuple(rng.randrange(256) for _ in range(3)),
        )
        fmt, mime = FORMATS[i % len(FORMATS)]
        buffer = io.BytesIO()
        image.save(buffer, format=fmt)
        pictures.append((buffer.getvalue(), mime))
    return pictures


def start_server(run):
    """``dank serve`` on a free loopback port: ``(process, url)``."""
    command = [
        sys.executable,
        "-m",
        "dank",
        "serve",
        "--run",
        str(run),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--timeout",
        "600",
        "--rate-limit",
        "100000",
        "--trust-proxy",
        "127.0.0.1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # "dank serve: listening on URL/"
    if "listening on" not in line:
        process.kill()
        process.wait()
        raise SystemExit(f"dank serve did not start (exit {process.returncode})")
    # Keep reading its stdout so a full pipe can never block the server.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, line.split("listening on", 1)[1].strip().rstrip("/")


class Soak:
    """Shares out numbered requests between client threads and counts answers."""

    def __init__(self, url, pictures, templates):
        self.url, self.pictures, self.templates = url, pictures, templates
        self.statuses, self.errors = {}, {}
        self.lock = threading.Lock()

    def _count(self, table, key):
        with self.lock:
            table[str(key)] = table.get(str(key), 0) + 1

    def _one(self, client, i, headers):
        n, decoder = 1 + i % 3, DECODERS[i % len(DECODERS)]
        n = 1 if decoder == "greedy" else n
        if i % 5 == 4:
            body = json.dumps(
                {
                    "template": self.templates[i % len(self.templates)],
                    "n": n,
                    "seed": i,
                    "decoder": decoder,
                }
            ).encode()
            answer = client.request(
                "POST",
                "/api/generate",
                body,
                {**headers, "Content-Type": "application/json"},
            )
        else:
            data, mime = self.pictures[i % len(self.pictures)]
            ctype, body = multipart(
                {"n": n, "seed": i, "decoder": decoder},
                [("image", f"p{i}", mime, data)],
            )
            answer = client.request(
                "POST", "/api/generate", body, {**headers, "Content-Type": ctype}
            )
        self._count(self.statuses, answer.status)
        if answer.status == 200:
            png = client.request(
                "GET", answer.json()["memes"][0]["url"], headers=headers
            )
            self._count(self.statuses, png.status)
        if i % 10 == 9:
            method, path, body, ctype = ODD_REQUESTS[i // 10 % len(ODD_REQUESTS)]
            odd = client.request(
                method,
                path,
                body,
                {**headers, **({"Content-Type": ctype} if ctype else {})},
            )
            self._count(self.statuses, odd.status)

    def run(self, first, count, clients, deadline):
        """Sends requests ``first .. first+count-1``; returns how many were sent."""
        numbers = iter(range(first, first + count))
        sent = [0]

        def loop(k):
            client = Client(self.url, timeout=600)
            headers = {"X-Forwarded-For": f"10.0.{k // 250}.{k % 250 + 1}"}
            try:
                while time.monotonic() < deadline:
                    with self.lock:
                        i = next(numbers, None)
                        sent[0] += i is not None
                    if i is None:
                        return
                    try:
                        self._one(client, i, headers)
                    except OSError as e:
                        self._count(self.errors, type(e).__name__)
                        client.close()
            finally:
                client.close()

        threads = [threading.Thread(target=loop, args=(k,)) for k in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sent[0]


def soak(run, requests=2000, clients=50, warmup=200, max_seconds=3600.0, pictures=32):
    """Runs the soak against a fresh ``dank serve`` of ``run``; returns figures."""
    process, url = start_server(run)
    try:
        templates = [
            t["id"]
            for t in Client(url).get("/api/templates?limit=1000").json()["templates"]
        ]
        load = Soak(url, make_pictures(pictures), templates)
        start = time.monotonic()
        deadline = start + max_seconds
        warm_sent = load.run(0, warmup, clients, deadline)
        rss_warm, fds_warm = process_usage(process.pid)
        soak_start = time.monotonic()
        sent = load.run(warmup, requests, clients, deadline)
        rss_end, fds_end = process_usage(process.pid)
        wall = time.monotonic() - soak_start
    finally:
        process.terminate()
        process.wait(timeout=60)
    five = sum(v for k, v in load.statuses.items() if k.startswith("5"))
    return {
        "requests": sent,
        "requests_wanted": requests,
        "warmup": warm_sent,
        "clients": clients,
        "statuses": dict(sorted(load.statuses.items())),
        "5xx": five,
        "transport_errors": load.errors,
        "rss_warm_mib": rss_warm,
        "rss_end_mib": rss_end,
        "rss_ratio": round(rss_end / rss_warm, 4),
        "fds_warm": fds_warm,
        "fds_end": fds_end,
        "wall_s": round(wall, 1),
        "generations_per_s": round(sent / wall, 2) if wall else None,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--run",
        default=None,
        help="trained run (default: train a tiny one in a temp dir)",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=2000,
        help="generate requests after warm-up (default %(default)s)",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=50,
        help="concurrent clients (default %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=200,
        help="generate requests before the first RSS reading (default %(default)s)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=3600.0,
        help="stop sending after this long (default %(default)s)",
    )
    parser.add_argument(
        "--max-rss-ratio",
        type=float,
        default=1.05,
        help="largest end/warm-up RSS ratio (default %(default)s)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dank-soak-") as tmp:
        run = args.run or train_tiny_run(Path(tmp))
        result = soak(run, args.requests, args.clients, args.warmup, args.max_seconds)
    result["ok"] = (
        result["5xx"] == 0
        and not result["transport_errors"]
        and result["requests"] == args.requests
        and result["rss_ratio"] <= args.max_rss_ratio
    )
    print(json.dumps(result, indent=1), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
