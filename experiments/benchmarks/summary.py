"""The suite's regression guard and its Markdown summary (pure functions).

``run.py`` measures; this module compares a new result against the last
committed one and writes the Markdown page. Every ratio is "higher is better"
(see ``common``), so a regression is simply a ratio that fell by more than
``THRESHOLD`` of its old value.
"""

import json
import subprocess
from pathlib import Path

THRESHOLD = 0.2  # A ratio that fell by more than 20% is reported.

# Issues 10 and 23's targets: (label, ratio keys (the best one counts), at
# least). Fractions are of the fp32 ceiling; the bf16 entries count the same
# useful fp32 FLOPs.
TARGETS = (
    ("caption training, cpu size, of ceiling", ("lstm.train_of_ceiling",), 0.75),
    (
        "caption training, paper size, of ceiling",
        ("lstm_paper.train_of_ceiling", "lstm_paper_bf16.train_of_ceiling"),
        0.75,
    ),
    ("custom LSTM vs keras.layers.LSTM (tokens/s)", ("lstm.custom_vs_builtin",), 0.95),
    (
        "paper's diverse beam-5 decoding, batch 32, of ceiling",
        (
            "decoding_diverse.b32_graph_of_ceiling",
            "decoding_diverse.b32_xla_of_ceiling",
            "decoding_diverse_bf16.b32_graph_of_ceiling",
            "decoding_diverse_bf16.b32_xla_of_ceiling",
        ),
        0.75,
    ),
    (
        "beam-5 decoding, batch 32, of ceiling",
        (
            "decoding.b32_graph_of_ceiling",
            "decoding.b32_xla_of_ceiling",
            "decoding_bf16.b32_graph_of_ceiling",
            "decoding_bf16.b32_xla_of_ceiling",
        ),
        0.75,
    ),
    (
        "compiled cascade vs Python step by step (batch 1)",
        ("cascade.compiled_vs_step_by_step_b1",),
        3.0,
    ),
    (
        "input pipeline vs vision training (images/s)",
        ("vision.pipeline_vs_training",),
        5.0,
    ),
)


def flat_ratios(results):
    """``{"bench.ratio": value}`` over every benchmark that ran."""
    out = {}
    for name, bench in results.get("benchmarks", {}).items():
        for key, value in (bench.get("ratios") or {}).items():
            if isinstance(value, int | float):
                out[f"{name}.{key}"] = float(value)
    return out


def baseline_ratios(results):
    """``flat_ratios`` of a baseline, less its fractions of the ceiling when it
    took them against another ceiling (before issue 23: pinned numpy alone, no
    ``fp32`` in its record), since those fractions are not comparable."""
    ratios = flat_ratios(results)
    if "fp32" in (results.get("ceiling") or {}):
        return ratios
    return {k: v for k, v in ratios.items() if "_of_" not in k.split(".")[-1]}


def compare(new, old, threshold=THRESHOLD):
    """Ratios present in both that fell by more than ``threshold`` (a fraction).

    Args:
        new, old: ``{"bench.ratio": value}`` (``flat_ratios``).

    Returns:
        A list of ``{"ratio", "old", "new", "change"}``, worst first; ``change``
        is new/old - 1 (so -0.25 is a 25% fall).
    """
    fallen = []
    for key in sorted(set(new) & set(old)):
        before, after = old[key], new[key]
        if before > 0 and after < before * (1 - threshold):
            fallen.append(
                {
                    "ratio": key,
                    "old": before,
                    "new": after,
                    "change": round(after / before - 1, 4),
                }
            )
    return sorted(fallen, key=lambda r: r["change"])


def targets(ratios):
    """Issue 10's targets against ``flat_ratios``: label, value, goal, met."""
    rows = []
    for label, keys, goal in TARGETS:
        values = [ratios[k] for k in keys if k in ratios]
        value = max(values) if values else None
        rows.append(
            {
                "target": label,
                "value": value,
                "goal": goal,
                "met": None if value is None else value >= goal,
            }
        )
    return rows


