"""A small bounded load test: no errors, no leaked descriptors, bounded disk."""

import pytest
from serve_helpers import picture

from conftest import start_server
from dank.apps.serve.loadtest import process_usage, run_load

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


def test_small_soak_gives_no_server_errors(engine):
    """``tools/soak_serve.py``'s request mix, in small, against the shared engine
    (the full soak, with its memory check, is a slow test in tests/faults)."""
    import time

    from tools.soak_serve import Soak, make_pictures

    server = start_server(engine)
    try:
        soak = Soak(server.url, make_pictures(5), [t.id for t in engine.catalogue])
        sent = soak.run(0, 60, 5, deadline=time.monotonic() + 3600)
    finally:
        server.shutdown()
        server.server_close()
    assert sent == 60 and soak.errors == {}
    assert not [s for s in soak.statuses if s.startswith("5")], soak.statuses
    assert soak.statuses["200"] >= 60 // 2  # Most generations give a meme.
    assert {"204", "404"} <= set(soak.statuses)  # The odd requests were sent.


def test_template_caches_are_bounded(engine, monkeypatch):
    from dank.apps.serve import engine as engine_module

    monkeypatch.setattr(engine_module, "MAX_PICTURES", 2)
    monkeypatch.setattr(engine_module, "MAX_THUMBS", 3)
    engine._pictures.clear()  # Filled by earlier tests under the real bounds.
    engine._thumbs.clear()
    templates = list(engine.catalogue)
    for template in templates:
        engine.template_thumbnail(template.id)
    assert len(engine._pictures) == 2 and len(engine._thumbs) == 3
    last = templates[-1]
    assert list(engine._pictures)[-1] == last.id  # The most recent stays.
    assert engine.template_picture(last) is engine.template_picture(last)
    engine_module.release_free_memory()  # glibc's malloc_trim, or nothing.
