"""``dank rate``: blind item choice, the ratings CSV, terminal and web sessions."""

import csv
import http.client
import json
import re
import threading
from types import SimpleNamespace

import pytest

from dank.apps.rate.items import choose_items
from dank.apps.rate.session import RateSession, RatingLog, parse_answer, parse_funny
from dank.core.errors import DankError

CATALOGUE = [
    SimpleNamespace(id=f"t{k}", name=f"Template {k}", label=k) for k in range(3)
]
CAPTIONS = [
    {"label": k % 3, "top": f"real caption {k}", "bottom": "bottom, too"}
    for k in range(30)
]


def fake_generate(template, seed):
    return f"made up for {template.name} {seed}", ""


def test_choice_is_seeded_half_real_and_blind():
    first = choose_items(CAPTIONS, CATALOGUE, 10, 7, fake_generate)
    again = choose_items(CAPTIONS, CATALOGUE, 10, 7, fake_generate)
    other = choose_items(CAPTIONS, CATALOGUE, 10, 8, fake_generate)
    assert first == again
    assert [i.id for i in first] != [i.id for i in other]
    assert [i.truth for i in first].count("real") == 5
    assert [i.truth for i in first].count("generated") == 5
    # Not all real first: the two kinds are interleaved.
    assert [i.truth for i in first] != sorted(i.truth for i in first)
    assert all(re.fullmatch(r"[0-9a-f]{12}", i.id) for i in first)
    assert len({i.id for i in first}) == 10
    # Generated memes use templates drawn from the same real captions.
    assert {i.template_id for i in first} <= {t.id for t in CATALOGUE}
    # Both kinds are spaced by the same tokenizer.
    assert first[[i.truth for i in first].index("real")].bottom == "bottom, too"


def test_choice_skips_templates_without_pictures_and_checks_n():
    items = choose_items(
        CAPTIONS, CATALOGUE, 6, 0, fake_generate, usable=lambda t: t.label != 1
    )
    assert {i.label for i in items} <= {0, 2}
    with pytest.raises(DankError, match="at least 2"):
        choose_items(CAPTIONS, CATALOGUE, 1, 0, fake_generate)


def test_answers_are_parsed_or_refused():
    assert parse_answer(" R ") == "real" and parse_answer("generated") == "generated"
    assert parse_answer("maybe") is None and parse_answer("") is None
    assert parse_funny("4") == 4
    assert parse_funny("0") is None and parse_funny("6") is None
    assert parse_funny("3.5") is None


def test_ratings_csv_appends_and_resumes_without_duplicates(tmp_path):
    path = tmp_path / "ratings.csv"
    items = choose_items(CAPTIONS, CATALOGUE, 4, 1, fake_generate)
    session = RateSession(items, RatingLog(path), "ann")
    session.record(items[0].id, "real", 3)
    session.record(items[1].id, "g", "5")
    with pytest.raises(DankError, match="already rated"):
        session.record(items[0].id, "real", 1)
    with pytest.raises(DankError, match="real or generated"):
        session.record(items[2].id, "perhaps", 1)
    with pytest.raises(DankError, match="1 to 5"):
        session.record(items[2].id, "real", 9)
    # A new process reading the file resumes after the two rated items.
    resumed = RateSession(items, RatingLog(path), "ann")
    assert resumed.pending() == items[2:]
    # Another rater starts from the beginning, in the same file.
    bob = RateSession(items, RatingLog(path), "bob")
    assert bob.pending() == items
    bob.record(items[0].id, "generated", 2)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["rater"], r["item"]) for r in rows] == [
        ("ann", items[0].id),
        ("ann", items[1].id),
        ("bob", items[0].id),
    ]
    assert rows[1]["answer"] == "generated" and rows[1]["funny"] == "5"
    assert rows[0]["truth"] == items[0].truth
    summary = RateSession(items, RatingLog(path), "ann").summary()
    assert summary["rated"] == 2
    assert summary["correct"] == (
        (items[0].truth == "real") + (items[1].truth == "generated")
    )


def test_a_foreign_csv_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DankError, match="not a dank ratings file"):
        RatingLog(path)


