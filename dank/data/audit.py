"""The data audit: how much of a meme source is offensive, where, and to whom.

``run_audit(source, out)`` reads a source folder (``templates.csv`` and
``captions.csv.gz``, as ``dank.data.sources`` reads them), measures every
caption once (``scan``), turns the measurements into numbers (``summarise``)
and writes ``report.md``, ``audit.json`` and PNG plots into ``out`` in one
atomic step. The numbers describe what the filters do: flags come from the same
lexicon and matching as the generation-time filter and the training filter
(``dank.safety.training.caption_categories``). Captions are never quoted;
templates whose names the filter flags are named by category only.

Captions carry no date, so the source stands in for the era (``ERAS``), and for
imgflip posts the post id (base 36, growing with time) orders posts from older
to newer.
"""

import collections
import json
import math
import re
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from dank.data import records, sources
from dank.core.errors import DankError
from dank.core.io import atomic_path
from dank.safety import groups as groups_
from dank.safety.filter import default_filter
from dank.safety.training import SEVERITY, caption_categories

ANY = "any"  # Share key: a caption with at least one flagged category.
KEYS = (ANY, *SEVERITY)
UPVOTES = records.UPVOTES  # The score_type whose score is a raw upvote count.
# Source column -> era, from the provenance in the data README.
ERAS = {
    "LoC-memegenerator (subset via lpanonymous)": "memegenerator.net, about 2012-2015",
    "WangWen2015-NAACL (test.feat)": "memegenerator.net, before 2015",
    "ImgFlip575K": "imgflip, scraped April 2020",
    "kohtaro246/new_meme_dataset_2": "imgflip, scraped early 2022",
    "memegen.link example (config.yml)": "memegen.link examples (curated)",
}
UPVOTE_BUCKETS = ((0, 0), (1, 9), (10, 99), (100, 999), (1000, math.inf))
POST_ID = re.compile(r"imgflip\.com/i/([0-9a-z]+)")
POST_ORDER_BINS = 5  # Post-id quantiles (older to newer imgflip posts).
REPORT_FILE = "report.md"
JSON_FILE = "audit.json"


@dataclass(frozen=True)
class AuditConfig:
    """What the audit reports."""

    top_n: int = 15  # Templates listed per table.
    min_captions: int = 100  # Least captions for a template's own share to be ranked.
    min_scored: int = 10  # Least upvote-scored captions for a template's deciles.


@dataclass(frozen=True)
class Record:
    """What the audit keeps of one caption (never its text)."""

    template_id: str
    source: str
    categories: frozenset  # Flagged lexicon categories.
    upvotes: float  # Raw upvotes, NaN when the source has none.
    sentiment: float  # Compound score of the whole caption, -1..1.
    mentions: frozenset  # (category, group) pairs mentioned.
    post: int  # imgflip post id as a number (larger is newer), -1 when unknown.
    tiebreak: int  # A stable hash of the text, to order equal upvote counts.


def scan(rows, safety=None, groups=None, scorer=None):
    """Measures caption rows (dicts with the captions.csv columns) as ``Record``s."""
    safety = safety or default_filter()
    groups = groups or groups_.default_groups()
    scorer = scorer or groups_.default_scorer()
    records = []
    for row in rows:
        top, bottom = row.get("top") or "", row.get("bottom") or ""
        text = f"{top} {bottom}".strip()
        try:
            upvotes = (
                float(row["score"]) if row.get("score_type") == UPVOTES else math.nan
            )
        except ValueError:
            upvotes = math.nan
        match = POST_ID.search(row.get("source_ref") or "")
        records.append(
            Record(
                template_id=row["template_id"],
                source=row.get("source") or "",
                categories=caption_categories(top, bottom, safety),
                upvotes=upvotes,
                sentiment=scorer(text) if text else 0.0,
                mentions=frozenset((m.category, m.group) for m in groups.find(text)),
                post=int(match.group(1), 36) if match else -1,
                tiebreak=zlib.crc32(text.encode("utf-8")),
            )
        )
    return records


def shares(records):
    """``{"captions": n, "counts": {key: n}, "shares": {key: fraction}}``."""
    counts = dict.fromkeys(KEYS, 0)
    for r in records:
        if r.categories:
            counts[ANY] += 1
        for c in r.categories:
            counts[c] += 1
    n = len(records)
    return {
        "captions": n,
        "counts": counts,
        "shares": {k: (v / n if n else 0.0) for k, v in counts.items()},
    }


