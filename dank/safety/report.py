"""The audit's Markdown report, rendered from the numbers ``audit.summarise`` gives.

Only categories, counts and shares appear: no caption text, and template names
the filter flags are withheld (``audit.display_name``).
"""

from dank.safety.training import SEVERITY

KEYS = ("any", *SEVERITY)


def _pct(x):
    return f"{100 * x:.2f}%"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _share_cells(s):
    return [f"{s['captions']:,}"] + [_pct(s["shares"][k]) for k in KEYS]


SHARE_HEADER = ["captions", *(f"{k} flagged" for k in KEYS)]


def _flagged(stats, figures):
    o = stats["overall"]
    lexicon = ", ".join(f"{k} {v}" for k, v in stats["lexicon_terms"].items())
    return [
        "## Flagged captions",
        f"Lexicon terms per category: {lexicon} (`dank/safety/lexicon.txt`; the same "
        "matching as the generation-time filter: whole words after lower-casing, "
        "undoing leetspeak and squeezing repeated letters, plus words split across "
        "the top and bottom boxes). Top and bottom text are checked; extra boxes of "
        "multi-panel templates are not. A caption can be in several categories.",
        "",
        _table(["", *SHARE_HEADER], [["all", *_share_cells(o)]]),
        "",
        "Counts: " + ", ".join(f"{k} {o['counts'][k]:,}" for k in KEYS) + ".",
        "",
        "## By source (era)",
        "Captions have no date; the source is the era proxy (see `docs/bias.md`).",
        "",
        _table(
            ["source", "era", *SHARE_HEADER, "templates", "Gini", "top-10 share"],
            [
                [
                    e["source"],
                    e["era"],
                    *_share_cells(e),
                    e["templates"],
                    f"{e['gini']:.2f}",
                    _pct(e["top10_share"]),
                ]
                for e in stats["eras"]
            ],
        ),
        "",
        f"![flagged by source]({figures['eras']})",
        "",
    ] + (
        [
            "imgflip posts ordered by post id (ids grow with time; fifths from oldest "
            "to newest, across both imgflip sources):",
            "",
            _table(
                ["fifth", *SHARE_HEADER],
                [[p["bin"], *_share_cells(p)] for p in stats["post_order"]],
            ),
            "",
        ]
        if stats["post_order"]
        else []
    )


def _upvotes(stats, figures):
    u = stats["upvotes"]
    deciles = u["deciles"]
    top, bottom = deciles[-1], deciles[0]
    return [
        "## Popularity (upvotes)",
        f"{u['scored']:,} captions have imgflip upvotes; {u['ranked']:,} of them "
        "belong "
        f"to templates with at least {stats['config']['min_scored']} such captions and "
        "are ranked within their template (ties in a fixed pseudo-random order) into "
        "ten equal parts. Decile 10 is the most upvoted tenth of every template.",
        "",
        _table(
            ["decile", *SHARE_HEADER],
            [[d["decile"], *_share_cells(d)] for d in deciles],
        ),
        "",
        f"Most upvoted tenth vs least: any flagged {_pct(top['shares']['any'])} vs "
        f"{_pct(bottom['shares']['any'])}.",
        "",
        f"![flagged by upvote decile]({figures['upvotes']})",
        "",
        "By raw upvote count (across templates, so popular templates weigh more):",
        "",
        _table(
            ["upvotes", *SHARE_HEADER],
            [[b["upvotes"], *_share_cells(b)] for b in u["buckets"]],
        ),
        "",
    ]


def _template_rows(rows):
    return [
        [
            r["name"],
            f"`{r['template_id']}`" if not r["name"].startswith("(") else "-",
            *_share_cells(r),
            _pct(r["share_of_flagged"]),
        ]
        for r in rows
    ]


def _templates(stats, figures):
    t = stats["templates"]
    header = ["template", "id", *SHARE_HEADER, "share of all flagged"]
    n = stats["config"]["top_n"]
    return [
        "## Templates carrying the most",
        f"{t['templates']:,} templates have captions. Captions are spread very "
        f"unevenly: Gini {t['gini']:.2f}, the 10 largest templates hold "
        f"{_pct(t['top10_share'])} of all captions. Flagged captions are spread "
        f"similarly: Gini {t['flagged_gini']:.2f}, the 10 templates with the most "
        f"hold {_pct(t['flagged_top10_share'])} of them.",
        "",
        f"![template skew]({figures['skew']})",
        "",
        f"The {n} templates with the most flagged captions:",
        "",
        _table(header, _template_rows(t["most_flagged"])),
        "",
        f"![templates]({figures['templates']})",
        "",
        f"The {n} templates with the highest flagged share (at least "
        f"{stats['config']['min_captions']} captions):",
        "",
        _table(header, _template_rows(t["highest_share"])),
        "",
    ]


def _groups(stats, figures):
    g = stats["groups"]
    b = g["baseline"]

    def cells(r):
        return [
            f"{r['captions']:,}",
            _pct(r["share"]) if "share" in r else "100%",
            f"{r['mean_sentiment']:+.3f}",
            _pct(r["negative_share"]),
            _pct(r["flagged_share"]),
        ]

    header = ["captions", "share of all", "mean sentiment", "negative", "flagged"]
    return [
        "## Group mentions and their sentiment",
        f"Mentions are whole-word matches of the neutral group terms in "
        "`dank/safety/groups.txt` (slurs are counted above, not here). Sentiment is "
        f"the compound score of the whole caption by {stats['scorer']}, -1..1; "
        "'negative' means a score of -0.05 or less. Captions are short, so the whole "
        "caption is the context of a mention.",
        "",
        _table(
            ["category", *header],
            [["(all captions)", *cells(b)]]
            + [[c["category"], *cells(c)] for c in g["categories"]],
        ),
        "",
        _table(
            ["category", "group", *header],
            [
                [r["category"], r["group"], *cells(r)]
                for r in g["groups"]
                if r["captions"]
            ],
        ),
        "",
        f"![group sentiment]({figures['groups']})",
        "",
    ]


def render(stats, figures):
    """The report as Markdown; ``figures`` maps a topic to its PNG file name."""
    o = stats["overall"]
    lines = [
        "# Data audit",
        "",
        f"Source: `{stats.get('source', '?')}`: {o['captions']:,} captions. "
        f"{_pct(o['shares']['any'])} are flagged by the safety lexicon "
        f"(slur {_pct(o['shares']['slur'])}, sexual {_pct(o['shares']['sexual'])}, "
        f"profanity {_pct(o['shares']['profanity'])}). No caption is quoted here; "
        "template names the filter flags are withheld. Written by `dank audit`; "
        "the numbers are also in `audit.json`.",
        "",
    ]
    lines += _flagged(stats, figures)
    lines += _upvotes(stats, figures)
    lines += _templates(stats, figures)
    lines += _groups(stats, figures)
    lines += [
        "## Limits",
        "A word list misses what it does not list (new slurs, misspellings beyond "
        "leetspeak and repeated letters, hateful captions in polite words, images) "
        "and cannot tell quoting from using. Group sentiment is a lexicon score of "
        "the whole caption, not of the attitude to the group. See `docs/bias.md`.",
        "",
    ]
    return "\n".join(lines)
