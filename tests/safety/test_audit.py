"""The audit counts flagged captions, groups and skew exactly on a tiny source."""

import csv
import gzip
import json
import math

import pytest

from dank.apps.cli import main
from dank.core.errors import DankError
from dank.data import audit
from dank.data.sources import CAPTION_HEADER
from dank.safety import plots
from dank.safety.groups import (
    GroupTerms,
    ValenceScorer,
    load_groups,
    load_valences,
    polarity,
)

CAPTION_FIELDS = CAPTION_HEADER


def caption(tid, top, bottom="", score="", source="ImgFlip575K", ref=""):
    return {
        "template_id": tid,
        "top": top,
        "bottom": bottom,
        "extra_boxes_json": "",
        "n_boxes": "2",
        "score": score,
        "score_type": "imgflip_upvotes" if score != "" else "",
        "views": "",
        "source": source,
        "source_ref": ref,
    }


def tiny_rows():
    # Template t-a: ten imgflip captions with 0..9 upvotes; the two most upvoted
    # are profane and have the oldest post ids.
    rows = []
    for i in range(10):
        top = "this is shit" if i >= 8 else f"plain caption {i}"
        rows.append(
            caption(
                "t-a",
                top,
                "ok",
                score=str(i),
                ref=f"https://imgflip.com/i/{100 - i:x}z",
            )
        )
    loc = "LoC-memegenerator (subset via lpanonymous)"
    rows += [
        caption("t-b", "my wife and my mother", "are great", source=loc),
        caption("t-b", "watching porn", "", source=loc),
        caption("t-b", "african american", "history month", source=loc),
        caption("t-b", "first class", "in scunthorpe", source=loc),
        caption("t-c", "nothing here", "", source="memegen.link example (config.yml)"),
    ]
    return rows


def write_source(folder, rows):
    folder.mkdir()
    with open(folder / "templates.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["template_id", "name", "alt_names", "image_file", "text_layout_json"]
        )
        w.writerows(
            [
                ["t-a", "Alpha", "", "", ""],
                ["t-b", "Beta", "", "", ""],
                ["t-c", "Shit Happens", "", "", ""],
            ]
        )
    with gzip.open(folder / "captions.csv.gz", "wt", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, CAPTION_FIELDS)
        w.writeheader()
        w.writerows(rows)
    return folder


@pytest.fixture(scope="module")
def stats():
    records = audit.scan(tiny_rows(), scorer=load_valences())
    names = {"t-a": "Alpha", "t-b": "Beta", "t-c": "Shit Happens"}
    return audit.summarise(
        records, names, audit.AuditConfig(min_captions=4), scorer=load_valences()
    )


def test_overall_and_era_shares(stats):
    o = stats["overall"]
    assert o["captions"] == 15
    assert o["counts"] == {"any": 3, "slur": 0, "sexual": 1, "profanity": 2}
    assert o["shares"]["any"] == pytest.approx(0.2)
    eras = {e["source"]: e for e in stats["eras"]}
    assert eras["ImgFlip575K"]["counts"]["profanity"] == 2
    assert eras["ImgFlip575K"]["era"] == "imgflip, scraped April 2020"
    assert (
        eras["LoC-memegenerator (subset via lpanonymous)"]["shares"]["sexual"] == 0.25
    )
    assert [e["captions"] for e in stats["eras"]] == [10, 4, 1]


def test_upvote_deciles_rank_within_template(stats):
    deciles = stats["upvotes"]["deciles"]
    assert [d["captions"] for d in deciles] == [1] * 10
    assert [d["counts"]["any"] for d in deciles] == [0] * 8 + [1, 1]
    assert stats["upvotes"]["scored"] == 10 and stats["upvotes"]["ranked"] == 10
    buckets = {b["upvotes"]: b for b in stats["upvotes"]["buckets"]}
    assert buckets["0"]["captions"] == 1 and buckets["1-9"]["counts"]["any"] == 2
    # Post ids: the profane captions are the oldest two.
    assert [p["counts"]["any"] for p in stats["post_order"]] == [2, 0, 0, 0, 0]


