"""Reading what training recorded in a run: ``metrics.json`` of each component.

Shared by the run checks and ``dank summary`` so both quote the same numbers.
"""

from pathlib import Path

from dank.core import constants
from dank.core.io import read_json

# Preferred baselines to compare the caption model with, best first
# (``dank.models.ngram.BASELINES`` names).
BASELINE_NAMES = ("kn_trigram_template", "kn_trigram", "trigram")


def component_metrics(run_dir, component):
    """The component's ``metrics.json`` as a dict, or None when absent."""
    path = Path(run_dir) / component / constants.METRICS_FILE
    return read_json(path, f"{component} metrics") if path.is_file() else None


def split_perplexity(metrics, split):
    """Per-token perplexity of ``split`` in language metrics, or None."""
    value = ((metrics or {}).get(split) or {}).get("perplexity")
    return float(value) if isinstance(value, int | float) else None


def baseline_perplexity(metrics, split="test"):
    """``(name, perplexity)`` of the best recorded n-gram baseline, or None.

    Accepts ``metrics["baselines"]`` laid out as ``{name: summary}`` (the
    output of ``dank.models.ngram.evaluate_baselines``) or ``{split: {name:
    summary}}``, and a flat ``metrics["baseline"]`` summary.
    """
    metrics = metrics or {}
    baselines = metrics.get("baselines") or {}
    if split in baselines and isinstance(baselines[split], dict):
        baselines = baselines[split]
    for name in BASELINE_NAMES:
        summary = baselines.get(name)
        if isinstance(summary, dict) and "perplexity" in summary:
            return name, float(summary["perplexity"])
    flat = metrics.get("baseline")
    if isinstance(flat, dict) and "perplexity" in flat:
        return flat.get("name", "baseline"), float(flat["perplexity"])
    return None