def gini(values):
    """The Gini coefficient of ``values`` >= 0 (0: all equal, near 1: one has all)."""
    xs = sorted(values)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return (2 * weighted) / (n * total) - (n + 1) / n


def top_share(values, k=10):
    """The share of the total held by the ``k`` largest ``values``."""
    total = sum(values)
    return sum(sorted(values, reverse=True)[:k]) / total if total else 0.0


def lorenz(values, max_points=101):
    """Points of the Lorenz curve: cumulative share of items vs of the total.

    At most ``max_points`` evenly spaced points (always the first and last), so
    the JSON stays small for thousands of templates.
    """
    xs = sorted(values)
    total, run, points = sum(xs) or 1, 0, [(0.0, 0.0)]
    for i, x in enumerate(xs):
        run += x
        points.append(((i + 1) / len(xs), run / total))
    step = max(1, math.ceil((len(points) - 1) / (max_points - 1)))
    return points[::step] + ([points[-1]] if (len(points) - 1) % step else [])


def _skew(records):
    per = collections.Counter(r.template_id for r in records)
    return {
        "templates": len(per),
        "gini": gini(per.values()),
        "top10_share": top_share(per.values()),
    }


def _eras(records):
    by_source = collections.defaultdict(list)
    for r in records:
        by_source[r.source].append(r)
    return [
        {"source": s, "era": ERAS.get(s, "unknown"), **shares(rs), **_skew(rs)}
        for s, rs in sorted(by_source.items(), key=lambda kv: -len(kv[1]))
    ]


def _post_order(records):
    dated = sorted((r for r in records if r.post >= 0), key=lambda r: r.post)
    out = []
    for b in range(POST_ORDER_BINS if len(dated) >= POST_ORDER_BINS else 0):
        part = dated[
            b * len(dated) // POST_ORDER_BINS : (b + 1) * len(dated) // POST_ORDER_BINS
        ]
        out.append({"bin": b + 1, **shares(part)})
    return out


