"""The data build's merge report (``merge_report.json`` / ``.md``)."""

import json

from dank.data import dedupe, merge_report
from dank.data.build import build_dataset
from dank.data.synthetic import make_source

IDS = ["imgflip-Confession-Bear", "mgnet-sad-bear", "mgnet-advice-dog", "lone"]
PAIRS = [
    {
        "i": 0,
        "j": 1,
        "stage": dedupe.CROPPED,
        "names_match": True,
        "view_correlation": 0.95,
        "correlation": 0.955,
        "block_diff": 0.4,
        "colour_diff": 7.0,
        "local_diff": 31.7,
        "crop": {"of": "b", "box": [0.0, 0.0, 0.99, 1.0], "mirrored": False},
    }
]
MISSES = [
    {
        "i": 2,
        "j": 3,
        "stage": dedupe.EXACT,
        "names_match": False,
        "phash_bits": 9,
        "dhash_bits": 11,
        "correlation": 0.93,
        "aspect_ratio": 1.0,
        "colour_diff": 30.0,
        "local_diff": 150.0,
        "why_not": "colour_diff 30.0 > 8.0",
    }
]


def test_report_names_groups_evidence_and_near_misses():
    groups = [["imgflip-Confession-Bear", "mgnet-sad-bear"], ["mgnet-advice-dog"]]
    groups.append(["lone"])
    report = merge_report.make_report(IDS, groups, PAIRS, MISSES)
    assert report["templates_before"] == 4 and report["templates_after"] == 3
    assert report["merged_by_stage"] == {
        dedupe.EXACT: 0,
        dedupe.CROPPED: 1,
        dedupe.KEYPOINTS: 0,
    }
    (group,) = report["groups"]
    assert group["id"] == "imgflip-Confession-Bear"
    assert group["pairs"][0]["a"] == "imgflip-Confession-Bear"
    assert group["pairs"][0]["block_diff"] == 0.4
    (miss,) = report["near_misses"]
    assert (miss["a"], miss["b"]) == ("mgnet-advice-dog", "lone")
    assert miss["why_not"] == "colour_diff 30.0 > 8.0"
    text = merge_report.to_markdown(report)
    assert "**imgflip-Confession-Bear** <- mgnet-sad-bear" in text
    assert "crop of mgnet-sad-bear" in text and "names match" in text
    assert "mgnet-advice-dog / lone: rejected, colour_diff 30.0 > 8.0" in text


def test_build_writes_the_report(tmp_path):
    source = make_source(
        tmp_path / "src", n_templates=3, captions_per_template=10, duplicate=True
    )
    summary = build_dataset(source, tmp_path / "out")
    report = json.loads((tmp_path / "out" / merge_report.REPORT_JSON).read_text())
    assert [g["members"] for g in report["groups"]] == summary["merged_groups"]
    assert report["groups"][0]["pairs"], "every merged group says why"
    assert (
        (tmp_path / "out" / merge_report.REPORT_MD)
        .read_text()
        .startswith("# Merge report")
    )
    assert summary["merge_report"]["files"] == [
        merge_report.REPORT_JSON,
        merge_report.REPORT_MD,
    ]
