"""Text boxes: where captions go on a meme, in memegen's ``text_layout_json`` terms."""

import dataclasses
import json
import logging
import re

from PIL import ImageColor

log = logging.getLogger(__name__)

STYLES = {
    "upper": str.upper,
    "lower": str.lower,
    "none": lambda text: text,
    # memegen's "default": sentence case for all-lower text, and a capital "I".
    "default": lambda text: re.sub(
        r"\bi\b", "I", text[:1].upper() + text[1:] if text.islower() else text
    ),
    "mock": lambda text: "".join(
        c.upper() if i % 2 else c.lower() for i, c in enumerate(text)
    ),
}


@dataclasses.dataclass(frozen=True)
class TextBox:
    """Where and how one caption is drawn, in memegen's ``text_layout_json`` terms.

    Unknown fields of a layout (memegen's ``font``, ``start``, ``stop``) are ignored.
    """

    anchor_x: float = 0.0  # Left edge of the box, share of image width.
    anchor_y: float = 0.0  # Top edge of the box, share of image height.
    scale_x: float = 1.0  # Box width, share of image width.
    scale_y: float = 0.2  # Box height, share of image height (memegen: 0.2).
    angle: float = 0.0  # Counter-clockwise rotation, degrees (layer pinned at anchor).
    align: str = "center"  # Horizontal alignment of lines: "center" or "left".
    valign: str = "middle"  # Vertical placement in the box: "top", "middle", "bottom".
    style: str = "upper"  # Letter case: one of STYLES.
    color: str = "white"  # Fill colour, any Pillow colour name or "#rrggbb".

    def __post_init__(self):
        if not (self.scale_x > 0 and self.scale_y > 0):
            raise ValueError(f"text box {self} needs positive scale_x and scale_y")
        if self.align not in ("center", "left"):
            raise ValueError(
                f"text box align must be center or left, not {self.align!r}"
            )
        if self.valign not in ("top", "middle", "bottom"):
            raise ValueError(
                f"text box valign must be top/middle/bottom: {self.valign!r}"
            )
        if self.style not in STYLES:
            raise ValueError(
                f"text box style {self.style!r} is not one of {list(STYLES)}"
            )
        ImageColor.getrgb(self.color)  # Raises ValueError naming a bad colour.

    @classmethod
    def from_dict(cls, fields):
        """Builds a box from one entry of a memegen layout, ignoring unknown keys."""
        known = {f.name: f.type for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, value in fields.items():
            if key in known:
                kwargs[key] = float(value) if known[key] is float else str(value)
        if kwargs.get("style", "upper") not in STYLES:
            # memegen draws an unknown style (the catalogue has "thin") unchanged;
            # our captions arrive lower-cased, so the classic upper case reads best.
            log.debug("unknown text style %r; using upper case", kwargs["style"])
            kwargs["style"] = "upper"
        return cls(**kwargs)

    def rect(self, size):
        """Returns the box as ``(left, top, width, height)`` pixels in an image."""
        width, height = size
        return (
            round(self.anchor_x * width),
            round(self.anchor_y * height),
            max(1, round(self.scale_x * width)),
            max(1, round(self.scale_y * height)),
        )


# Classic meme bands: full width, about a quarter of the height, text hugging the edge.
DEFAULT_BOXES = (
    TextBox(anchor_y=0.0, scale_y=0.24, valign="top"),
    TextBox(anchor_y=0.76, scale_y=0.24, valign="bottom"),
)


def parse_layout(layout):
    """Returns text boxes from a template layout.

    Args:
        layout: None or "" (the default top and bottom boxes), memegen's
            ``text_layout_json`` string, or a list of dicts or ``TextBox``.

    Raises:
        ValueError: the layout is not valid JSON, not a list, or has a bad box.
    """
    if layout is None or layout == "" or layout == []:
        return DEFAULT_BOXES
    if isinstance(layout, str):
        try:
            layout = json.loads(layout)
        except ValueError as e:
            raise ValueError(
                f"text layout is not valid JSON ({e}): {layout[:80]!r}"
            ) from e
    if not isinstance(layout, list | tuple):
        raise ValueError(
            f"text layout must be a list of boxes, not {type(layout).__name__}"
        )
    boxes = []
    for i, box in enumerate(layout):
        if isinstance(box, TextBox):
            boxes.append(box)
        elif isinstance(box, dict):
            try:
                boxes.append(TextBox.from_dict(box))
            except (TypeError, ValueError) as e:
                raise ValueError(f"text layout box {i} is invalid: {e}") from e
        else:
            raise ValueError(f"text layout box {i} must be a dict, not {box!r}")
    return tuple(boxes) or DEFAULT_BOXES
