"""``build_dataset``: a source folder -> a data build of TFRecords.

Steps: read templates.csv and every template image (safely, ``open_image``);
merge templates that show the same picture (``dedupe``); clean, deduplicate
and split the captions (``clean``, ``splits``); build the vocabulary from the
training split; write everything into a new folder that ``out`` is switched
to only when complete (``publish``). Malformed CSV rows are skipped and listed
by line number (``sources.RowIssues``); a build with no captions or no
templates left is refused. See ``records`` for the record format and ``card``
for the dataset card.
"""

import collections
import json
import logging
import math
import random
import time
from pathlib import Path

from dank.core import constants
from dank.core.errors import DankError
from dank.core.images import downscale, open_image, to_jpeg
from dank.core.io import write_json
from dank.core.progress import track
from dank.data import (
    card,
    clean,
    dedupe,
    merge_report,
    publish,
    records,
    sources,
    splits,
    text,
)
from dank.data.catalogue import Catalogue, Template, canonical_order, normalize_name
from dank.data.vocab import build_vocabulary

log = logging.getLogger(__name__)

MAX_IMAGE_SIDE = 512  # Template images are stored at most this big, pixels.
JPEG_QUALITY = 90
MIN_COUNT = 3  # Words seen fewer times in training captions are dropped (paper).
MAX_UNKNOWN = 1  # Captions with more unknown words are dropped (paper: 2+ removed).


def _name_keys(row):
    keys = {
        normalize_name(row["name"]),
        normalize_name(row["template_id"].split("-", 1)[-1]),
    }
    keys |= {normalize_name(a) for a in (row.get("alt_names") or "").split(",")}
    keys.discard("")
    return keys


def load_images(source, rows, max_side=MAX_IMAGE_SIDE):
    """Opens every template image listed in ``rows``.

    Returns:
        ``(loaded, skipped)``: ``loaded`` maps template id to ``(row, jpeg bytes,
        Fingerprint)``; ``skipped`` maps template id to why its image was unusable.
    """
    loaded, skipped = {}, {}
    for row in track(rows, "images", unit="hashed"):
        tid, image_file = row["template_id"], (row.get("image_file") or "").strip()
        if not image_file or tid in loaded:
            continue
        try:
            image = downscale(
                open_image(Path(source) / image_file, name=image_file), max_side
            )
        except DankError as e:
            skipped[tid] = str(e)
            log.warning("skipping template %s: %s", tid, e)
            continue
        loaded[tid] = (row, to_jpeg(image, JPEG_QUALITY), dedupe.fingerprint(image))
    return loaded, skipped


def merge_templates(loaded, raw_counts):
    """Groups loaded templates that show the same picture.

    Returns:
        A list of groups, each a list of template ids with the canonical id first.
    """
    return merge_with_report(loaded, raw_counts)[0]


def merge_with_report(loaded, raw_counts):
    """``merge_templates`` and the merge report (``merge_report.make_report``).

    Returns:
        ``(groups, report)``.
    """
    ids = sorted(loaded)
    groups, pairs, near_misses = dedupe.find_groups(
        [loaded[i][2] for i in ids], [_name_keys(loaded[i][0]) for i in ids]
    )
    out = []
    for group in groups:
        members = sorted(
            (ids[i] for i in group), key=lambda t: canonical_order(t, raw_counts[t])
        )
        out.append(members)
    return out, merge_report.make_report(ids, out, pairs, near_misses)


def _template(label, members, loaded, n_captions):
    rows = [loaded[m][0] for m in members]
    aliases = []
    for row in rows:
        names = [row["template_id"], row["name"]] + (row.get("alt_names") or "").split(
            ","
        )
        aliases += [a.strip() for a in names if a.strip()]
    aliases = [a for a in dict.fromkeys(aliases) if a != rows[0]["name"]]
    boxes = None
    for row in rows:
        if (row.get("text_layout_json") or "").strip():
            try:
                boxes = json.loads(row["text_layout_json"])
                break
            except ValueError:
                log.warning("ignoring bad text_layout_json of %s", row["template_id"])
    return Template(
        label=label,
        id=members[0],
        name=rows[0]["name"] or members[0],
        aliases=tuple(aliases),
        image=f"{members[0]}.jpg",
        boxes=boxes,
        n_captions=n_captions,
    )


