"""A bounded load test: concurrent clients, a fixed number of generate requests.

Used by ``experiments/benchmarks/bench_serve.py`` and the fast test in
``tests/serve/test_load.py``. Each request uploads a picture, and its first
meme PNG is fetched, as the page does.
"""

import http.client
import os
import threading
import time
from pathlib import Path

import numpy as np

from dank.apps.serve.client import Client


def process_usage(pid="self"):
    """``(resident MiB, open file descriptors)`` of a process (Linux /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = next(
        int(line.split()[1])
        for line in status.splitlines()
        if line.startswith("VmRSS:")
    )
    return round(rss_kib / 1024, 1), len(os.listdir(f"/proc/{pid}/fd"))


def run_load(url, n_requests, clients, pictures, n=1, seed=0, decoder=None):
    """Sends ``n_requests`` generate requests from ``clients`` threads.

    Args:
        url: the server, ``http://127.0.0.1:PORT``.
        n_requests: requests in all, shared out between the clients.
        clients: concurrent clients, each with its own keep-alive connection.
        pictures: JPEG bytes to upload, in turn.
        n: memes per request.
        seed: decoding seed of every request (one seed lets the server batch).
        decoder: decoder name, or None for the server's default.

    Returns:
        A dict: requests, errors (status -> count), p50/p95/max latency in ms,
        requests per second.
    """
    latencies, errors = [], {}
    lock = threading.Lock()
    counter = iter(range(n_requests))

    def client_loop():
        client = Client(url)
        try:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                start = time.perf_counter()
                try:
                    answer = client.generate(
                        pictures[i % len(pictures)], n=n, seed=seed, decoder=decoder
                    )
                    status = answer.status
                    if status == 200:
                        png = client.get(answer.json()["memes"][0]["url"])
                        status = png.status if png.status != 200 else status
                except (OSError, http.client.HTTPException) as e:
                    status = type(e).__name__
                took = time.perf_counter() - start
                with lock:
                    latencies.append(took)
                    if status != 200:
                        errors[str(status)] = errors.get(str(status), 0) + 1
        finally:
            client.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "clients": clients,
        "errors": errors,
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "max_ms": round(float(ms.max()), 1),
        "requests_per_s": round(len(latencies) / wall, 2),
    }
