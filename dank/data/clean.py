"""Caption cleaning for a build: map to templates, filter, deduplicate, cap, score.

Every dropped caption is counted under the name of the reason, so the data
card can say how many went where (see ``dank.data.text`` for the text rules).
"""

import collections
import dataclasses
import math

from dank.data import records, splits, text

# Drop reasons, in the order they are tested.
NO_TEMPLATE = "no_template"  # Template unknown, without a usable image, or not kept.
DUPLICATE = (
    "duplicate"  # Same normalised top+bottom as another caption of the template.
)
OVER_CAP = "over_cap"  # Beyond --max-captions-per-template.
UNKNOWN_WORDS = "unknown_words"  # Two or more words outside the vocabulary (paper).
REASONS = (
    NO_TEMPLATE,
    "empty",
    "too_long",
    "non_english",
    DUPLICATE,
    OVER_CAP,
    UNKNOWN_WORDS,
)


@dataclasses.dataclass
class Caption:
    """One caption on its way into the build."""

    group: int  # Index of the merged template group.
    top: str  # Cleaned top text.
    bottom: str  # Cleaned bottom text.
    key: str  # Normalised text for duplicates and splits.
    raw_score: float  # Upvotes (or the source's score); NaN when absent.
    score_type: str  # The source's score_type column.
    views: float  # Views; NaN when absent.
    weight: float = 1.0  # Loss weight (the safety filter's, in "downweight" mode).
    score: float = records.NO_SCORE  # Percentile within the template, set later.
    split: str = ""  # Set later.


def _number(value):
    try:
        x = float(value)
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def clean_captions(rows, group_of, max_per_template=None, seed=0):
    """Turns raw caption rows into ``Caption`` objects, counting what is dropped.

    Args:
        rows: dicts with at least template_id, top, bottom, score, score_type.
        group_of: source template id -> group index, for kept templates only.
        max_per_template: keep at most this many captions per group, chosen by a
            seeded hash (an unbiased sample); ``None`` keeps all.
        seed: the sampling seed.

    Returns:
        ``(captions, dropped, total)``: kept captions in input order, a Counter
        of drop reasons, and the number of rows read.
    """
    dropped = collections.Counter()
    seen = set()
    kept = []
    total = 0
    for row in rows:
        total += 1
        group = group_of.get(row["template_id"])
        if group is None:
            dropped[NO_TEMPLATE] += 1
            continue
        top, bottom, reason = text.check_caption(row["top"], row["bottom"])
        if reason:
            dropped[reason] += 1
            continue
        key = text.caption_key(top, bottom)
        if (group, key) in seen:
            dropped[DUPLICATE] += 1
            continue
        seen.add((group, key))
        kept.append(
            Caption(
                group,
                top,
                bottom,
                key,
                _number(row["score"]),
                row.get("score_type") or "",
                _number(row.get("views")),
                row.get("weight", 1.0),
            )
        )
    if max_per_template is not None:
        by_group = collections.defaultdict(list)
        for i, c in enumerate(kept):
            by_group[c.group].append(i)
        keep = set()
        for members in by_group.values():
            members.sort(key=lambda i: splits.hash01(kept[i].key, seed))
            keep.update(members[:max_per_template])
        dropped[OVER_CAP] += len(kept) - len(keep)
        kept = [c for i, c in enumerate(kept) if i in keep]
    return kept, dropped, total


def score_captions(captions):
    """Sets ``score`` to the percentile of the raw score within (template, score type).

    Captions without a score keep ``records.NO_SCORE``. Views are ignored: a
    percentile of upvotes within one template is already comparable across
    templates, and the views column is missing for most non-imgflip sources.
    """
    by_key = collections.defaultdict(list)
    for i, c in enumerate(captions):
        if c.score_type and not math.isnan(c.raw_score):
            by_key[(c.group, c.score_type)].append(i)
    for members in by_key.values():
        for i, p in zip(
            members, splits.percentiles([captions[i].raw_score for i in members])
        ):
            captions[i].score = float(p)