def test_templates_skew_and_ranking(stats):
    t = stats["templates"]
    assert t["templates"] == 3
    assert t["gini"] == pytest.approx(0.4)  # Counts 1, 4, 10.
    assert t["flagged_gini"] == pytest.approx(4 / 9)  # Counts 0, 1, 2.
    assert t["top10_share"] == 1.0
    assert [r["template_id"] for r in t["most_flagged"]] == ["t-a", "t-b", "t-c"]
    assert t["most_flagged"][0]["share_of_flagged"] == pytest.approx(2 / 3)
    assert [r["template_id"] for r in t["highest_share"]] == ["t-b", "t-a"]
    names = {r["template_id"]: r["name"] for r in t["most_flagged"]}
    assert names["t-c"] == "(name withheld: profanity)"
    assert t["lorenz_captions"][-1] == (1.0, 1.0)


def test_group_mentions_and_sentiment(stats):
    g = {(r["category"], r["group"]): r for r in stats["groups"]["groups"]}
    assert g[("gender", "women")]["captions"] == 1
    assert g[("gender", "women")]["mean_sentiment"] > 0.5  # "great".
    assert g[("ethnicity", "black")]["captions"] == 1  # "african american" ...
    assert g[("nationality", "african")]["captions"] == 0  # ... is one mention.
    cats = {c["category"]: c for c in stats["groups"]["categories"]}
    assert cats["gender"]["share"] == pytest.approx(1 / 15)
    assert stats["groups"]["baseline"]["captions"] == 15


def test_group_terms_match_whole_words_longest_first():
    terms = GroupTerms(
        [
            ("gender", "women", "woman"),
            ("ethnicity", "white", "white guy"),
            ("nationality", "american", "american"),
        ]
    )
    found = terms.find("The WHITE GUY met a woman; womanhood and white cats")
    assert [(m.group, m.term) for m in found] == [
        ("white", "white guy"),
        ("women", "woman"),
    ]
    with pytest.raises(ValueError, match="category"):
        GroupTerms([("colour", "x", "x")])
    bundled = load_groups()
    assert ("religion", "muslim") in bundled.groups


def test_fallback_valence_scorer():
    scorer = ValenceScorer({"good": 2.0, "bad": -2.0})
    assert scorer("a good day") == pytest.approx(2 / math.sqrt(19))
    assert scorer("not a good day") == pytest.approx(-1.48 / math.sqrt(1.48**2 + 15))
    assert scorer("nothing listed") == 0.0
    assert [polarity(x) for x in (-0.5, 0.0, 0.5)] == [
        "negative",
        "neutral",
        "positive",
    ]


def test_gini_and_top_share():
    assert audit.gini([5, 5, 5]) == pytest.approx(0.0)
    assert audit.gini([0, 0, 0, 12]) == pytest.approx(0.75)
    assert audit.gini([]) == 0.0
    assert audit.top_share([1, 2, 3, 4], k=2) == pytest.approx(0.7)
    assert len(audit.lorenz(range(1000), max_points=11)) <= 12


def test_run_audit_writes_report_atomically(tmp_path, monkeypatch):
    source = write_source(tmp_path / "src", tiny_rows())
    out = tmp_path / "report"
    stats = audit.run_audit(source, out)
    assert stats["overall"]["counts"]["any"] == 3
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "audit.json",
        "flagged_by_source.png",
        "flagged_by_upvotes.png",
        "flagged_templates.png",
        "group_sentiment.png",
        "report.md",
        "template_skew.png",
    ]
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "20.00%" in text and "name withheld" in text
    # Captions and flagged names never appear in the report.
    assert "shit" not in text.lower() and "porn" not in text.lower()
    assert json.loads((out / "audit.json").read_text())["overall"]["captions"] == 15

    # A failure while writing leaves the earlier report whole.
    def boom(stats, folder):
        (folder / "partial.png").write_bytes(b"x")
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "write_plots", boom)
    with pytest.raises(RuntimeError):
        audit.run_audit(source, out)
    assert sorted(p.name for p in out.iterdir()) == names
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_run_audit_refuses_foreign_folder(tmp_path):
    source = write_source(tmp_path / "src", tiny_rows())
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DankError, match="refusing"):
        audit.run_audit(source, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_cli(tmp_path, capsys):
    source = write_source(tmp_path / "src", tiny_rows())
    assert main(["audit", "--data", str(source), "--out", str(tmp_path / "r")]) == 0
    assert "audited 15 captions: 20.00% flagged" in capsys.readouterr().out
    assert (
        main(["audit", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "r2")])
        == 2
    )
    assert "dank: error:" in capsys.readouterr().err
