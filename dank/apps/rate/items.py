"""What a rater sees: real and generated captions, mixed blind, in a seeded order.

The real captions come from the run's held-out test split (or a caption CSV).
``n`` of them are drawn with the seed; the first half are shown as they are,
and for each of the other half's templates the run writes a caption, so real
and generated memes share one template distribution and only the text differs.
Both kinds are re-spaced the same way (the build's tokenizer, joined back), so
spacing around punctuation gives nothing away.
"""

import hashlib
import random
from dataclasses import dataclass

from dank.core.errors import DankError

TRUTHS = ("real", "generated")
MAX_SEED = 2**31 - 1  # Decoding seeds are int32.


@dataclass(frozen=True)
class Item:
    """One meme to rate."""

    id: str  # Opaque and stable for a seed: says nothing about ``truth``.
    label: int  # The template's catalogue label.
    template_id: str
    template_name: str
    top: str
    bottom: str
    truth: str  # "real" or "generated"; shown to the rater only at the end.


def check_n(n):
    """DankError unless ``n`` items can hold one real and one generated meme."""
    if n < 2:
        raise DankError(f"-n must be at least 2 (one real, one generated), got {n}")


def item_id(truth, template_id, top, bottom):
    """A 12-hex-digit id from the item's content (the same content, the same id)."""
    key = "\x1f".join((truth, template_id, top, bottom)).encode("utf-8")
    return hashlib.sha256(key).hexdigest()[:12]


def respace(text):
    """``text`` tokenized as the data build does and joined back."""
    from dank.data.text import join_tokens, tokenize

    return join_tokens(tokenize(text))


def make_item(truth, template, top, bottom):
    """An ``Item`` of ``template`` (a catalogue ``Template``) with re-spaced text."""
    top, bottom = respace(top), respace(bottom)
    return Item(
        item_id(truth, template.id, top, bottom),
        template.label,
        template.id,
        template.name,
        top,
        bottom,
        truth,
    )


def choose_items(captions, catalogue, n, seed, generate, usable=None):
    """Picks ``n`` items, about half real and half generated, in a seeded order.

    Args:
        captions: real captions, ``[{"label", "top", "bottom"}]``.
        catalogue: the run's catalogue.
        n: items wanted.
        seed: the same seed (and inputs) gives the same items in the same order.
        generate: ``(template, seed) -> (top, bottom) or None`` (None: no clean
            caption; that template is skipped).
        usable: optional ``template -> bool``; captions of templates it rejects
            (no picture to draw on) are skipped.

    Returns:
        A list of ``Item``, shuffled.
    """
    check_n(n)
    rng = random.Random(seed)
    order = rng.sample(range(len(captions)), len(captions))
    picked, seen, ok = [], set(), {}
    for index in order:
        row = captions[index]
        template = catalogue[row["label"]]
        if template.label not in ok:
            ok[template.label] = usable is None or usable(template)
        item = make_item("real", template, row["top"], row["bottom"])
        if ok[template.label] and (item.top or item.bottom) and item.id not in seen:
            seen.add(item.id)
            picked.append(item)
            if len(picked) == n:
                break
    if len(picked) < 2:
        raise DankError(f"only {len(picked)} usable real captions; need at least 2")
    half = (len(picked) + 1) // 2
    items = picked[:half]
    for k, real in enumerate(picked[half:]):
        template = catalogue[real.label]
        caption = generate(template, (seed * 1000 + k) % MAX_SEED)
        if caption is not None:
            item = make_item("generated", template, *caption)
            if (item.top or item.bottom) and item.id not in seen:
                seen.add(item.id)
                items.append(item)
    rng.shuffle(items)
    return items
