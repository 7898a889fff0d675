"""The HTTP API against a real server on 127.0.0.1 with the tiny run."""

import json
import socket
from urllib.parse import quote

import pytest
from serve_helpers import picture

from conftest import start_server
from dank.apps.serve.app import Handler
from dank.apps.serve.client import Client, multipart

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def assert_error(response, status, code):
    assert response.status == status, response.body
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == code and body["error"]["message"]
    assert b"Traceback" not in response.body
    return body["error"]["message"]


def test_healthz_and_openapi_describe_every_route(client, engine):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["templates"] == len(engine.catalogue)
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        path for _, path, _, _ in Handler.ROUTES if not path.startswith("/static/")
    }


def test_template_search_by_name_and_alias(client, engine):
    first = engine.catalogue[0]
    everything = client.get("/api/templates").json()
    assert everything["total"] == len(engine.catalogue)
    found = client.get("/api/templates?q=" + quote(first.name.upper())).json()
    assert first.id in [t["id"] for t in found["templates"]]
    alias = next(a for a in first.aliases if a != first.id)
    by_alias = client.get("/api/templates?q=" + quote(alias)).json()
    assert by_alias["templates"][0]["id"] == first.id
    assert client.get("/api/templates?q=zzzqqq").json() == {"total": 0, "templates": []}
    assert_error(client.get("/api/templates?limit=0"), 400, "bad_field")


def test_template_image_and_unknown_ids(client, engine):
    template = engine.catalogue[1]
    answer = client.get(f"/api/templates/{template.id}/image")
    assert answer.status == 200 and answer.headers["Content-Type"] == "image/jpeg"
    assert answer.body.startswith(b"\xff\xd8\xff")
    assert_error(client.get("/api/templates/nope/image"), 404, "unknown_template")
    # Path tricks never reach the filesystem: ids are catalogue keys.
    traversal = client.get("/api/templates/..%2F..%2F..%2Fetc%2Fpasswd/image")
    assert_error(traversal, 404, "unknown_template")
    assert_error(client.get("/api/memes/..%2F..%2Fetc%2Fpasswd.png"), 404, "not_found")
    assert_error(client.get("/static/../../setup.cfg"), 404, "not_found")


