"""Reading what training recorded in a run (``Run.metrics``): perplexities and
baselines.

Shared by the run checks and ``dank summary`` so both quote the same numbers.
"""

# Preferred baselines to compare the caption model with, best first
# (``dank.models.ngram.BASELINES`` names).
BASELINE_NAMES = ("kn_trigram_template", "kn_trigram", "trigram")


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
