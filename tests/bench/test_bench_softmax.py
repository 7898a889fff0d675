"""bench_softmax: Zipf targets and a same-process ratio of the two softmaxes."""

import json

import numpy as np

from experiments.benchmarks import bench_softmax


def test_zipf_batch_puts_most_targets_among_the_frequent_words():
    x, y = bench_softmax.zipf_batch(10530, 100, 64, 16)
    assert x["tokens"].shape == y.shape == (64, 16)
    assert y.min() >= 4 and y.max() < 10530
    assert 0.65 < np.mean(y < 1000) < 0.85  # Log-uniform: about 0.75.


def test_bench_reports_the_adaptive_over_full_ratio(tmp_path):
    out = tmp_path / "softmax.json"
    args = ["--quick", "--preset", "tiny", "--cutoffs", "100,300"]
    assert bench_softmax.main([*args, "--steps", "1", "--json-out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["params"]["cutoffs"] == [100, 300]
    assert result["ratios"]["adaptive_vs_full"] > 0
    assert result["figures"]["full_tokens_per_s"]["median"] > 0