def committed_results(folder, root):
    """``[(path, results)]`` of the results files committed at HEAD in ``folder``.

    Reads the committed content (``git show HEAD:path``), so a file rewritten
    by this run but not yet committed still compares against its old self.
    Empty when ``root`` is not a git checkout.
    """
    folder = Path(folder).resolve()
    try:
        rel = folder.relative_to(Path(root).resolve())
        listed = subprocess.run(
            ["git", "ls-files", "--", f"{rel.as_posix()}/*.json"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (ValueError, OSError, subprocess.CalledProcessError):
        return []
    out = []
    for path in listed:
        shown = subprocess.run(
            ["git", "show", f"HEAD:{path}"], cwd=root, capture_output=True, text=True
        )
        if shown.returncode == 0:
            try:
                out.append((path, json.loads(shown.stdout)))
            except ValueError:
                continue
    return out


def pick_baseline(candidates, quick, machine):
    """The candidate to compare against: same mode, then steady (its ceiling
    moved at most ``THRESHOLD`` during the run: a busy machine's fractions
    would flag false regressions), then same machine, then the newest (file
    names start with the date). None when there are none."""

    def rank(item):
        path, results = item
        return (
            bool(results.get("quick")) == quick,
            abs(results.get("ceiling_drift") or 0) <= THRESHOLD,
            results.get("machine_slug") == machine,
            Path(path).name,
        )

    return max(candidates, key=rank, default=None)


def _num(value, digits=3):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    return str(value)


def _ran(results, names):
    """``{name: benchmark}`` of those in ``names`` that ran and have figures."""
    benchmarks = results.get("benchmarks", {})
    return {
        n: benchmarks[n]
        for n in names
        if n in benchmarks
        and benchmarks[n].get("status", "ok") == "ok"
        and benchmarks[n].get("figures")
    }


def vision_table(results):
    """Markdown rows: ResNet50 images/s (fraction of the ceiling) per size."""
    lines = []
    for bench in _ran(results, ("vision", "vision_paper")).values():
        p, f, r = bench["params"], bench["figures"], bench["ratios"]
        for tag, how in (
            ("no_xla", "graph"),
            ("bf16", "graph, bfloat16 convolutions (training)"),
            ("xla", "XLA"),
        ):
            if f"{tag}_train_images_per_s" not in f:
                continue
            cells = [f"{p['preset']} ({p['image_size']} px)", how]
            for case in ("train", "infer_b1", "infer_b32"):
                if f"{tag}_{case}_images_per_s" not in f:
                    cells.append("-")  # bfloat16 trains only; inference is float32.
                    continue
                rate = f[f"{tag}_{case}_images_per_s"]["median"]
                cells.append(f"{rate:.1f} ({r[f'{tag}_{case}_of_ceiling']:.2f})")
            lines.append("| " + " | ".join(cells) + " |")
    if not lines:
        return []
    batch = ", ".join(
        f"{b['params']['preset']} {b['params']['batch_size']}"
        for b in _ran(results, ("vision", "vision_paper")).values()
    )
    return [
        "| size | compiled as | training | inference, batch 1 | inference, batch 32 |",
        "|---|---|---|---|---|",
        *lines,
        "",
        f"Images/s (fraction of the fp32 matmul ceiling); training batch {batch}.",
    ]


CASCADE_STAGES = (
    "decode_resize",
    "resnet",
    "caption_decode",
    "detokenise",
    "render",
    "generate",
    "end_to_end",
)


def cascade_table(results):
    """Markdown rows: the cascade's stages, p50/p95 at batch 1, pictures/s at 32."""
    ran = _ran(results, ("cascade", "cascade_paper"))
    if not ran:
        return []
    head, rule = ["stage"], ["---"]
    for bench in ran.values():
        p = bench["params"]
        size = f"{p.get('preset', 'cpu')} ({p['image_size']} px)"
        head += [f"{size}: batch 1 p50 (p95) ms", "share", "batch 32 pictures/s"]
        rule += ["---"] * 3
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(rule) + "|"]
    for stage in CASCADE_STAGES:
        cells = [stage]
        for bench in ran.values():
            f = bench["figures"]
            one = f.get(f"{stage}_b1_latency")
            many = f.get(f"{stage}_b32_pictures_per_s")
            share = bench.get("stage_shares_b1", {}).get(stage)
            cells += [
                f"{one['median'] * 1e3:.1f} ({one['p95'] * 1e3:.1f})" if one else "-",
                "-" if share is None else f"{share:.0%}",
                f"{many['median']:.1f}" if many else "-",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def ceiling_lines(c):
    """Markdown bullets for a ``ceiling.measure`` record: the divisor, then each
    matmul behind it, the BLAS kernels, the CPU features and the bf16 ceiling."""

    def best(key):
        return _num(c[key]["max"], 1) if c.get(key) else "-"

    def kernel(key):
        blas = (c.get(key) or {}).get("blas") or {}
        return (
            f" (OpenBLAS kernel {blas['architecture']})"
            if blas.get("architecture")
            else ""
        )

    pins = ", ".join(
        f"`{k}={v}`" for k, v in (c.get("numpy_pinned") or {}).get("env", {}).items()
    )
    features = ", ".join(
        f"{k} {'yes' if v else 'no'}" for k, v in (c.get("cpu_features") or {}).items()
    )
    lines = [
        f"**fp32 ceiling: {_num(c['fp32'], 1)} GFLOP/s** ({c['size']}x{c['size']} "
        f"matmul, best repeat, start of run; from `{c['fp32_source']}`). Every "
        "fraction below is of this ceiling.",
        "",
        f"- TensorFlow fp32: {best('tf')} GFLOP/s",
        f"- numpy fp32 in a subprocess with "
        f"{' and '.join(c['numpy_unpinned'].get('unset', []))} unset for it only: "
        f"{best('numpy_unpinned')} GFLOP/s{kernel('numpy_unpinned')}",
        f"- numpy fp32 as the environment pins OpenBLAS ({pins or 'no pins'}; "
        f"reference only): {best('numpy_pinned')} GFLOP/s{kernel('numpy_pinned')}",
        f"- CPU features: {features or 'unknown'}",
    ]
    if c.get("bf16"):
        lines.append(
            f"- bf16 ceiling (TensorFlow bf16 matmul; recorded, not a "
            f"divisor): {best('bf16')} GFLOP/s"
        )
    return lines


def markdown(results):
    """The Markdown summary of a suite result (``run.py``'s JSON)."""
    m = results["machine"]
    lines = [
        f"# Benchmarks {results['date']} on {results['machine_slug']}"
        f" ({'quick' if results['quick'] else 'full'})",
        "",
        f"CPU {m['cpu']}, {m['cores']} cores; TensorFlow {m.get('tensorflow')}, "
        f"Keras {m.get('keras')}, numpy {m.get('numpy')}; oneDNN "
        f"(TF_ENABLE_ONEDNN_OPTS) {m['onednn']}; XLA auto-jit "
        f"{m.get('xla_auto_jit')} (each benchmark names its jit_compile per case).",
        "",
        *ceiling_lines(results["ceiling"]),
        "",
        f"Suite wall time {_num(results['wall_s'], 1)} s. Each benchmark's "
        "fractions are of the fp32 ceiling measured again just before it (in its "
        "section) when the run recorded one.",
        "",
    ]
    if results.get("note"):
        lines += [f"Note: {results['note']}", ""]
    drift = results.get("ceiling_drift")
    if drift is not None:
        end = _num(results["ceiling_end"]["fp32"])
        warning = (
            " **The machine's load changed during the run: fractions of the "
            "ceiling are unreliable.**"
            if abs(drift) > THRESHOLD
            else ""
        )
        lines += [
            f"fp32 ceiling again at the end: {end} GFLOP/s ({drift:+.0%}); load "
            f"average {results.get('load_average_start')} -> "
            f"{results.get('load_average_end')}.{warning}",
            "",
        ]
    lines += [
        "## Targets (issue 10)",
        "",
        "| target | value | goal | met |",
        "|---|---|---|---|",
    ]
    for row in results["targets"]:
        met = {None: "not measured", True: "yes", False: "**no**"}[row["met"]]
        lines.append(
            f"| {row['target']} | {_num(row['value'])} | {row['goal']} | {met} |"
        )
    lines += ["", "## Regression guard", ""]
    base = results.get("baseline")
    if not base:
        lines.append("No committed results to compare against.")
    elif results["regressions"]:
        lines.append(f"Ratios that fell more than {THRESHOLD:.0%} against `{base}`:")
        lines.append("")
        for r in results["regressions"]:
            lines.append(
                f"- **{r['ratio']}**: {_num(r['old'])} -> {_num(r['new'])} "
                f"({r['change']:+.0%})"
            )
    else:
        lines.append(f"No ratio fell more than {THRESHOLD:.0%} against `{base}`.")
    for title, table in (
        ("Vision speed", vision_table(results)),
        ("Cascade latency", cascade_table(results)),
    ):
        if table:
            lines += ["", f"## {title}", "", *table]
    for name, bench in results["benchmarks"].items():
        lines += ["", f"## {name}", ""]
        status = bench.get("status", "ok")
        if bench.get("skipped"):
            lines.append(f"Skipped: {bench['skipped']}")
            continue
        if status != "ok":
            lines.append(
                f"**{status}** after {_num(bench.get('wall_s'), 1)} s: "
                f"`{(bench.get('error') or '').strip()[-300:]}`"
            )
            continue
        before = bench.get("ceiling_before")
        lines.append(
            f"{_num(bench.get('wall_s'), 1)} s, peak memory "
            f"{_num(bench.get('peak_rss_mib'), 1)} MiB"
            + (
                f", fp32 ceiling just before it: {_num(before['fp32'])} GFLOP/s"
                if before
                else ""
            )
            + ". Params: `"
            f"{json.dumps(bench.get('params', {}), sort_keys=True)}`"
        )
        lines += ["", "| ratio (higher is better) | value |", "|---|---|"]
        for key, value in bench.get("ratios", {}).items():
            lines.append(f"| {key} | {_num(value)} |")
        lines += [
            "",
            "| figure | median | min | max | unit | n |",
            "|---|---|---|---|---|---|",
        ]
        for key, f in bench.get("figures", {}).items():
            extra = f" (p95 {_num(f['p95'])})" if "p95" in f else ""
            lines.append(
                f"| {key} | {_num(f['median'])}{extra} | {_num(f['min'])} | "
                f"{_num(f['max'])} | {f['unit']} | {f['n']} |"
            )
    return "\n".join(lines) + "\n"
