"""Offline end-to-end crawls against the 127.0.0.1 mirror (``tools/mirror_site.py``).

Each crawl runs ``python -m dank scrape`` in a subprocess (Twisted's reactor
cannot restart in one process) and must recover exactly the captions, upvotes
and templates the mirror's slice holds, minus what an injected fault takes away.
"""

import argparse
import csv
import sys
from pathlib import Path

import pytest
from spider_helpers import crawl, read_captions

from dank.apps.cli import Commands
from dank.apps.cli import scrape as cli
from dank.apps.scrape.crawl import is_loopback, run_crawl
from dank.core.errors import DankError
from tools.mirror_site import Faults, Mirror, load_slice

SPIDERS = ("imgflip", "memegenerator")


@pytest.fixture(scope="module")
def site_slice(tiny_source):
    return load_slice(tiny_source, n_templates=3, captions_per_template=12)


def template_ids(out):
    with open(out / "templates.csv", newline="") as f:
        return {r["template_id"]: r for r in csv.DictReader(f)}


@pytest.mark.parametrize(
    "spider", ["imgflip", pytest.param("memegenerator", marks=pytest.mark.slow)]
)  # The fault run below also checks memegenerator's exact recovery.
def test_crawl_recovers_the_slice_exactly(spider, site_slice, tmp_path, monkeypatch):
    monkeypatch.setenv("DANK_PROGRESS", "bar")  # As on a terminal.
    with Mirror(site_slice, per_page=5) as mirror:
        proc, report = crawl(spider, mirror.url, tmp_path)
        expected = mirror.expected(spider)
        assert sum(mirror.canary_hits.values()) == 0
    assert read_captions(tmp_path) == expected
    templates = template_ids(tmp_path)
    assert set(templates) == set(expected)
    for row in templates.values():  # Every template image was stored and is readable.
        assert (tmp_path / row["image_file"]).is_file() and int(row["width"]) > 0
    assert report["captions"] == 36 and report["templates"] == 3
    assert report["faults"]["retries_given_up"] == 0
    finished = proc.stderr.split("\r")[-1]
    assert "crawl  3 templates  36 captions" in finished and "done in" in finished
    assert report["pages_per_s"] > 0


@pytest.mark.parametrize("spider", SPIDERS)
def test_crawl_survives_every_fault_and_reports_it(spider, site_slice, tmp_path):
    faults = Faults.all(stall_s=2.0, oversize_bytes=2 * 2**20)
    with Mirror(site_slice, faults, per_page=5) as mirror:
        proc, report = crawl(spider, mirror.url, tmp_path)
        expected = mirror.expected(spider)
        hits = dict(mirror.hits)
        assert sum(mirror.canary_hits.values()) == 0  # Never left 127.0.0.1.
    assert read_captions(tmp_path) == expected
    assert sum(len(v) for v in expected.values()) < 36  # The faults did take some.
    f = report["faults"]
    assert f["http_5xx"] > 0 and f["retries"] > 0  # 500s, retried.
    assert f["timeouts"] >= 1
    assert f["robots_forbidden"] >= 1
    assert f["offsite_filtered"] >= 1
    assert f["pagination_loops"] >= 1
    assert f["images_failed"] == 2
    failures = " ".join(f["image_failures"])
    assert "truncated" in failures and "max size" in failures
    last = site_slice[-1].slug
    disallowed = (
        f"/meme/{last}" if spider == "imgflip" else f"/{last}/images/popular/alltime"
    )
    assert disallowed not in hits  # robots.txt was obeyed, not just reported.
    if spider == "imgflip":
        assert f["retries_given_up"] == 1  # The post that always answers 500.
        assert f["malformed_pages"] == 1  # The post cut off before its caption.
    templates = template_ids(tmp_path)
    assert sum(1 for r in templates.values() if not r["image_file"]) == 2


@pytest.mark.slow  # Two crawls; the shard and log resume logic have fast unit tests.
def test_interrupted_crawl_resumes_with_jobdir(site_slice, tmp_path):
    jobdir = tmp_path / "job"
    out = tmp_path / "crawl"
    with Mirror(site_slice, per_page=5) as mirror:
        _, first = crawl(
            "imgflip",
            mirror.url,
            out,
            "--jobdir",
            str(jobdir),
            "-s",
            "CLOSESPIDER_ITEMCOUNT=10",
            "-s",
            "CONCURRENT_REQUESTS=1",
        )
        assert first["finish_reason"] == "closespider_itemcount"
        assert 0 < first["captions"] < 36
        _, second = crawl("imgflip", mirror.url, out, "--jobdir", str(jobdir))
        expected = mirror.expected("imgflip")
    assert second["finish_reason"] == "finished"
    assert read_captions(out) == expected
    assert (
        second["dropped"].get("duplicate_image", 0) == 0
    )  # JOBDIR skipped seen posts.


