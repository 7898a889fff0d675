"""``dank serve`` under hostile requests: bounded cost, clean answers, fair limits.

Most of these refuse a request before it reaches the model, so they run a
real server (on 127.0.0.1) over a stand-in engine and load no model; the soak
at the end serves the shared ``tiny_run``.
"""

import json
import socket
import threading
from types import SimpleNamespace

import pytest

from dank.apps.serve.app import make_server
from dank.apps.serve.checks import ApiError, client_key, parse_form
from dank.apps.serve.client import Client, multipart
from dank.apps.serve.config import ServeConfig


@pytest.fixture()
def serve():
    """Starts servers over a model-less engine; ``serve(**config)`` -> server."""
    servers = []

    def start(**changes):
        config = ServeConfig(**changes)
        server = make_server(SimpleNamespace(config=config), "127.0.0.1", 0, config)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def exchange(server, head, body=b""):
    """Sends ``head`` and all of ``body`` on one socket, then reads to EOF.

    Returns ``(status, headers, json_body)``. Sending the body before reading
    is what most clients do, and fails with a broken pipe if the server closes
    on unread bytes.
    """
    with socket.create_connection(server.server_address, timeout=30) as sock:
        sock.sendall(head + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, json.loads(body) if body else None


def post_head(length, ctype="multipart/form-data; boundary=b", extra=""):
    return (
        f"POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


def part_bomb(parts):
    """A form of ``parts`` empty fields: 51 bytes each, 146k fit in 7.6 MB."""
    return (
        b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n\r\n' * parts
        + b"--b--\r\n"
    )


def test_a_form_of_146k_parts_is_refused_before_parsing(serve):
    body = part_bomb(146_000)
    assert len(body) < ServeConfig().max_upload_bytes
    head = post_head(len(body), extra="Connection: close\r\n")  # Body was read.
    status, _, answer = exchange(serve(), head, body)
    assert status == 413 and answer["error"]["code"] == "too_many_parts"
    assert "146,000 parts" in answer["error"]["message"]


@pytest.mark.parametrize(
    "body,code",
    [
        (
            b'--b\r\nContent-Disposition: form-data; name="x"\r\n'
            + b"X-Pad: aaaaaaaaaaaaaaaaaaaaaa\r\n" * 1000
            + b"\r\nv\r\n--b--\r\n",
            "bad_form",
        ),
        (b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nv\r\n', "bad_form"),
        (part_bomb(17), "too_many_parts"),
    ],
)
def test_parse_form_bounds_headers_and_parts(body, code):
    with pytest.raises(ApiError) as caught:
        parse_form("multipart/form-data; boundary=b", body)
    assert caught.value.code == code and caught.value.status in (400, 413)


def test_parse_form_keeps_what_a_browser_sends():
    ctype, body = multipart(
        {"n": "2", "seed": "7"}, [("image", "çà va.png", "image/png", b"\r\n--b\r\n")]
    )
    assert parse_form(ctype, body) == (
        {"n": "2", "seed": "7"},
        {"image": ("çà va.png", "image/png", b"\r\n--b\r\n")},
    )
    no_headers = (
        b"--b\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=n"
        b"\r\n\r\n3\r\n--b--\r\n"
    )
    assert parse_form("multipart/form-data; boundary=b", no_headers) == ({"n": "3"}, {})


def test_openapi_documents_the_413_answers_and_the_formats(serve):
    from dank.core.images import FORMATS

    server = serve(max_form_parts=9)
    post = Client(server.url).get("/openapi.json").json()["paths"]["/api/generate"]
    too_large = post["post"]["responses"]["413"]["description"]
    assert "too_many_parts" in too_large and "over 9 parts" in too_large
    assert "upload_too_large" in too_large and "too_many_pixels" in too_large
    image = post["post"]["requestBody"]["content"]["multipart/form-data"]
    described = image["schema"]["properties"]["image"]["description"]
    assert all(fmt in described for fmt in (*FORMATS, "TIFF", "MPO"))
    assert "EPS" not in described


def test_too_large_names_the_size_and_the_limit(serve):
    server = serve(max_upload_bytes=1000)
    status, headers, answer = exchange(server, post_head(2500), bytes(2500))
    message = answer["error"]["message"]
    assert status == 413 and "2,500 bytes" in message and "1,000 bytes" in message
    assert headers["Connection"] == "close"


def test_a_rate_limited_20mb_upload_gets_a_clean_429(serve):
    server = serve(rate_burst=1, rate_per_minute=0.5)
    spend = Client(server.url).request(
        "POST", "/api/generate", b"{}", {"Content-Type": "application/json"}
    )
    assert spend.status == 400  # The bucket's only token, spent.
    body = bytes(20_000_000)  # Over the 8 MiB limit too: the 429 comes first.
    status, headers, answer = exchange(server, post_head(len(body)), body)
    assert status == 429 and answer["error"]["code"] == "rate_limited"
    assert int(headers["Retry-After"]) >= 1 and headers["Connection"] == "close"
    # A body past the drain bound is not read: the answer still arrives whole.
    status, _, _ = exchange(server, post_head(10**11))
    assert status == 429


def test_options_lists_the_allowed_methods(serve):
    client = Client(serve().url)
    answer = client.request("OPTIONS", "/api/generate")
    assert answer.status == 204 and answer.body == b""
    assert answer.headers["Allow"] == "OPTIONS, POST"
    assert "Access-Control-Allow-Origin" not in answer.headers  # Same origin.
    assert client.request("OPTIONS", "*").headers["Allow"] == "GET, OPTIONS, POST"
    assert client.request("OPTIONS", "/healthz").headers["Allow"] == "GET, OPTIONS"
    missing = client.request("OPTIONS", "/nope")
    assert missing.status == 404 and missing.json()["error"]["code"] == "not_found"


def test_client_key_trusts_forwarded_for_only_from_trusted_proxies():
    import ipaddress

    proxies = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"))
    assert client_key("127.0.0.1") == client_key("127.0.0.1", "1.2.3.4")
    assert client_key("127.0.0.1", "1.2.3.4") == "127.0.0.1"  # Not configured.
    assert client_key("192.0.2.9", "1.2.3.4", proxies) == "192.0.2.9"  # Untrusted.
    assert client_key("127.0.0.1", "1.2.3.4", proxies) == "1.2.3.4"
    # A client's own X-Forwarded-For is on the left: the rightmost untrusted wins.
    assert client_key("127.0.0.1", "6.6.6.6, 1.2.3.4, 10.1.1.1", proxies) == "1.2.3.4"
    assert client_key("127.0.0.1", "junk, 10.1.1.1", proxies) == "10.1.1.1"
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_key("2001:db8::1") == client_key("2001:db8::2") == "2001:db8::/64"


def test_rate_limit_buckets_follow_the_forwarded_client(serve):
    server = serve(rate_burst=1, rate_per_minute=0.5, trusted_proxies=("127.0.0.1",))
    client = Client(server.url)

    def status(forwarded):
        return client.request(
            "POST",
            "/api/generate",
            b"{}",
            {"Content-Type": "application/json", "X-Forwarded-For": forwarded},
        ).status

    assert [status("198.51.100.1"), status("198.51.100.1"), status("198.51.100.2")] == [
        400,
        429,
        400,
    ]


def test_trust_proxy_flag():
    from dank.apps.cli import build_parser
    from dank.apps.cli.serve import config_from_args
    from dank.core.errors import DankError

    parse = build_parser().parse_args
    config = config_from_args(
        parse(["serve", "--trust-proxy", "127.0.0.1", "--trust-proxy", "10.0.0.0/8"])
    )
    assert config.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert config_from_args(parse(["serve"])).trusted_proxies == ()
    with pytest.raises(DankError, match="--trust-proxy 'proxy.example'"):
        config_from_args(parse(["serve", "--trust-proxy", "proxy.example"]))


@pytest.mark.slow
def test_soak_50_clients_2000_requests_no_5xx_flat_memory(tiny_run, capsys):
    from tools import soak_serve

    code = soak_serve.main(["--run", str(tiny_run)])
    result = json.loads(capsys.readouterr().out)
    assert result["5xx"] == 0 and result["transport_errors"] == {}
    assert result["requests"] == 2000 and result["clients"] == 50
    assert result["rss_ratio"] <= 1.05
    assert code == 0
