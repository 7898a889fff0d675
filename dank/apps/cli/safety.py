"""``dank audit``: measure bias and offensive content in a meme source folder."""

import logging

log = logging.getLogger(__name__)


def register(commands):
    """Adds the top-level ``audit`` command."""
    p = commands.root.add_parser(
        "audit",
        help="audit a data source for offensive content and bias",
        description="Measure flagged captions (slurs, profanity, sexual content) "
        "overall, per template, by source and by upvotes; group mentions and their "
        "sentiment; and the skew across templates. Writes report.md, audit.json "
        "and PNG plots into --out, atomically. Captions are never quoted.",
    )
    p.add_argument(
        "--data",
        required=True,
        metavar="DIR",
        help="source folder with templates.csv and captions.csv.gz (e.g. data/starter)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="report folder (new, empty, or an earlier report)",
    )
    p.add_argument(
        "--top-n", type=int, default=15, help="templates listed per table (default 15)"
    )
    p.set_defaults(func=_audit)


def _audit(args):
    from dank.core.errors import DankError
    from dank.data.audit import AuditConfig, run_audit

    if args.top_n < 1:
        raise DankError(f"--top-n must be at least 1, got {args.top_n}")
    stats = run_audit(args.data, args.out, AuditConfig(top_n=args.top_n))
    o = stats["overall"]
    print(
        f"audited {o['captions']:,} captions: {100 * o['shares']['any']:.2f}% flagged "
        f"(slur {o['counts']['slur']:,}, sexual {o['counts']['sexual']:,}, "
        f"profanity {o['counts']['profanity']:,}); report in {args.out}/report.md"
    )
    return 0
