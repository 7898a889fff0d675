"""Small test pictures made on the fly (nothing downloaded, nothing shipped)."""

import io

from PIL import Image, ImageDraw


def picture(width=96, height=72, fmt="JPEG", seed=0):
    """Encoded bytes of a simple drawn picture.

    ``fmt="MPO"`` gives a phone's multi-picture JPEG: the picture, then a
    plain black second frame that readers must skip.
    """
    image = Image.new("RGB", (width, height), (40 + seed * 30 % 200, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse(
        (width // 4, height // 4, width * 3 // 4, height * 3 // 4), fill=(240, 200, 40)
    )
    buffer = io.BytesIO()
    extra = (
        {"save_all": True, "append_images": [Image.new("RGB", image.size)]}
        if (fmt == "MPO")
        else {}
    )
    image.save(buffer, format=fmt, **extra)
    return buffer.getvalue()
