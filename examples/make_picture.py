"""Draw examples/digit3.png: a handwritten-looking "3", white on black, 28×28 greyscale (the
MNIST layout), made with Pillow's drawing primitives alone (no font, no downloaded data).

The digit is drawn at 4× (112×112) with two thick arcs, then shrunk with a box filter so its
edges are soft grey, as a scanned digit's are. Run ``python examples/make_picture.py`` to
rebuild it; the result is the same bytes every time.
"""

from pathlib import Path

from PIL import Image, ImageDraw

SCALE = 4
SIZE = 28


def draw_three() -> Image.Image:
    big = Image.new("L", (SIZE * SCALE, SIZE * SCALE), 0)
    pen = ImageDraw.Draw(big)
    width = 3 * SCALE
    # the upper bowl, open on the left; the lower bowl, bigger, open on the left
    pen.arc((8 * SCALE, 3 * SCALE, 20 * SCALE, 14 * SCALE), start=-160, end=90, fill=255,
            width=width)  # fmt: skip
    pen.arc((7 * SCALE, 12 * SCALE, 21 * SCALE, 25 * SCALE), start=-90, end=150, fill=255,
            width=width)  # fmt: skip
    return big.resize((SIZE, SIZE), Image.Resampling.BOX)


if __name__ == "__main__":
    out = Path(__file__).with_name("digit3.png")
    draw_three().save(out, optimize=False)
    print(f"wrote {out}")