def test_generate_from_upload_renders_pngs_and_is_seeded(client, engine):
    answer = client.generate(picture(), n=3, seed=11)
    assert answer.status == 200, answer.body
    result = answer.json()
    assert result["seed"] == 11 and len(result["memes"]) == 3
    assert result["template"]["id"] in engine.by_id
    for meme in result["memes"]:
        assert meme["top"] or meme["bottom"]
        png = client.get(meme["url"])
        assert png.status == 200 and png.body.startswith(b"\x89PNG\r\n\x1a\n")
    download = client.get(result["memes"][0]["url"] + "?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    again = client.generate(picture(), n=3, seed=11).json()
    assert [(m["top"], m["bottom"]) for m in again["memes"]] == [
        (m["top"], m["bottom"]) for m in result["memes"]
    ]
    assert {m["url"] for m in again["memes"]}.isdisjoint(
        m["url"] for m in result["memes"]
    )


def test_generate_from_template_json_and_forced_template(client, engine):
    template = engine.catalogue[2]
    body = json.dumps({"template": template.name, "n": 2, "seed": 3}).encode()
    answer = client.request(
        "POST", "/api/generate", body, {"Content-Type": "application/json"}
    )
    assert answer.status == 200, answer.body
    result = answer.json()
    assert result["template"]["id"] == template.id and result["known"] is True
    assert len(result["memes"]) == 2
    forced = client.generate(
        picture(fmt="PNG"),
        filename="x.png",
        content_type="image/png",
        template=template.id,
    ).json()
    assert forced["template"]["id"] == template.id and forced["image"] == "x.png"


@pytest.mark.parametrize(
    "fmt,filename,ctype",
    [
        ("TIFF", "scan.tiff", "image/tiff"),
        ("MPO", "phone.jpg", "image/jpeg"),  # How a phone's photo is labelled.
    ],
)
def test_generate_takes_every_format_dank_images_reads(
    client, engine, fmt, filename, ctype
):
    data = picture(fmt=fmt)
    answer = client.generate(data, filename=filename, content_type=ctype, seed=5)
    assert answer.status == 200, answer.body
    result = answer.json()
    assert result["image"] == filename and len(result["memes"]) == 1
    assert client.get(result["memes"][0]["url"]).body.startswith(b"\x89PNG")
    # The first frame, not the MPO's black second one, is what gets drawn on.
    drawn = engine.upload_picture(data, filename, ctype).image
    assert drawn.getpixel((0, 0))[2] > 120


def test_generate_refuses_eps_with_a_clear_415(client):
    eps = picture(fmt="EPS")
    answer = client.generate(
        eps, filename="logo.eps", content_type="application/octet-stream"
    )
    assert "EPS pictures are not accepted" in assert_error(
        answer, 415, "unsupported_format"
    )
    assert_error(
        client.generate(
            eps, filename="logo.eps", content_type="application/postscript"
        ),
        415,
        "unsupported_type",
    )


@pytest.mark.parametrize(
    "kwargs,status,code",
    [
        (dict(image=b"hello", content_type="image/jpeg"), 415, "not_an_image"),
        (dict(image=picture(), content_type="text/plain"), 415, "unsupported_type"),
        (
            dict(image=picture(fmt="PNG"), content_type="image/jpeg"),
            415,
            "type_mismatch",
        ),
        (dict(image=b"\xff\xd8\xff\xe0" + bytes(500)), 422, "bad_image"),
        (
            dict(image=picture(6000, 5000, fmt="PNG"), content_type="image/png"),
            413,
            "too_many_pixels",
        ),
        (dict(template="no such meme at all"), 404, "unknown_template"),
        (dict(image=picture(), n="0"), 400, "bad_field"),
        (dict(image=picture(), n="99"), 400, "bad_field"),
        (dict(image=picture(), seed="-1"), 400, "bad_field"),
        (dict(image=picture(), decoder="magic"), 400, "bad_field"),
        (dict(image=picture(), decoder="greedy", n="2"), 400, "bad_field"),
        (dict(n="1"), 400, "missing_input"),
    ],
)
def test_generate_refuses_bad_input_with_json(client, kwargs, status, code):
    assert_error(client.generate(**kwargs), status, code)


def test_upload_size_limit_and_content_types(client, engine):
    limit = engine.config.max_upload_bytes
    ctype, body = multipart(
        {}, [("image", "big.jpg", "image/jpeg", b"\xff\xd8\xff" + bytes(limit))]
    )
    message = assert_error(
        client.request("POST", "/api/generate", body, {"Content-Type": ctype}),
        413,
        "upload_too_large",
    )
    assert "MiB" in message
    answer = client.request(
        "POST",
        "/api/generate",
        b"n=1",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(answer, 415, "unsupported_type")
    assert_error(
        client.request(
            "POST", "/api/generate", b"[1]", {"Content-Type": "application/json"}
        ),
        400,
        "bad_json",
    )
    assert_error(client.get("/api/generate"), 405, "method_not_allowed")
    assert_error(client.get("/nope"), 404, "not_found")


def raw_exchange(server, data, wait=None):
    with socket.create_connection(server.server_address, timeout=10) as sock:
        sock.sendall(data)
        if wait:
            sock.settimeout(wait)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_protocol_errors_are_json_too(server):
    status, body = raw_exchange(server, b"GET / HTTP/x.y\r\n\r\n")
    assert status == 400 and body["error"]["code"] == "http_error"
    status, body = raw_exchange(server, b"BREW /pot HTTP/1.1\r\n\r\n")
    assert status == 501 and body["error"]["code"] == "http_error"
    # A huge declared upload is refused before a byte of it is read.
    status, body = raw_exchange(
        server,
        b"POST /api/generate HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 100000000000\r\n\r\n",
    )
    assert status == 413 and body["error"]["code"] == "upload_too_large"
    status, body = raw_exchange(
        server, b"POST /api/generate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status == 411 and body["error"]["code"] == "length_required"


def test_slow_upload_times_out(engine):
    server = start_server(engine, engine.config.replace(socket_timeout_s=0.5))
    try:
        status, body = raw_exchange(
            server,
            b"POST /api/generate HTTP/1.1\r\nHost: x"
            b"\r\nContent-Type: multipart/form-data; "
            b"boundary=b\r\nContent-Length: 1000\r\n\r\n--b",
            wait=5,
        )
        assert status == 408 and body["error"]["code"] == "request_timeout"
    finally:
        server.shutdown()
        server.server_close()


def test_rate_limit_and_request_timeout(engine):
    limited = start_server(
        engine, engine.config.replace(rate_burst=2, rate_per_minute=1)
    )
    slow = start_server(engine, engine.config.replace(request_timeout_s=0.001))
    try:
        client = Client(limited.url)
        for _ in range(2):
            assert client.generate(n="0").status == 400  # Counted, then refused.
        answer = client.generate(picture())
        assert_error(answer, 429, "rate_limited")
        assert int(answer.headers["Retry-After"]) >= 1
        assert Client(slow.url).get("/healthz").status == 200  # Not rate limited.
        assert_error(Client(slow.url).generate(picture(), seed=1), 504, "timeout")
    finally:
        for server in (limited, slow):
            server.shutdown()
            server.server_close()


def test_internal_errors_hide_details(engine, monkeypatch):
    server = start_server(engine)

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail /etc/shadow")

    monkeypatch.setattr(engine, "template_thumbnail", broken)
    try:
        path = f"/api/templates/{engine.catalogue[0].id}/image"
        answer = Client(server.url).get(path)
        message = assert_error(answer, 500, "internal")
        assert "secret" not in message and b"/etc" not in answer.body
    finally:
        server.shutdown()
        server.server_close()


def test_decoders_share_one_generator_and_its_models(engine):
    from dank.apps.serve.engine import decode_config_for

    # Greedy captions from the tiny model may be empty (then filtered out):
    # what matters here is which cascade ran.
    first = engine.template_picture(engine.catalogue[0])
    memes = engine.caption(first, 1, "greedy", None, 4, timeout=600)
    assert len(memes) <= 1
    greedy = engine.generator.cascade_for(decode_config_for("greedy", 1))
    default = engine.generator.cascade
    assert greedy is not default and greedy.decode_config.method == "greedy"
    assert greedy.classifier is default.classifier
    assert greedy.captioner is default.captioner
    again = engine.generator.cascade_for(decode_config_for("greedy", 1))
    assert again is greedy  # Built once, then reused.


def test_serve_reads_the_decoding_presets():
    """One decoding configuration: serve, its schema and generate agree."""
    from dank.apps.cli import build_parser
    from dank.apps.cli.cascade import decode_config
    from dank.apps.serve.config import ServeConfig
    from dank.apps.serve.engine import decode_config_for
    from dank.apps.serve.openapi import openapi
    from dank.decoding.config import DECODERS, DEFAULT_DECODER, PRESETS

    # The default is generate's (it was the paper's diverse beam before #24).
    assert ServeConfig().decoder == DEFAULT_DECODER
    assert build_parser().parse_args(["serve"]).decoder == DEFAULT_DECODER
    field = openapi(ServeConfig())["paths"]["/api/generate"]["post"]["requestBody"]
    schema = field["content"]["application/json"]["schema"]["properties"]["decoder"]
    assert schema["enum"] == list(DECODERS) and schema["default"] == DEFAULT_DECODER
    assert f"temperature {PRESETS['nucleus'].temperature:g}" in schema["description"]
    for decoder in DECODERS:  # What `dank generate --decoder D -n 6` decodes with.
        n = 1 if decoder == "greedy" else 6
        args = build_parser().parse_args(
            ["generate", "--decoder", decoder, "-n", str(n)]
        )
        assert decode_config_for(decoder, 6) == decode_config(args)
