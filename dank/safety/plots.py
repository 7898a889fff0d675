"""The audit's PNG plots, drawn with matplotlib's Agg backend from the numbers.

Each function takes the dict ``dank.data.audit.summarise`` returns and a
folder, writes one small PNG and returns its file name.
"""

import textwrap

import matplotlib

matplotlib.use("Agg")  # No display on servers and CI.
import matplotlib.pyplot as plt  # noqa: E402

from dank.safety.training import SEVERITY  # noqa: E402

DPI = 80  # Small files: the report is committed.
COLOURS = {
    "any": "#444444",
    "slur": "#c0392b",
    "sexual": "#8e44ad",
    "profanity": "#e67e22",
}


def _save(fig, folder, name):
    fig.tight_layout()
    fig.savefig(folder / name, dpi=DPI)
    plt.close(fig)
    return name


def plot_eras(stats, folder):
    """Flagged share per category, overall and per source (era)."""
    rows = [("all", stats["overall"])] + [
        (f"{textwrap.fill(e['era'], 18)}\n(n={e['captions']:,})", e)
        for e in stats["eras"]
    ]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / 4
    for k, key in enumerate(("any", *SEVERITY)):
        ax.bar(
            [i + k * width for i in range(len(rows))],
            [100 * r["shares"][key] for _, r in rows],
            width,
            label=key,
            color=COLOURS[key],
        )
    ax.set_xticks([i + 1.5 * width for i in range(len(rows))])
    ax.set_xticklabels([label for label, _ in rows], fontsize=7)
    ax.set_ylabel("% of captions flagged")
    ax.legend(fontsize=7)
    ax.set_title("Flagged captions by category and source")
    return _save(fig, folder, "flagged_by_source.png")


def plot_upvotes(stats, folder):
    """Flagged share by upvote decile within templates."""
    deciles = stats["upvotes"]["deciles"]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for key in ("any", *SEVERITY):
        ax.plot(
            [d["decile"] for d in deciles],
            [100 * d["shares"][key] for d in deciles],
            marker="o",
            label=key,
            color=COLOURS[key],
        )
    ax.set_xlabel("upvote decile within template (10 = most upvoted)")
    ax.set_ylabel("% flagged")
    ax.set_xticks(range(1, 11))
    ax.legend(fontsize=7)
    ax.set_title("Does popularity change the flagged share?")
    return _save(fig, folder, "flagged_by_upvotes.png")


def plot_templates(stats, folder):
    """The templates carrying the most flagged captions, stacked by category."""
    rows = stats["templates"]["most_flagged"][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(rows) + 1.2))
    left = [0] * len(rows)
    for key in SEVERITY:
        values = [r["counts"][key] for r in rows]
        ax.barh(range(len(rows)), values, left=left, label=key, color=COLOURS[key])
        left = [a + b for a, b in zip(left, values)]
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r["name"][:40] for r in rows], fontsize=7)
    ax.set_xlabel("flagged captions (a caption with two categories counts twice)")
    ax.legend(fontsize=7)
    ax.set_title("Templates carrying the most flagged captions")
    return _save(fig, folder, "flagged_templates.png")


def plot_skew(stats, folder):
    """Lorenz curves: captions and flagged captions across templates."""
    t = stats["templates"]
    fig, ax = plt.subplots(figsize=(4.2, 4))
    for key, label, colour in (
        ("lorenz_captions", "captions", "#2c3e50"),
        ("lorenz_flagged", "flagged captions", "#c0392b"),
    ):
        xs, ys = zip(*t[key])
        ax.plot(xs, ys, label=label, color=colour)
    ax.plot([0, 1], [0, 1], ":", color="grey", label="equal")
    ax.set_xlabel("share of templates (fewest first)")
    ax.set_ylabel("cumulative share")
    ax.legend(fontsize=7)
    ax.set_title(f"Skew across templates (Gini {t['gini']:.2f})")
    return _save(fig, folder, "template_skew.png")


def plot_groups(stats, folder):
    """Mean sentiment of captions mentioning each group, against all captions."""
    rows = [g for g in stats["groups"]["groups"] if g["captions"]][::-1]
    base = stats["groups"]["baseline"]["mean_sentiment"]
    fig, ax = plt.subplots(figsize=(6, 0.22 * len(rows) + 1.2))
    ax.barh(range(len(rows)), [g["mean_sentiment"] for g in rows], color="#34495e")
    ax.axvline(
        base, color="#c0392b", linestyle="--", label=f"all captions ({base:+.2f})"
    )
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(
        [f"{g['category']}: {g['group']} (n={g['captions']:,})" for g in rows],
        fontsize=6,
    )
    ax.set_xlabel("mean sentiment (compound, -1..1)")
    ax.legend(fontsize=7)
    ax.set_title("Sentiment of captions mentioning a group")
    return _save(fig, folder, "group_sentiment.png")


def write_plots(stats, folder):
    """Writes every plot into ``folder``; returns ``{topic: file name}``."""
    return {
        "eras": plot_eras(stats, folder),
        "upvotes": plot_upvotes(stats, folder),
        "templates": plot_templates(stats, folder),
        "skew": plot_skew(stats, folder),
        "groups": plot_groups(stats, folder),
    }
