"""The regression guard end to end, without timing: two fake results, one report."""

from experiments.benchmarks import run, summary


def _results(ratios, drift=0.0):
    return {
        "quick": True,
        "machine_slug": "m",
        "wall_s": 1.0,
        "ceiling_drift": drift,
        "benchmarks": {n: {"status": "ok", "ratios": r} for n, r in ratios.items()},
    }


def test_report_prints_every_ratio_that_fell_past_the_threshold(capsys, tmp_path):
    old = _results(
        {
            "lstm": {"train_of_ceiling": 0.6, "custom_vs_builtin": 1.0},
            "cascade": {"compiled_vs_step_by_step_b1": 6.0},
        }
    )
    new = _results(
        {
            "lstm": {"train_of_ceiling": 0.45, "custom_vs_builtin": 0.9},
            "cascade": {"compiled_vs_step_by_step_b1": 2.0},
        },
        drift=-0.3,
    )
    ratios = summary.flat_ratios(new)
    new.update(
        targets=summary.targets(ratios),
        baseline="results/old.json",
        regressions=summary.compare(ratios, summary.flat_ratios(old)),
    )
    run.report(new, tmp_path / "new.json")
    out = capsys.readouterr().out
    fell = [line for line in out.splitlines() if line.startswith("[bench]   ")]
    assert fell == [
        "[bench]   cascade.compiled_vs_step_by_step_b1: 6 -> 2 (-67%)",
        "[bench]   lstm.train_of_ceiling: 0.6 -> 0.45 (-25%)",
    ]  # custom_vs_builtin fell 10%: under the threshold, not listed.
    assert "REGRESSIONS" in out and "results/old.json" in out
    assert "WARNING: the ceiling moved -30%" in out  # A busy machine is named.
    assert (
        "target compiled cascade vs Python step by step (batch 1): 2.000 "
        "(goal 3.0) NOT met" in out
    )


def test_report_says_when_nothing_fell_or_nothing_to_compare(capsys, tmp_path):
    results = {
        **_results({"lstm": {"x": 1.0}}),
        "targets": [],
        "regressions": [],
        "baseline": "results/old.json",
    }
    run.report(results, tmp_path / "new.json")
    assert (
        "no ratio fell more than 20% against results/old.json"
        in capsys.readouterr().out
    )
    run.report({**results, "baseline": None}, tmp_path / "new.json")
    assert "no committed results to compare against" in capsys.readouterr().out


def test_baseline_skips_a_run_whose_machine_got_busy():
    steady = (
        "r/2026-01-01-m-quick.json",
        {"quick": True, "machine_slug": "m", "ceiling_drift": 0.05},
    )
    busy = (
        "r/2026-01-02-m-quick.json",
        {"quick": True, "machine_slug": "m", "ceiling_drift": 1.2},
    )
    assert summary.pick_baseline([steady, busy], True, "m") == steady
    assert summary.pick_baseline([busy], True, "m") == busy  # Better than none.
    text = summary.markdown(
        {
            **_results({}, drift=None),
            "date": "2026-01-01",
            "note": "busy",
            "machine": {"cpu": "c", "cores": 2, "onednn": "1"},
            "ceiling": {
                "size": 8,
                "fp32": 1.0,
                "fp32_source": "tf",
                "tf": {"max": 1.0},
                "numpy_unpinned": {"max": 1.0},
                "numpy_pinned": {"max": 1.0},
            },
            "targets": [],
            "baseline": None,
        }
    )
    assert "Note: busy" in text
