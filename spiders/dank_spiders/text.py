"""Caption text cleaning, shared by the pipelines and the offline mirror (no Scrapy)."""

import html


def unescape(text):
    """Unescapes HTML entities, twice-escaped ones ("&amp;lt;3") too."""
    return html.unescape(html.unescape(text or ""))


def clean_text(text):
    """Unescapes HTML entities (``unescape``) and normalises whitespace."""
    return " ".join(unescape(text).replace("\u00a0", " ").split())


def clean_boxes(boxes):
    """Cleans each box; drops trailing empty boxes after the second."""
    boxes = [clean_text(box) for box in boxes]
    while len(boxes) > 2 and not boxes[-1]:
        boxes.pop()
    return boxes


def caption_key(template_id, boxes):
    """Dedupe key of a caption: its template and its case-folded, space-joined text."""
    return template_id, " ".join(b for b in boxes if b).casefold()
