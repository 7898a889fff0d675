"""The benchmark suite's shared helpers: statistics, ceiling, guard, summary.

No timing is asserted (CI stays fast and machines differ); these check the
arithmetic and the bookkeeping that every benchmark result goes through.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.benchmarks import ceiling, common, summary

ROOT = Path(__file__).resolve().parents[2]


def test_stats_median_min_max():
    s = common.stats([3, 1, 2, 10], "s")
    assert s == {"median": 2.5, "min": 1.0, "max": 10.0, "unit": "s", "n": 4}
    with pytest.raises(ValueError):
        common.stats([], "s")


def test_measure_warms_up_then_times_each_repeat():
    calls = []
    s = common.measure(lambda: calls.append(1), repeats=4, warmup=2, number=3)
    assert len(calls) == 2 + 4 * 3
    assert s["n"] == 4 and s["unit"] == "s"
    assert 0 <= s["min"] <= s["median"] <= s["max"]
    with pytest.raises(ValueError):
        common.measure(lambda: None, repeats=0)


def test_rates_turn_slowest_time_into_lowest_rate():
    seconds = {"median": 2.0, "min": 1.0, "max": 4.0, "unit": "s", "n": 3}
    r = common.rates(seconds, 8, "items/s")
    assert (r["median"], r["min"], r["max"]) == (4.0, 2.0, 8.0)
    g = common.scale(r, 0.5, "GFLOP/s")
    assert (g["median"], g["min"], g["max"], g["unit"]) == (2.0, 1.0, 4.0, "GFLOP/s")


def test_ratio_and_ceiling_fractions():
    assert common.ratio({"median": 3.0}, {"median": 2.0}) == 1.5
    assert common.ratio(3.0, 0) is None
    ratios = {}
    common.ceiling_fractions(ratios, "train", {"median": 50.0}, {"fp32": 200.0})
    assert ratios == {"train_of_ceiling": 0.25}  # One divisor, no second fraction.
    args = type("Args", (), {"ceiling_gflops": 431.256, "quick": True})
    assert common.ceilings(args) == {"fp32": 431.26}


def _rate(best):
    return {"median": best - 1, "min": best - 2, "max": best, "unit": "GFLOP/s", "n": 3}


def _record(tf=430.0, unpinned=450.0, pinned=200.0, bf16=None):
    return {
        "size": 4096,
        "fp32": max(tf, unpinned),
        "fp32_source": "tf" if tf >= unpinned else "numpy_unpinned",
        "tf": _rate(tf),
        "numpy_unpinned": {
            **_rate(unpinned),
            "unset": list(ceiling.PINS),
            "blas": {"architecture": "SkylakeX"},
        },
        "numpy_pinned": {
            **_rate(pinned),
            "blas": {"architecture": "Haswell"},
            "env": {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "(unset)"},
        },
        "cpu_features": {
            "avx2": True,
            "avx512f": True,
            "avx512_bf16": bf16 is not None,
            "amx": False,
        },
        "bf16": None if bf16 is None else _rate(bf16),
    }


def test_cpu_features_and_bf16_from_flags():
    flags = {"sse2", "avx2", "avx512f", "avx512_bf16"}
    features = ceiling.cpu_features(flags)
    assert features == {
        "avx2": True,
        "avx512f": True,
        "avx512_bf16": True,
        "amx": False,
    }
    assert ceiling.has_bf16(features)
    assert ceiling.has_bf16(ceiling.cpu_features({"amx_tile"}))
    assert not ceiling.has_bf16(ceiling.cpu_features({"avx2", "avx512f"}))
    assert set(ceiling.cpu_features()) == set(ceiling.FEATURES)  # This machine's.


def test_numpy_probe_unsets_only_the_two_pins_in_its_child():
    environ = {
        "OPENBLAS_CORETYPE": "Haswell",
        "OPENBLAS_L2_SIZE": "1",
        "OPENBLAS_NUM_THREADS": "2",
        "PATH": "/bin",
    }  # A copy: os.environ
    assert ceiling.unpinned_env(environ) == {  # itself is never changed.
        "OPENBLAS_NUM_THREADS": "2",
        "PATH": "/bin",
    }
    probe = ceiling.numpy_unpinned(64, repeats=1)
    assert probe["unit"] == "GFLOP/s" and probe["max"] > 0
    assert probe["unset"] == ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]


def test_ceiling_lines_name_the_divisor_each_matmul_and_bf16():
    text = "\n".join(summary.ceiling_lines(_record(bf16=900.0)))
    assert "**fp32 ceiling: 450.0 GFLOP/s**" in text and "`numpy_unpinned`" in text
    assert "TensorFlow fp32: 430.0" in text
    assert "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for it only: 450.0" in text
    assert "kernel SkylakeX" in text and "kernel Haswell" in text
    assert "`OPENBLAS_CORETYPE=Haswell`" in text and "reference only): 200.0" in text
    assert "avx512_bf16 yes" in text and "amx no" in text
    assert (
        "bf16 ceiling (TensorFlow bf16 matmul; recorded, not a divisor): 900.0" in text
    )
    assert "bf16" not in "".join(summary.ceiling_lines(_record(tf=460.0))).replace(
        "avx512_bf16", ""
    )  # No bf16 line on a CPU without it.


def test_baseline_fractions_against_the_old_ceiling_are_not_compared():
    old = {
        "ceiling": {"numpy": _rate(190.0)},  # Before issue 23: pinned numpy.
        "benchmarks": {
            "lstm": {"ratios": {"train_of_ceiling": 0.9, "custom_vs_builtin": 1.0}}
        },
    }
    assert summary.baseline_ratios(old) == {"lstm.custom_vs_builtin": 1.0}
    new = {**old, "ceiling": _record()}
    assert summary.baseline_ratios(new) == {
        "lstm.train_of_ceiling": 0.9,
        "lstm.custom_vs_builtin": 1.0,
    }


def test_latencies_have_a_p95_between_median_and_max():
    values = iter(range(100))
    lat = common.latencies(lambda: next(values), repeats=20, warmup=0)
    assert lat["n"] == 20 and lat["median"] <= lat["p95"] <= lat["max"]
    assert common.percentile([0, 10], 50) == 5.0


def test_numpy_matmul_rate_is_positive_gflops():
    r = common.numpy_matmul_rate(64, repeats=2)
    assert r["unit"] == "GFLOP/s" and r["n"] == 2 and r["median"] > 0


def test_machine_info_and_slug():
    info = common.machine_info(with_tf=False)
    assert info["cores"] >= 1 and info["cpu"]
    slug = common.machine_slug({"cpu": "Intel(R) Xeon(R) CPU @ 2.20GHz", "cores": 2})
    assert slug == "intel-xeon-2cpu"
    assert common.machine_slug({"cpu": "AMD EPYC", "cores": 2}) == "amd-epyc-2cpu"


def test_pictures_are_distinct_jpegs():
    pictures = common.pictures(3, side=64)
    assert len(set(pictures)) == 3 and all(p[:2] == b"\xff\xd8" for p in pictures)


def test_emit_writes_rounded_json_with_peak_memory(tmp_path, capsys):
    args = type("Args", (), {"json_out": str(tmp_path / "r.json"), "quick": True})
    result = common.make_result("x", args, {"batch": 2})
    result["ratios"]["a"] = 1 / 3
    assert common.emit(result, args) == 0
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["ratios"]["a"] == 0.3333 and written["quick"] is True
    assert written["peak_rss_mib"] > 0
    assert json.loads(capsys.readouterr().out) == written


def test_skipped_result_says_why(tmp_path):
    args = type("Args", (), {"quick": False})
    reason = common.missing_run(tmp_path)
    assert "make train" in reason
    assert common.skipped("cascade", args, reason)["skipped"] == reason


def _results(ratios, quick=True, slug="m"):
    return {
        "quick": quick,
        "machine_slug": slug,
        "benchmarks": {b: {"ratios": r} for b, r in ratios.items()},
    }


def test_compare_reports_only_falls_past_the_threshold():
    old = summary.flat_ratios(_results({"a": {"x": 1.0, "y": 1.0, "z": 2.0}}))
    new = summary.flat_ratios(
        _results({"a": {"x": 0.79, "y": 0.81, "w": 0.1}, "b": {"x": 0.1}})
    )
    fallen = summary.compare(new, old)
    assert [r["ratio"] for r in fallen] == ["a.x"]
    assert fallen[0]["change"] == pytest.approx(-0.21)


def test_flat_ratios_skip_missing_values():
    flat = summary.flat_ratios(_results({"a": {"x": None, "y": 2}}))
    assert flat == {"a.y": 2.0}


def test_targets_take_the_best_key_and_say_when_unmeasured():
    rows = summary.targets(
        {"decoding.b32_graph_of_ceiling": 0.2, "decoding.b32_xla_of_ceiling": 0.75}
    )
    beam = next(r for r in rows if r["target"].startswith("beam-5"))
    assert beam["value"] == 0.75 and beam["met"] is True
    assert all(r["met"] is None for r in rows if r is not beam)


def test_pick_baseline_prefers_same_mode_then_machine_then_newest():
    cands = [
        ("r/2026-01-01-m.json", _results({}, quick=False)),
        ("r/2026-01-02-m-quick.json", _results({}, quick=True)),
        ("r/2026-01-03-n-quick.json", _results({}, quick=True, slug="n")),
    ]
    assert summary.pick_baseline(cands, True, "m")[0] == "r/2026-01-02-m-quick.json"
    assert summary.pick_baseline(cands, False, "m")[0] == "r/2026-01-01-m.json"
    assert summary.pick_baseline([], True, "m") is None


def test_committed_results_read_head_not_the_working_copy(tmp_path):
    def git(*argv):
        subprocess.run(["git", *argv], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "2026-01-01-m.json").write_text(json.dumps(_results({"a": {"x": 1}})))
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "r")
    (folder / "2026-01-01-m.json").write_text(json.dumps(_results({"a": {"x": 9}})))
    (folder / "2026-01-02-m.json").write_text("{}")  # Not committed.
    found = summary.committed_results(folder, tmp_path)
    assert [(Path(p).name, r["benchmarks"]["a"]["ratios"]["x"]) for p, r in found] == [
        ("2026-01-01-m.json", 1)
    ]
    assert summary.committed_results(tmp_path / "nowhere", tmp_path / "x") == []


def test_markdown_lists_targets_regressions_and_figures():
    results = {
        **_results({}),
        "date": "2026-01-01",
        "wall_s": 10.0,
        "machine": {"cpu": "AMD EPYC", "cores": 2, "onednn": "1"},
        "ceiling": _record(),
        "targets": summary.targets({"lstm.train_of_ceiling": 0.4}),
        "baseline": "old.json",
        "regressions": [{"ratio": "lstm.x", "old": 1.0, "new": 0.5, "change": -0.5}],
        "benchmarks": {
            "lstm": {
                "status": "ok",
                "wall_s": 3.0,
                "peak_rss_mib": 500.0,
                "ratios": {"train_of_ceiling": 0.4},
                "figures": {"t": common.stats([1, 2, 3], "tokens/s")},
            },
            "cascade": {"status": "ok", "skipped": "no trained run"},
            "serve": {"status": "timeout", "wall_s": 9.0, "error": "killed"},
        },
    }
    text = summary.markdown(results)
    assert "| caption training, cpu size, of ceiling | 0.400 | 0.75 | **no** |" in text
    assert "**lstm.x**: 1.000 -> 0.500 (-50%)" in text
    assert "| t | 2.000 | 1.000 | 3.000 | tokens/s | 3 |" in text
    assert "Skipped: no trained run" in text and "**timeout**" in text
    assert "unreliable" not in text  # No end ceiling recorded: no drift line.
    busy = summary.markdown(
        {**results, "ceiling_drift": -0.5, "ceiling_end": {"fp32": 50.0}}
    )
    assert "50.000 GFLOP/s (-50%)" in busy and "unreliable" in busy


def test_run_py_lists_the_suite():
    out = subprocess.run(
        [sys.executable, "-m", "experiments.benchmarks.run", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = [line.split()[0] for line in out.splitlines()]
    assert names[:5] == [
        "lstm",
        "lstm_paper",
        "lstm_paper_bf16",
        "decoding",
        "decoding_bf16",
    ]
    assert "spiders" in names