def _votes(caption):
    """``(upvotes, views)`` for the record: NaN unless the score is upvotes."""
    if caption.score_type != records.UPVOTES:
        return math.nan, math.nan
    return caption.raw_score, caption.views


def _check_out(out):
    out = Path(out)
    if out.is_symlink() and publish.current_build(out) is not None:
        return out  # A build this module published; publish() switches it.
    if out.exists() and (
        not out.is_dir()
        or (any(out.iterdir()) and not (out / constants.CATALOGUE_FILE).is_file())
    ):
        raise DankError(
            f"{out} exists and is not a data build; refusing to replace it. "
            "Pass an empty or new --out folder."
        )
    return out


def _check_not_empty(rows, path, what, issues):
    if not rows:
        n_bad = len(issues.skipped)
        bad = f" ({n_bad} malformed rows skipped)" if n_bad else ""
        raise DankError(
            f"{path} has no {what} rows{bad}; a build needs at least one. "
            "Check the file, or pass another --source."
        )


def _check_kept(captions, source, dropped):
    """Refuses a build whose training split would be empty."""
    if any(c.split == "train" for c in captions):
        return
    reasons = ", ".join(f"{n} {r}" for r, n in dropped.items() if n) or "none"
    raise DankError(
        f"no caption of {source} is left for training (dropped: {reasons}); "
        "check that captions.csv names the template_ids of templates.csv and "
        "that their images load"
    )