def upvote_deciles(records, min_scored=10):
    """Flagged shares by upvote decile within each template.

    Captions of each template with at least ``min_scored`` upvote counts are
    ranked by upvotes (equal counts in a fixed pseudo-random order, so the many
    zeros split evenly) and cut into ten equal parts; decile 10 is the most
    upvoted tenth of every template, pooled. Ranking within templates keeps the
    result from measuring which templates are popular.
    """
    per = collections.defaultdict(list)
    for r in records:
        if not math.isnan(r.upvotes):
            per[r.template_id].append(r)
    deciles = [[] for _ in range(10)]
    for rs in per.values():
        if len(rs) < min_scored:
            continue
        rs.sort(key=lambda r: (r.upvotes, r.tiebreak))
        for rank, r in enumerate(rs):
            deciles[rank * 10 // len(rs)].append(r)
    return [{"decile": i + 1, **shares(d)} for i, d in enumerate(deciles)]


def _buckets(records):
    out = []
    for lo, hi in UPVOTE_BUCKETS:
        part = [r for r in records if lo <= r.upvotes <= hi]
        label = str(lo) if lo == hi else (f"{lo}+" if math.isinf(hi) else f"{lo}-{hi}")
        out.append({"upvotes": label, **shares(part)})
    return out


def _templates(records, names, config):
    per = collections.defaultdict(list)
    for r in records:
        per[r.template_id].append(r)
    rows = []
    for tid, rs in per.items():
        s = shares(rs)
        rows.append({"template_id": tid, "name": names.get(tid, tid), **s})
    flagged_total = sum(row["counts"][ANY] for row in rows) or 1
    for row in rows:
        row["share_of_flagged"] = row["counts"][ANY] / flagged_total
    by_count = sorted(rows, key=lambda row: (-row["counts"][ANY], row["template_id"]))
    big = [row for row in rows if row["captions"] >= config.min_captions]
    by_share = sorted(big, key=lambda row: (-row["shares"][ANY], row["template_id"]))
    flagged = [row["counts"][ANY] for row in rows]
    captions = [row["captions"] for row in rows]
    return {
        "templates": len(rows),
        "gini": gini(captions),
        "top10_share": top_share(captions),
        "flagged_gini": gini(flagged),
        "flagged_top10_share": top_share(flagged),
        "most_flagged": by_count[: config.top_n],
        "highest_share": by_share[: config.top_n],
        "lorenz_captions": lorenz(captions),
        "lorenz_flagged": lorenz(flagged),
    }


def _sentiment(records):
    n = len(records)
    mean = sum(r.sentiment for r in records) / n if n else 0.0
    negative = sum(groups_.polarity(r.sentiment) == "negative" for r in records)
    flagged = sum(bool(r.categories) for r in records)
    return {
        "captions": n,
        "mean_sentiment": mean,
        "negative_share": negative / n if n else 0.0,
        "flagged_share": flagged / n if n else 0.0,
    }


def group_mentions(records, groups=None):
    """Per group and per category: how many captions mention it, and their tone."""
    groups = groups or groups_.default_groups()
    total = len(records) or 1
    rows = []
    for category, group in groups.groups:
        part = [r for r in records if (category, group) in r.mentions]
        rows.append(
            {
                "category": category,
                "group": group,
                **_sentiment(part),
                "share": len(part) / total,
            }
        )
    categories = []
    for category in groups_.CATEGORIES:
        part = [r for r in records if any(c == category for c, _ in r.mentions)]
        categories.append(
            {"category": category, **_sentiment(part), "share": len(part) / total}
        )
    return {"baseline": _sentiment(records), "categories": categories, "groups": rows}


def summarise(records, names=None, config=None, groups=None, scorer=None, safety=None):
    """All the audit's numbers, as a JSON-ready dict."""
    config = config or AuditConfig()
    safety = safety or default_filter()
    names = {
        tid: display_name(tid, name, safety) for tid, name in (names or {}).items()
    }
    scored = [r for r in records if not math.isnan(r.upvotes)]
    deciles = upvote_deciles(records, config.min_scored)
    lexicon = collections.Counter(category for category, _ in safety.terms)
    return {
        "config": asdict(config),
        "scorer": groups_.scorer_name(scorer),
        "lexicon_terms": dict(sorted(lexicon.items())),
        "overall": shares(records),
        "eras": _eras(records),
        "post_order": _post_order(records),
        "upvotes": {
            "scored": len(scored),
            "ranked": sum(d["captions"] for d in deciles),
            "deciles": deciles,
            "buckets": _buckets(scored),
        },
        "templates": _templates(records, names, config),
        "groups": group_mentions(records, groups),
    }


def display_name(template_id, name, safety=None):
    """A template's name for the report, withheld when the filter flags it."""
    safety = safety or default_filter()
    flags = {f.category for f in safety.check(name or "")} | {
        f.category for f in safety.check(template_id)
    }
    if flags:
        return f"(name withheld: {', '.join(sorted(flags))})"
    return name or template_id


def load(source):
    """``(records, names)`` for a source folder: its measured captions and names."""
    names = {
        row["template_id"]: row.get("name") or ""
        for row in sources.read_templates(source)
    }
    return scan(sources.read_captions(source)), names


def _check_out(out):
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / REPORT_FILE).is_file())
    ):
        raise DankError(
            f"{out} exists and holds something other than an audit report; refusing "
            "to replace it. Pass a new or empty --out folder."
        )


def run_audit(source, out, config=None):
    """Audits the source folder ``source`` and writes the report folder ``out``.

    ``out`` gets ``report.md``, ``audit.json`` and the PNG plots, all at once: a
    reader sees the old report or the new one. An existing ``out`` is replaced
    only if it holds an earlier report (or nothing).

    Returns:
        The numbers (as in ``audit.json``).
    """
    from dank.safety import plots, report

    out = Path(out)
    _check_out(out)
    records, names = load(source)
    if not records:
        raise DankError(f"{source} has no captions to audit")
    stats = summarise(records, names, config)
    stats["source"] = str(source)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        figures = plots.write_plots(stats, tmp)
        (tmp / REPORT_FILE).write_text(report.render(stats, figures), encoding="utf-8")
        (tmp / JSON_FILE).write_text(
            json.dumps(stats, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return stats