def test_missing_run_is_a_clear_error(tmp_path, capsys):
    from dank.apps.cli import main

    assert main(["rate", "--run", str(tmp_path / "nope"), "--terminal"]) == 2
    assert "run directory" in capsys.readouterr().err
    assert main(["rate", "--run", str(tmp_path), "-n", "1"]) == 2
    assert "at least 2" in capsys.readouterr().err


@pytest.fixture(scope="module")
def memes(tiny_run):
    from dank.apps.rate.memes import RunMemes

    loaded = RunMemes(tiny_run)
    yield loaded
    loaded.close()


def rate_args(run, out, *extra):
    from dank.apps.cli import build_parser

    return build_parser().parse_args(
        ["rate", "--run", str(run), "--out", str(out), "--rater", "ann", *extra]
    )


def scripted(answers):
    answers = iter(answers)

    def ask(prompt):
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None

    return ask


def test_terminal_session_reasks_saves_and_resumes(tiny_run, memes, tmp_path):
    from dank.apps.cli.rate import _rate

    out = tmp_path / "ratings.csv"
    args = rate_args(tiny_run, out, "-n", "4", "--terminal")
    said = []
    # A bad answer and a bad score are asked again; q stops after one rating.
    _rate(
        args, scripted(["maybe", "r", "9", "three", "3", "q"]), said.append, memes=memes
    )
    text = "\n".join(said)
    assert "type r (real) or g (generated)" in text
    assert "from 1 to 5" in text
    with out.open(newline="") as f:
        assert len(list(csv.DictReader(f))) == 1
    # The same command goes on with the other three; end of input ends it too.
    said.clear()
    _rate(
        args,
        scripted(["g", "2", "real", "5", "generated", "1"]),
        said.append,
        memes=memes,
    )
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and len({r["item"] for r in rows}) == 4
    assert sorted(r["truth"] for r in rows) == [
        "generated",
        "generated",
        "real",
        "real",
    ]
    correct = sum(r["answer"] == r["truth"] for r in rows)
    assert f"correctly for {correct} of 4" in "\n".join(said)
    # Each meme was written as a PNG named by its id only.
    pngs = sorted(p.stem for p in (tmp_path / "ratings-memes").glob("*.png"))
    assert pngs == sorted(r["item"] for r in rows)
    said.clear()
    _rate(args, scripted([]), said.append, memes=memes)
    assert "rated all 4" in said[0]


def test_web_form_rates_every_meme_then_reveals(tiny_run, memes, tmp_path):
    from dank.apps.cli.rate import open_session
    from dank.apps.rate.web import make_rate_server

    out = tmp_path / "web.csv"
    session, _, _ = open_session(rate_args(tiny_run, out, "-n", "2"), memes)
    server = make_rate_server(session, memes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]

    def request(method, path, body=None):
        conn = http.client.HTTPConnection(host, port, timeout=60)
        headers = {"Content-Type": "application/json"} if body else {}
        conn.request(method, path, json.dumps(body) if body else None, headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, response.headers, data

    try:
        for _ in range(2):
            status, headers, page = request("GET", "/")
            assert status == 200 and b"Real or generated?" in page
            assert "script-src 'self'" in headers["Content-Security-Policy"]
            item = re.search(rb'name="item" value="([0-9a-f]{12})"', page)[1].decode()
            status, headers, png = request("GET", f"/memes/{item}.png")
            assert status == 200 and png.startswith(b"\x89PNG")
            status, _, page = request(
                "POST", "/rate", {"item": item, "answer": "sure", "funny": "2"}
            )
            assert status == 400 and b"answer real or generated" in page
            status, headers, _ = request(
                "POST", "/rate", {"item": item, "answer": "real", "funny": 4}
            )
            assert status == 303 and headers["Location"] == "/"
        status, _, page = request("GET", "/")
        assert status == 200 and b"Thank you" in page and b"correctly for" in page
        # The handler sets ``done`` just after sending the page: wait for it.
        assert server.app.done.wait(10)
        assert request("GET", "/memes/000000000000.png")[0] == 404
    finally:
        server.shutdown()
        server.server_close()
    with out.open(newline="") as f:
        assert [r["answer"] for r in csv.DictReader(f)] == ["real", "real"]
