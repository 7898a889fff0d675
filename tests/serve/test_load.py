"""A small bounded load test: no errors, no leaked descriptors, bounded disk."""

import pytest
from conftest import start_server
from serve_helpers import picture

from dank.serve.loadtest import process_usage, run_load

REQUESTS, CLIENTS = 24, 4


@pytest.mark.parametrize("max_batch", [1, 4])
def test_concurrent_clients_without_errors_or_leaks(engine, max_batch):
    server = start_server(engine)
    config = engine.config
    engine.config = config.replace(max_batch=max_batch)  # The worker reads it.
    pictures = [picture(seed=i) for i in range(4)]
    try:
        run_load(server.url, 8, CLIENTS, pictures)  # Warm: threads, caches.
        _, fds_before = process_usage()
        stats = run_load(server.url, REQUESTS, CLIENTS, pictures, n=2, seed=1)
        _, fds_after = process_usage()
    finally:
        engine.config = config
        server.shutdown()
        server.server_close()
    assert stats["errors"] == {} and stats["requests"] == REQUESTS
    assert 0 < stats["p50_ms"] <= stats["p95_ms"] <= stats["max_ms"]
    assert fds_after <= fds_before + 2  # Connections are closed, files too.
    renders = list(engine.store.root.iterdir())
    assert len(renders) == len(engine.store) <= engine.config.max_renders
    assert 1 <= max(engine.batches[-REQUESTS:]) <= max_batch
