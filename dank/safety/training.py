"""Training-time mitigation: keep flagged captions and blocked templates out.

Two rules, applied to the raw caption rows before a data build cleans them:

* whole templates on the blocklist (``blocklist.txt``: templates built around a
  hate figure or group, or named with a slur) lose every caption;
* captions the safety filter flags (the same lexicon and matching as the
  generation-time filter and the audit) are dropped, or kept with a small loss
  weight in ``"downweight"`` mode.

Both are on by default (``TrainingFilter()``); ``TrainingFilter(enabled=False)``
turns them off for research on the raw data.

Downweighting end to end: the build stores each caption's weight in its record
(``caption/weight``: 1, or ``TrainingFilter.weight`` = 0.1 for a flagged
caption) and says ``"mode": "downweight"`` in ``summary.json``; caption
training on such a build (``is_downweighted``) passes the weights to Keras as
sample weights, multiplied by the upvote weights when those are on too.
"""

import collections
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from dank.safety.filter import default_filter

BLOCKED_TEMPLATE = "blocked_template"  # Count key: captions of a blocked template.
# Lexicon categories from most to least severe; a caption with several is counted
# once, under the first.
SEVERITY = ("slur", "sexual", "profanity")
MODES = ("drop", "downweight")


@dataclass(frozen=True)
class TrainingFilter:
    """How a data build treats flagged captions and blocked templates."""

    enabled: bool = True  # Off only for research on the raw data.
    mode: str = "drop"  # "drop" flagged captions, or "downweight" them.
    weight: float = 0.1  # Loss weight of a flagged caption in "downweight" mode.
    categories: tuple = SEVERITY  # Lexicon categories that count as flagged.
    blocklist: str | None = None  # Template blocklist file; None: the bundled one.

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(
                f"TrainingFilter.mode must be one of {', '.join(MODES)}, "
                f"got {self.mode!r}"
            )
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(
                f"TrainingFilter.weight must be in [0, 1], got {self.weight}"
            )
        unknown = set(self.categories) - set(SEVERITY)
        if unknown:
            raise ValueError(
                f"unknown lexicon categories {sorted(unknown)}; use some of {SEVERITY}"
            )


def load_blocklist(path=None):
    """The template ids listed in ``path`` (default: the bundled ``blocklist.txt``)."""
    if path is None:
        text = (resources.files("dank.safety") / "blocklist.txt").read_text("utf-8")
    else:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            from dank.core.errors import DankError

            raise DankError(
                f"template blocklist {path} cannot be read ({e}); pass a text file "
                "with one template id per line"
            ) from e
    ids = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(i for i in ids if i)


def _ids_of(item):
    """Every source template id that names ``item``."""
    if isinstance(item, str):
        return [item]
    if isinstance(item, dict):  # A templates.csv row.
        return [item["template_id"]]
    # A catalogue Template: merged source ids are kept among its aliases.
    return [item.id, *item.aliases]


def blocked_templates(catalogue_or_ids, blocklist=None):
    """The templates of ``catalogue_or_ids`` that the blocklist excludes.

    Args:
        catalogue_or_ids: a ``Catalogue`` (or any iterable of ``Template``s),
            ``templates.csv`` rows (dicts), or template id strings.
        blocklist: a blocklist file; ``None`` uses the bundled one.

    Returns:
        The set of blocked ids as given: ``Template.id`` for templates (a merged
        template is blocked when any of its source ids is listed), else the id.
    """
    listed = load_blocklist(blocklist)
    blocked = set()
    for item in catalogue_or_ids:
        ids = _ids_of(item)
        if listed.intersection(ids):
            blocked.add(ids[0])
    return blocked


def caption_categories(top, bottom, safety=None):
    """The lexicon categories the safety filter finds in a caption, as a frozenset."""
    safety = safety or default_filter()
    return frozenset(flag.category for flag in safety.check(top or "", bottom or ""))


def worst_category(categories, among=SEVERITY):
    """The most severe of ``categories`` that is also in ``among``, or ``None``."""
    for category in SEVERITY:
        if category in categories and category in among:
            return category
    return None


def filter_captions(rows, config=None, safety=None, blocked=None):
    """Applies the training-time filter to caption rows.

    Args:
        rows: caption dicts with ``template_id``, ``top`` and ``bottom``.
        config: a ``TrainingFilter``; ``None`` is the default (on, drop).
        safety: a ``SafetyFilter``; ``None`` is the bundled lexicon.
        blocked: template ids to exclude; ``None`` reads ``config.blocklist``.

    Returns:
        ``(kept_rows, counts)``: the rows kept, in input order, and a Counter of
        reasons (``"blocked_template"``, or the caption's most severe flagged
        category). In ``"downweight"`` mode flagged rows are kept as copies with
        an added ``"weight"`` (``config.weight``) and still counted; rows without
        a ``"weight"`` key weigh 1.
    """
    config = config or TrainingFilter()
    counts = collections.Counter()
    if not config.enabled:
        return list(rows), counts
    if blocked is None:
        blocked = load_blocklist(config.blocklist)
    kept = []
    for row in rows:
        if row["template_id"] in blocked:
            counts[BLOCKED_TEMPLATE] += 1
            continue
        reason = worst_category(
            caption_categories(row["top"], row["bottom"], safety), config.categories
        )
        if reason is None:
            kept.append(row)
            continue
        counts[reason] += 1
        if config.mode == "downweight":
            kept.append({**row, "weight": config.weight})
    return kept, counts


def safety_summary(config, counts):
    """The ``safety_filter`` entry of a build's ``summary.json``.

    Args:
        config: the build's ``TrainingFilter``.
        counts: ``filter_captions``'s Counter of reasons.

    Returns:
        ``{"enabled", "mode", "weight", "dropped", "downweighted"}``: captions of
        blocked templates are always dropped; flagged captions are dropped, or
        counted under ``downweighted`` (kept at ``weight``) in that mode.
    """
    down = config.mode == "downweight"
    flagged = {k: n for k, n in counts.items() if k != BLOCKED_TEMPLATE}
    dropped = {k: n for k, n in counts.items() if k == BLOCKED_TEMPLATE or not down}
    return {
        "enabled": config.enabled,
        "mode": config.mode,
        "weight": config.weight if down else None,
        "dropped": dropped,
        "downweighted": flagged if down else {},
    }


def is_downweighted(data_dir):
    """True when ``data_dir`` was built in ``"downweight"`` mode (its caption
    records carry loss weights below 1 for flagged captions)."""
    from dank.core.io import read_json

    path = Path(data_dir) / "summary.json"
    if not path.is_file():
        return False
    safety = read_json(path, what="build summary").get("safety_filter") or {}
    return bool(safety.get("enabled")) and safety.get("mode") == "downweight"
