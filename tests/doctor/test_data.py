"""Data checks against a sound build and deliberately damaged copies."""

import json
import os
import shutil

import pytest

from dank.apps.doctor import data as doctor_data


def by_name(checks):
    return {c.name: c for c in checks}


@pytest.fixture
def build(tiny_data, tmp_path):
    """A private copy of the tiny build, free to damage."""
    out = tmp_path / "build"
    shutil.copytree(tiny_data, out)
    return out


@pytest.fixture
def starter(tiny_source, tmp_path):
    """The tiny source dressed as a starter set: README with counts, licenses/."""
    out = tmp_path / "starter"
    shutil.copytree(tiny_source, out)
    rows = doctor_data.count_csv_rows(out / "captions.csv.gz")
    n = doctor_data.count_csv_rows(out / "templates.csv")
    (out / "README.txt").write_text(
        f"dank starter set\n\n{n} templates (...) up to 1000 captions each "
        f"({rows} captions).\n"
    )
    (out / "licenses").mkdir()
    return out


def test_sound_build_passes(build):
    checks = by_name(doctor_data.data_checks(build, starter=build / "nowhere"))
    assert checks["starter set"].status == "skip"
    assert checks["data build"].status == "ok"
    records = checks["TFRecords"]
    assert records.status == "ok", records
    assert records.data["splits"]["train"] > 0


def test_missing_build_names_the_build_command(tmp_path):
    (check,) = doctor_data.check_build_files(tmp_path / "none")
    assert check.status == "fail"
    assert "dank data build" in check.fix


def test_corrupt_catalogue(build):
    (build / "catalogue.json").write_text("{not json")
    checks = by_name(doctor_data.data_checks(build, starter=build))
    assert checks["data build"].status == "fail"
    assert "not valid JSON" in checks["data build"].message
    assert "TFRecords" not in checks  # Nothing to compare the records with.


def test_catalogue_from_another_build(build):
    path = build / "catalogue.json"
    catalogue = json.loads(path.read_text())
    first, second = catalogue["templates"][:2]
    first["id"], second["id"] = second["id"], first["id"]
    path.write_text(json.dumps(catalogue))
    check = doctor_data.check_records(build)
    assert check.status == "fail"
    assert "another label" in check.message


def test_vocabulary_too_small_for_the_records(build):
    path = build / "vocab.json"
    vocab = json.loads(path.read_text())
    vocab["tokens"] = vocab["tokens"][:8]
    path.write_text(json.dumps(vocab))
    check = doctor_data.check_records(build)
    assert check.status == "fail" and "outside the 8-word vocabulary" in check.message


def test_truncated_records(build):
    (shard,) = build.glob("captions-train-*.tfrecord")
    shard.write_bytes(shard.read_bytes()[:-40])
    check = doctor_data.check_records(build)
    assert check.status == "fail"
    assert "truncated or corrupt" in check.cause


def test_stale_build(build, tiny_source):
    summary = json.loads((build / "summary.json").read_text())
    assert summary["source"] == str(tiny_source)
    built = (build / "catalogue.json").stat().st_mtime
    os.utime(build / "catalogue.json", (built - 3600, built - 3600))
    checks = doctor_data.check_build_files(build)
    stale = by_name(checks)["data build freshness"]
    assert stale.status == "warn" and "captions.csv.gz" in stale.message


def test_starter_set_intact(starter):
    check = doctor_data.check_starter(starter)
    assert check.status == "ok", check
    assert check.data["templates"] == 6


def test_starter_set_counts_differ_from_readme(starter):
    readme = starter / "README.txt"
    readme.write_text(readme.read_text().replace("6 templates", "7 templates"))
    check = doctor_data.check_starter(starter)
    assert check.status == "fail"
    assert "6 templates, README says 7" in check.message
    assert "git restore data/starter" in check.fix


def test_starter_set_missing_image_and_licenses(starter):
    next((starter / "templates").iterdir()).unlink()
    check = doctor_data.check_starter(starter)
    assert check.status == "fail" and "1 missing or broken images" in check.message
    shutil.rmtree(starter / "licenses")
    assert "licenses" in doctor_data.check_starter(starter).message


def test_starter_set_truncated_captions(starter):
    path = starter / "captions.csv.gz"
    path.write_bytes(path.read_bytes()[:200])
    check = doctor_data.check_starter(starter)
    assert check.status == "fail" and "cannot read" in check.message
