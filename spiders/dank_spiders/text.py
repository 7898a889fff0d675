"""Caption text cleaning, shared by the pipelines and the offline mirror (no Scrapy)."""

import html


def clean_text(text):
    """Unescapes HTML entities (twice-escaped too) and normalises whitespace."""
    text = html.unescape(html.unescape(text or ""))
    return " ".join(text.replace("\u00a0", " ").split())


def clean_boxes(boxes):
    """Cleans each box; drops trailing empty boxes after the second."""
    boxes = [clean_text(box) for box in boxes]
    while len(boxes) > 2 and not boxes[-1]:
        boxes.pop()
    return boxes


def caption_key(template_id, boxes):
    """Dedupe key of a caption: its template and its case-folded, space-joined text."""
    return template_id, " ".join(b for b in boxes if b).casefold()
