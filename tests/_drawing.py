"""Drawn test images, shared by the image-file tests of the library and of the CLI."""

from PIL import Image, ImageDraw


def draw_digit(size, *, digit="1", ink=0, paper=255, mode="L", width=None):
    """A digit-like stroke drawn with Pillow: "1" a vertical bar, "7" a bar and a diagonal."""
    image = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(image)
    w, h = size
    line = width or max(2, min(w, h) // 8)
    if digit == "1":
        draw.line([(w * 0.5, h * 0.15), (w * 0.5, h * 0.85)], fill=ink, width=line)
    elif digit == "7":
        draw.line([(w * 0.25, h * 0.2), (w * 0.75, h * 0.2), (w * 0.4, h * 0.85)], fill=ink,
                  width=line)
    else:
        raise ValueError(digit)
    return image
