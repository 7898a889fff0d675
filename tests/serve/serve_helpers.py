"""Small test pictures made on the fly (nothing downloaded, nothing shipped)."""

import io

from PIL import Image, ImageDraw


def picture(width=96, height=72, fmt="JPEG", seed=0):
    """Encoded bytes of a simple drawn picture."""
    image = Image.new("RGB", (width, height), (40 + seed * 30 % 200, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 4, height // 4, width * 3 // 4, height * 3 // 4),
                 fill=(240, 200, 40))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()