def build_dataset(
    source,
    out,
    max_templates=None,
    max_captions_per_template=None,
    seed=0,
    safety=None,
):
    """Builds a dataset from a source folder into ``out`` (replaced atomically).

    Args:
        source: a folder like ``/work/shared/data/memes`` or ``data/starter``.
        out: the build folder; an older build there is replaced only on success.
        max_templates: keep only the templates (after merging) with the most
            captions; ``None`` keeps every template with a usable image.
        max_captions_per_template: cap per template (seeded random sample).
        seed: controls the sample and the splits.
        safety: a ``dank.safety.training.TrainingFilter``; the default drops
            captions the safety lexicon flags and templates on the blocklist
            (``TrainingFilter(enabled=False)`` keeps everything, for research).

    Returns:
        The summary dict also written to ``summary.json``.
    """
    start = time.time()
    out = _check_out(out)
    for name, value in (
        ("max_templates", max_templates),
        ("max_captions_per_template", max_captions_per_template),
    ):
        if value is not None and value < 1:
            raise DankError(
                f"--{name.replace('_', '-')} must be at least 1, got {value}"
            )
    from dank.safety.training import (
        TrainingFilter,
        blocked_templates,
        filter_captions,
        safety_summary,
    )

    safety = TrainingFilter() if safety is None else safety
    templates_csv, captions_csv = sources.check_source(source)
    issues = [sources.RowIssues(str(p)) for p in (templates_csv, captions_csv)]
    rows = sources.read_templates(source, issues[0])
    caption_rows = list(
        track(sources.read_captions(source, issues[1]), "captions", unit="read")
    )
    _check_not_empty(rows, templates_csv, "template", issues[0])
    _check_not_empty(caption_rows, captions_csv, "caption", issues[1])
    safety_counts = {}
    if safety.enabled:
        # Blocked templates lose their image too, so the classifier never learns them.
        blocked = blocked_templates(rows, safety.blocklist)
        rows = [r for r in rows if r["template_id"] not in blocked]
        caption_rows, filtered = filter_captions(
            track(caption_rows, "safety filter", unit="captions"), safety
        )
        safety_counts = dict(filtered)
        log.info("safety filter (%s): %s", safety.mode, safety_counts or "nothing")
    raw_counts = collections.Counter(r["template_id"] for r in caption_rows)
    log.info("read %d templates, %d captions", len(rows), len(caption_rows))
    loaded, skipped = load_images(source, rows)
    if not loaded:
        raise DankError(f"{source}: no template has a usable image; check templates/")
    groups, report = merge_with_report(loaded, raw_counts)
    log.info(
        "%d images -> %d templates after merging (evidence: %s)",
        len(loaded),
        len(groups),
        merge_report.REPORT_MD,
    )
    group_raw = [sum(raw_counts[m] for m in g) for g in groups]
    order = sorted(range(len(groups)), key=lambda i: (-group_raw[i], groups[i][0]))
    if max_templates is not None:
        order = order[:max_templates]
    group_of = {m: gi for gi in order for m in groups[gi]}

    captions, dropped, n_read = clean.clean_captions(
        track(caption_rows, "cleaning", unit="captions"),
        group_of,
        max_captions_per_template,
        seed,
    )
    del caption_rows
    clean.score_captions(captions)
    for c, split in zip(
        captions,
        splits.assign_splits(
            [c.group for c in captions], [c.key for c in captions], seed
        ),
    ):
        c.split = split
    token_lists = {id(c): text.caption_tokens(c.top, c.bottom) for c in captions}
    names = [t for gi in order for t in text.tokenize(loaded[groups[gi][0]][0]["name"])]
    vocab = build_vocabulary(
        (token_lists[id(c)] for c in captions if c.split == "train"),
        MIN_COUNT,
        always=names,
    )
    encoded = {}
    for c in captions:
        ids = vocab.encode(token_lists[id(c)])
        if ids.count(constants.UNK_ID) > MAX_UNKNOWN:
            dropped[clean.UNKNOWN_WORDS] += 1
        else:
            encoded[id(c)] = ids
    captions = [c for c in captions if id(c) in encoded]
    _check_kept(captions, source, {**safety_counts, **dropped})

    kept = collections.Counter(c.group for c in captions)
    order.sort(key=lambda gi: (-kept[gi], groups[gi][0]))
    label_of = {gi: label for label, gi in enumerate(order)}
    catalogue = Catalogue(
        _template(label, groups[gi], loaded, kept[gi]) for label, gi in enumerate(order)
    )
    with publish.publish(out) as tmp:
        (tmp / "templates").mkdir()
        image_records = []
        for t in catalogue:
            jpeg = loaded[t.id][1]
            (tmp / "templates" / t.image).write_bytes(jpeg)
            image_records.append(records.image_example(jpeg, t.id, t.label))
        names_ = records.shard_names(
            constants.IMAGES_PATTERN, len(image_records), records.IMAGES_PER_SHARD
        )
        records.write_shards(tmp, names_, image_records)
        per_split = {}
        for split in constants.SPLITS:
            chosen = [c for c in captions if c.split == split]
            random.Random(f"{seed}-{split}").shuffle(chosen)
            per_split[split] = len(chosen)
            serialized = [
                records.caption_example(
                    label_of[c.group],
                    encoded[id(c)],
                    c.score,
                    c.top,
                    c.bottom,
                    c.weight,
                    *_votes(c),
                )
                for c in track(chosen, f"{split} records", unit="captions")
            ]
            names_ = records.shard_names(
                constants.CAPTIONS_PATTERN,
                len(serialized),
                records.CAPTIONS_PER_SHARD,
                split=split,
            )
            records.write_shards(tmp, names_, serialized)
        catalogue.save(tmp / constants.CATALOGUE_FILE)
        merge_report.write_report(tmp, report)
        vocab.save(tmp / constants.VOCAB_FILE)
        summary = {
            "source": str(source),
            "seed": seed,
            "max_templates": max_templates,
            "max_captions_per_template": max_captions_per_template,
            "template_rows": len(rows),
            "images_loaded": len(loaded),
            "images_skipped": skipped,
            "templates_before_merge": len(loaded),
            "templates_after_merge": len(groups),
            "merged_groups": [g for g in groups if len(g) > 1],
            # Why each group was merged, and the look-alikes kept apart.
            "merge_report": {
                "files": [merge_report.REPORT_JSON, merge_report.REPORT_MD],
                "merged_by_stage": report["merged_by_stage"],
                "near_misses": report["near_misses_total"],
            },
            "templates": len(catalogue),
            "captions_read": n_read,
            "csv_rows": {Path(i.path).name: i.to_json() for i in issues},
            "safety_filter": safety_summary(safety, safety_counts),
            "captions_dropped": {r: dropped.get(r, 0) for r in clean.REASONS},
            "captions_kept": len(captions),
            # Captions whose records carry raw upvotes and views (humour targets).
            "captions_with_votes": sum(
                not any(map(math.isnan, _votes(c))) for c in captions
            ),
            "captions_per_split": per_split,
            "vocab_size": len(vocab),
            "seconds": round(time.time() - start, 1),
        }
        card.write_card(tmp, summary, catalogue, captions, encoded)
        summary["seconds"] = round(time.time() - start, 1)
        write_json(tmp / "summary.json", summary)
    return summary
