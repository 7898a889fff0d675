"""The merge report of a data build: which source ids became one template, and why.

``merge_report.json`` holds every merged group with the evidence of each pair
that joined it (``dedupe.find_groups``: the stage that confirmed it, hash
distances, correlations, colour and block differences, whether the names
matched), and the candidate pairs that were rejected ("near misses", most alike
first) so that a reviewer can check that look-alikes were kept apart.
``merge_report.md`` says the same for people.
"""

import dataclasses

from dank.core.io import write_json, write_text
from dank.data import dedupe

REPORT_JSON = "merge_report.json"
REPORT_MD = "merge_report.md"
VERSION = 2
MAX_NEAR_MISSES = 300  # Near misses kept in the JSON, most alike first.
MD_NEAR_MISSES = 60  # Near misses listed in the Markdown.
MEASURES = (
    "phash_bits",
    "dhash_bits",
    "view_correlation",
    "correlation",
    "block_diff",
    "colour_diff",
    "local_diff",
    "aspect_ratio",
    "inliers",
    "scale_ratio",
    "rotation",
    "cover",
    "overlap",
    "crop",
)


def _pair(record, ids):
    out = {"a": ids[record["i"]], "b": ids[record["j"]], "stage": record["stage"]}
    out["names_match"] = record["names_match"]
    out.update({k: record[k] for k in MEASURES if k in record})
    if "why_not" in record:
        out["why_not"] = record["why_not"]
    return out


def make_report(ids, groups, pairs, near_misses, thresholds=None):
    """The report as a dict.

    Args:
        ids: template id per index of ``dedupe.find_groups``.
        groups: the merged groups as id lists, the chosen (canonical) id first.
        pairs: the confirmed pairs of ``find_groups``.
        near_misses: its rejected candidates.
        thresholds: the bars the merge used (``None``: the defaults).
    """
    thresholds = thresholds or dedupe.Thresholds()
    group_of = {m: g[0] for g in groups for m in g}
    evidence = {}
    for record in pairs:
        evidence.setdefault(group_of[ids[record["i"]]], []).append(_pair(record, ids))
    merged = []
    for group in groups:
        if len(group) < 2:
            continue
        joined = evidence.get(group[0], [])
        merged.append(
            {
                "id": group[0],
                "members": list(group),
                "stages": sorted({p["stage"] for p in joined}),
                "pairs": joined,
            }
        )
    misses = sorted(near_misses, key=lambda r: (-r["correlation"], r["i"], r["j"]))
    return {
        "version": VERSION,
        "thresholds": dataclasses.asdict(thresholds),
        "templates_before": len(ids),
        "templates_after": len(groups),
        "merged_groups": len(merged),
        "merged_by_stage": {
            stage: sum(stage in g["stages"] for g in merged)
            for stage in dedupe.STAGES
        },
        "near_misses_total": len(misses),
        "groups": merged,
        "near_misses": [_pair(r, ids) for r in misses[:MAX_NEAR_MISSES]],
    }


def _evidence(pair):
    parts = [pair["stage"]]
    if "phash_bits" in pair:
        parts.append(f"pHash {pair['phash_bits']} / dHash {pair['dhash_bits']} bits")
    if "inliers" in pair:
        parts.append(
            f"{pair['inliers']} SIFT inliers, size x{pair['scale_ratio']:.2f}, "
            f"cover {pair['cover']:.2f} / {pair['overlap']:.2f}"
        )
    parts.append(f"corr {pair['correlation']:.3f}")
    if "block_diff" in pair:
        parts.append(f"block {pair['block_diff']:.2f}")
    parts.append(f"colour {pair['colour_diff']:.1f} (local {pair['local_diff']:.0f})")
    crop = pair.get("crop")
    if crop:
        box = ", ".join(f"{v:.2f}" for v in crop["box"])
        mirrored = ", mirrored" if crop["mirrored"] else ""
        parts.append(f"crop of {pair[crop['of']]} [{box}]{mirrored}")
    if pair["names_match"]:
        parts.append("names match")
    return "; ".join(parts)


def to_markdown(report):
    """The report for people: counts, every merged group, the closest misses."""
    stages = report["merged_by_stage"]
    lines = [
        "# Merge report",
        "",
        f"{report['templates_before']} template images -> "
        f"{report['templates_after']} templates; {report['merged_groups']} groups "
        f"merged ({stages[dedupe.EXACT]} with a near-exact pair, "
        f"{stages[dedupe.CROPPED]} with a crop / border / mirror pair, "
        f"{stages[dedupe.KEYPOINTS]} with a keypoint-aligned pair).",
        "",
        "The first id of a group is the one kept (most captions, then the site "
        "order of `catalogue.canonical_order`). Evidence per pair: the stage "
        "that confirmed it, hash distances (of 64 bits), SIFT inliers with the "
        "size ratio and the share of each picture in the overlap, grayscale "
        "correlation, "
        "worst-block structure difference (std units), mean and local colour "
        "difference (0..255), the crop that aligned them; matching names only "
        "relax the bars. Thresholds: see `merge_report.json`.",
        "",
        "## Merged groups",
        "",
    ]
    for group in report["groups"]:
        lines.append(f"- **{group['id']}** <- {', '.join(group['members'][1:])}")
        lines += [f"  - {p['a']} = {p['b']}: {_evidence(p)}" for p in group["pairs"]]
    shown = report["near_misses"][:MD_NEAR_MISSES]
    lines += [
        "",
        f"## Near misses ({len(shown)} most alike of "
        f"{report['near_misses_total']} rejected candidates)",
        "",
        "Kept apart; check that these really are different templates.",
        "",
    ]
    lines += [
        f"- {p['a']} / {p['b']}: rejected, {p['why_not']} ({_evidence(p)})"
        for p in shown
    ]
    return "\n".join(lines) + "\n"


def write_report(out, report):
    """Writes ``merge_report.json`` and ``merge_report.md`` into ``out``."""
    write_json(out / REPORT_JSON, report)
    write_text(out / REPORT_MD, to_markdown(report))
