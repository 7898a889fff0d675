"""``dank scrape {imgflip,memegenerator} --base-url URL --out DIR``."""

import json

from dank.apps.scrape.crawl import REAL_SITES, SPIDERS


def register(commands):
    """Adds the top-level ``scrape`` command."""
    parser = commands.root.add_parser(
        "scrape",
        help="crawl meme templates and upvoted captions (Scrapy)",
        description="Crawl templates and their most upvoted captions into a crawl "
        "directory that `dank data build --source DIR` reads. Polite by default "
        "(robots.txt, AutoThrottle, delays, retries with backoff).",
    )
    parser.add_argument("spider", choices=SPIDERS, help="which site's markup to follow")
    parser.add_argument(
        "--base-url", help=f"site root (default: {', '.join(REAL_SITES.values())})"
    )
    parser.add_argument("--out", required=True, help="crawl directory to write")
    parser.add_argument(
        "--max-templates", type=int, default=0, help="templates to take (0 = all)"
    )
    parser.add_argument(
        "--max-pages",
        type=int,
        default=0,
        help="caption pages per template (0 = spider default; memegenerator: 13)",
    )
    parser.add_argument(
        "--jobdir", help="Scrapy JOBDIR: pass the same one to resume a crawl"
    )
    parser.add_argument(
        "--tfrecords-from",
        metavar="DATA_DIR",
        help="also write TFRecords with this data build's catalogue and vocabulary",
    )
    parser.add_argument(
        "--http-cache", action="store_true", help="cache responses (development)"
    )
    parser.add_argument(
        "--no-throttle",
        action="store_true",
        help="no delays or AutoThrottle (only allowed for a 127.0.0.1 mirror)",
    )
    parser.add_argument(
        "-s",
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a Scrapy setting (repeatable)",
    )
    parser.set_defaults(func=scrape)


def parse_overrides(pairs):
    """["NAME=VALUE", ...] -> {NAME: VALUE}."""
    from dank.core.errors import DankError

    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise DankError(
                f"-s {pair!r}: expected NAME=VALUE, e.g. -s CLOSESPIDER_ITEMCOUNT=100"
            )
        out[name] = value
    return out


def scrape(args):
    """Runs the crawl and prints its report."""
    from dank.apps.scrape.crawl import run_crawl

    report = run_crawl(
        args.spider,
        args.out,
        base_url=args.base_url,
        max_templates=args.max_templates,
        max_pages=args.max_pages,
        throttle=not args.no_throttle,
        jobdir=args.jobdir,
        tfrecord_data=args.tfrecords_from,
        http_cache=args.http_cache,
        extra=parse_overrides(args.set),
    )
    print(json.dumps(report, indent=2))
    print(
        f"crawl directory: {args.out} "
        f"(next: dank data build --source {args.out} --out DIR)"
    )
    return 0
