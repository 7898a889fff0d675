"""The README tables that the suite's Markdown summary draws from a results file."""

from experiments.benchmarks import common, summary


def _latency(ms, p95):
    return {**common.stats([ms / 1e3], "s"), "p95": p95 / 1e3}


def test_vision_and_cascade_tables_read_the_figures():
    vision = {
        "params": {"preset": "paper", "image_size": 224, "batch_size": 64},
        "figures": {
            f"no_xla_{c}_images_per_s": common.stats([v], "images/s")
            for c, v in (("train", 2.5), ("infer_b1", 3.0), ("infer_b32", 9.5))
        },
        "ratios": {
            f"no_xla_{c}_of_ceiling": v
            for c, v in (("train", 0.51), ("infer_b1", 0.2), ("infer_b32", 0.6))
        },
    }
    vision["figures"]["bf16_train_images_per_s"] = common.stats([3.6], "images/s")
    vision["ratios"]["bf16_train_of_ceiling"] = 0.73
    cascade = {
        "params": {"preset": "cpu", "image_size": 96},
        "figures": {
            "resnet_b1_latency": _latency(30, 40),
            "resnet_b32_pictures_per_s": common.stats([60.0], "pictures/s"),
            "end_to_end_b1_latency": _latency(80, 95),
        },
        "stage_shares_b1": {"resnet": 0.4},
    }
    results = {
        "benchmarks": {
            "vision_paper": vision,
            "cascade": cascade,
            "vision": {"status": "failed"},
        }
    }
    table = summary.vision_table(results)
    assert table[2] == (
        "| paper (224 px) | graph | 2.5 (0.51) | 3.0 (0.20) | 9.5 (0.60) |"
    )
    assert table[3] == (
        "| paper (224 px) | graph, bfloat16 convolutions (training) "
        "| 3.6 (0.73) | - | - |"
    )
    assert "training batch paper 64" in table[-1] and len(table) == 6
    rows = summary.cascade_table(results)
    assert rows[0].startswith("| stage | cpu (96 px): batch 1 p50 (p95) ms | share |")
    assert "| resnet | 30.0 (40.0) | 40% | 60.0 |" in rows
    assert "| end_to_end | 80.0 (95.0) | - | - |" in rows
    assert "| render | - | - | - |" in rows
    assert summary.vision_table({"benchmarks": {}}) == []
    assert summary.cascade_table({"benchmarks": {}}) == []
