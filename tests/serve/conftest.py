"""One loaded engine and a live server on 127.0.0.1 over the shared ``tiny_run``.

The serve tests check plumbing, not caption quality.
"""

import threading

import pytest

# No 429s in API tests. Sampling gives non-empty captions even from a barely
# trained model, where beams may all end at once.
FAST_API = dict(rate_per_minute=60_000, rate_burst=1_000, decoder="sample")


@pytest.fixture(scope="session")
def engine(tiny_run):
    """The run loaded once, shared by every server the tests start."""
    from dank.apps.serve.config import ServeConfig
    from dank.apps.serve.engine import Engine

    engine = Engine(tiny_run, ServeConfig(**FAST_API))
    yield engine
    engine.close()


def start_server(engine, config=None):
    """Starts a server for ``engine`` on a free loopback port in a thread."""
    from dank.apps.serve.app import make_server

    server = make_server(engine, "127.0.0.1", 0, config)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture(scope="session")
def server(engine):
    server = start_server(engine)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def client(server):
    from dank.apps.serve.client import Client

    client = Client(server.url)
    yield client
    client.close()
