"""The dataset card (``card.md``) and its two plots, written with every build."""

import collections
import math

import numpy as np

from dank.core import constants

LENGTH_PLOT = "caption_lengths.png"
UPVOTE_PLOT = "upvotes.png"


def _plots(out, lengths, upvotes):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    if lengths:
        ax.hist(lengths, bins=range(0, max(lengths) + 2), color="#4477aa")
    ax.set(
        xlabel="tokens per caption (with <s> <sep> </s>)",
        ylabel="captions",
        title="Caption lengths",
    )
    fig.tight_layout()
    fig.savefig(out / LENGTH_PLOT, dpi=80)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if upvotes:
        ax.hist(np.log10(np.asarray(upvotes) + 1), bins=40, color="#cc6677")
    ax.set(xlabel="log10(upvotes + 1)", ylabel="captions", title="Upvotes (imgflip)")
    fig.tight_layout()
    fig.savefig(out / UPVOTE_PLOT, dpi=80)
    plt.close(fig)


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def write_card(out, summary, catalogue, captions, encoded):
    """Writes ``card.md`` and the plots into the build folder ``out``.

    Args:
        out: the (temporary) build folder.
        summary: the build summary dict.
        catalogue: the build's ``Catalogue``.
        captions: the kept ``clean.Caption`` objects.
        encoded: ``id(caption)`` -> token ids.
    """
    lengths = [len(encoded[id(c)]) for c in captions]
    upvotes = [
        c.raw_score
        for c in captions
        if c.score_type == "imgflip_upvotes" and not math.isnan(c.raw_score)
    ]
    _plots(out, lengths, upvotes)
    hist = collections.Counter(min(n, 30) for n in lengths)
    q = np.percentile(upvotes, [50, 90, 99]).tolist() if upvotes else [0, 0, 0]
    top = sorted(catalogue, key=lambda t: -t.n_captions)[:15]
    merges = sorted(summary["merged_groups"], key=lambda g: (-len(g), g[0]))[:12]
    dropped = summary["captions_dropped"]
    parts = [
        "# Dataset card",
        "",
        f"Built from `{summary['source']}` with seed {summary['seed']}, "
        f"max templates {summary['max_templates']}, max captions per template "
        f"{summary['max_captions_per_template']}.",
        "",
        "## Counts",
        "",
        _table(
            ["what", "count"],
            [
                ["template rows in templates.csv", summary["template_rows"]],
                ["templates with a usable image", summary["images_loaded"]],
                ["images skipped (missing/corrupt)", len(summary["images_skipped"])],
                [
                    "templates after merging duplicates",
                    summary["templates_after_merge"],
                ],
                ["groups merged from 2+ source ids", len(summary["merged_groups"])],
                ["templates in this build", summary["templates"]],
                ["captions read", summary["captions_read"]],
                ["captions kept", summary["captions_kept"]],
                *[
                    [f"captions in {s}", n]
                    for s, n in summary["captions_per_split"].items()
                ],
                ["vocabulary (with 6 special tokens)", summary["vocab_size"]],
            ],
        ),
        "",
        "## Cleaning: captions dropped per reason",
        "",
        "Rules are documented in `dank/data/text.py` and `dank/data/clean.py`.",
        "",
        _table(["reason", "dropped"], [[r, n] for r, n in dropped.items()]),
        "",
        "## Caption length (tokens, specials included)",
        "",
        f"![caption lengths]({LENGTH_PLOT})",
        "",
        _table(
            ["tokens", "captions"],
            [[f"{n}{'+' if n == 30 else ''}", hist[n]] for n in sorted(hist)],
        ),
        "",
        "## Upvotes",
        "",
        f"![upvotes]({UPVOTE_PLOT})",
        "",
        f"{len(upvotes)} kept captions carry imgflip upvotes: median {q[0]:.0f}, "
        f"90th percentile {q[1]:.0f}, 99th percentile {q[2]:.0f}. The caption score "
        "in the records is the mid-rank upvote percentile within the template "
        "(0..1); captions without votes get -1.",
        "",
        "## Top templates",
        "",
        _table(
            ["label", "id", "name", "captions"],
            [[t.label, t.id, t.name, t.n_captions] for t in top],
        ),
        "",
        "## Merge examples",
        "",
        "Source ids judged to show the same picture (perceptual hash + thumbnail "
        "correlation, then crops / borders / mirror images, `dank/data/dedupe.py`); "
        "the first id is the canonical one. `merge_report.md` lists every group "
        "with its evidence and the look-alikes kept apart.",
        "",
        *[f"- {', '.join(g)}" for g in merges],
        "",
        "## Licence",
        "",
        "Template images and caption text belong to third parties (see the source "
        "folder's README and licences). Research use only.",
        "",
    ]
    (out / constants.CARD_FILE).write_text("\n".join(parts), encoding="utf-8")