def test_tfrecords_load_and_the_crawl_builds(site_slice, tiny_data, tmp_path):
    from dank.data import records
    from dank.data.build import build_dataset

    out = tmp_path / "crawl"
    with Mirror(site_slice, per_page=5) as mirror:
        _, report = crawl(
            "imgflip",
            mirror.url,
            out,
            "--tfrecords-from",
            str(tiny_data),
            "-s",
            "DANK_TFRECORD_SHARD_SIZE=10",
        )
    shards = sorted((out / "tfrecords").glob("crawl-captions-*.tfrecord"))
    assert [s.name for s in shards][:2] == [
        "crawl-captions-00000000-00000010.tfrecord",
        "crawl-captions-00000010-00000020.tfrecord",
    ]
    import tensorflow as tf

    parsed = list(
        tf.data.TFRecordDataset([str(s) for s in shards]).map(records.parse_caption)
    )
    assert len(parsed) == report["tfrecords"]["captions"] > 0
    assert all(0.0 <= float(x["score"]) <= 1.0 for x in parsed)
    assert all(int(x["tokens"][0]) == 2 and int(x["tokens"][-1]) == 3 for x in parsed)
    images = list(
        tf.data.TFRecordDataset(
            [str(p) for p in (out / "tfrecords").glob("crawl-images-*.tfrecord")]
        ).map(records.parse_image)
    )
    assert len(images) == 3 and all(x["image"].shape[-1] == 3 for x in images)
    summary = build_dataset(
        out, tmp_path / "build"
    )  # `dank data build --source CRAWL`.
    assert summary["templates"] == 3 and summary["captions_read"] == 36


def test_scrape_command_parses_and_refuses_unsafe_use(tmp_path):
    parser = argparse.ArgumentParser()
    cli.register(Commands(parser.add_subparsers(dest="command")))
    args = parser.parse_args(
        [
            "scrape",
            "memegenerator",
            "--out",
            str(tmp_path),
            "--max-templates",
            "5",
            "--max-pages",
            "2",
            "-s",
            "CLOSESPIDER_ITEMCOUNT=9",
        ]
    )
    assert (args.spider, args.max_templates, args.max_pages) == ("memegenerator", 5, 2)
    assert args.func is cli.scrape and args.base_url is None
    assert cli.parse_overrides(args.set) == {"CLOSESPIDER_ITEMCOUNT": "9"}
    with pytest.raises(DankError, match="NAME=VALUE"):
        cli.parse_overrides(["oops"])
    with pytest.raises(DankError, match="only for a local mirror"):
        run_crawl("imgflip", tmp_path, "https://imgflip.com", throttle=False)
    with pytest.raises(DankError, match="not an http"):
        run_crawl("imgflip", tmp_path, "file:///etc")
    with pytest.raises(DankError, match="not a data build"):
        run_crawl("imgflip", tmp_path, "http://127.0.0.1:1/", tfrecord_data=tmp_path)
    assert is_loopback("http://127.0.0.1:8000/") and is_loopback("http://localhost/")
    assert not is_loopback("https://imgflip.com/")


def test_scrape_command_error_exit(tmp_path):
    from dank.apps.cli import main

    args = ["scrape", "imgflip", "--out", str(tmp_path), "--base-url", "nope"]
    assert main(args) == 2
    assert not (tmp_path / "crawl_report.json").exists()


def test_crawl_without_scrapy_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "scrapy", None)  # As if not installed.
    with pytest.raises(DankError, match=r"Scrapy is not installed.*\[spiders\]"):
        run_crawl("imgflip", tmp_path, "http://127.0.0.1:1/")


STARTER = Path(__file__).resolve().parents[2] / "data" / "starter"


@pytest.mark.slow
@pytest.mark.skipif(not (STARTER / "templates.csv").is_file(), reason="no data/starter")
def test_crawl_recovers_real_captions_exactly(tmp_path):
    """Real captions: multi-box posts, quotes, entities, odd whitespace, unicode."""
    with Mirror(load_slice(STARTER, n_templates=3, captions_per_template=30)) as mirror:
        crawl("imgflip", mirror.url, tmp_path)
        expected = mirror.expected("imgflip")
    assert read_captions(tmp_path) == expected
    assert sum(len(v) for v in expected.values()) == 90


def test_tfrecord_labels_fall_back_to_the_template_name(tiny_data, tmp_path):
    from scrapy.utils.test import get_crawler

    from dank_spiders.spiders.memegenerator import MemegeneratorSpider
    from dank_spiders.tfrecords import TFRecordPipeline

    settings = {"DANK_OUT": str(tmp_path), "DANK_TFRECORD_DATA": str(tiny_data)}
    pipe = TFRecordPipeline.from_crawler(get_crawler(MemegeneratorSpider, settings))
    assert pipe._label("mgnet-proud-toddler") is None  # Not a catalogue id...
    pipe._remember_name({"template_id": "mgnet-proud-toddler", "name": "Proud Toddler"})
    label = pipe._label("mgnet-proud-toddler")  # ...but its name is known.
    assert label is not None and label == pipe._label("imgflip-Proud-Toddler")
