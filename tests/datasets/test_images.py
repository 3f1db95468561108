"""Image files as MNIST-style arrays (skmnist/datasets/_images.py)."""

import numpy as np
import pytest
from PIL import Image

from skmnist.datasets import read_image
from skmnist.datasets import convert_image as _convert
from skmnist.datasets._images import _open_image as open_image

from .._drawing import draw_digit


def convert_image(image, shape, **kwargs):
    """``(pixels, inverted)``, as the tests below read them."""
    return _convert(image, shape, return_inverted=True, **kwargs)


@pytest.mark.parametrize("size", [(50, 37), (37, 50), (300, 200), (28, 28), (9, 13)])
def test_dark_on_light_and_light_on_dark_give_the_same_input(size):
    dark, inverted_dark = convert_image(draw_digit(size, digit="7"), (1, 28, 28))
    light, inverted_light = convert_image(draw_digit(size, digit="7", ink=255, paper=0),
                                          (1, 28, 28))
    assert (inverted_dark, inverted_light) == (True, False)
    assert dark.shape == (1, 28, 28) and dark.dtype == np.uint8
    np.testing.assert_array_equal(dark, light)


def test_digit_layout_is_mnist_like():
    pixels, _ = convert_image(draw_digit((50, 37), digit="7"), (1, 28, 28))
    image = pixels[0].astype(float)
    assert image.max() == 255 and image[0].max() == 0  # ink stretched, background 0
    rows, cols = np.nonzero(image > 25)
    assert np.ptp(rows) + 1 <= 20 and np.ptp(cols) + 1 <= 20  # fits the 20x20 box
    assert max(np.ptp(rows), np.ptp(cols)) + 1 >= 19  # ... and fills it
    cy = (image.sum(axis=1) * np.arange(28)).sum() / image.sum()
    cx = (image.sum(axis=0) * np.arange(28)).sum() / image.sum()
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1  # centred by centre of mass


def test_other_model_sizes_and_whole_layout():
    pixels, _ = convert_image(draw_digit((60, 40)), (1, 16, 12))
    assert pixels.shape == (1, 16, 12)
    whole, _ = convert_image(draw_digit((60, 30)), (1, 28, 28), layout="whole")
    # the whole 60x30 image is fitted (28x14) and padded left and right
    assert whole[0, :, :7].max() == 0 and whole[0, :, -7:].max() == 0


def test_rgb_model_gets_three_channels_not_inverted():
    image = draw_digit((40, 30), ink=(200, 20, 20), paper=(250, 250, 250), mode="RGB")
    pixels, inverted = convert_image(image, (3, 32, 32))
    assert pixels.shape == (3, 32, 32) and not inverted
    assert pixels[:, 0, 0].tolist() == [250, 250, 250]  # padded with the background
    _, inverted = convert_image(image, (3, 32, 32), invert=True)
    assert inverted


def test_invert_override():
    image = draw_digit((30, 30))
    default, _ = convert_image(image, (1, 28, 28))
    forced, inverted = convert_image(image, (1, 28, 28), invert=False)
    assert not inverted
    assert not np.array_equal(default, forced)


def test_transparent_drawing_and_16_bit_and_palette_images():
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))  # black strokes on a transparent canvas
    stroke = draw_digit((40, 40), ink=0, paper=255).point(lambda v: 255 - v)
    rgba.putalpha(stroke)
    pixels, inverted = convert_image(rgba, (1, 28, 28))
    reference, _ = convert_image(draw_digit((40, 40)), (1, 28, 28))
    assert inverted
    np.testing.assert_array_equal(pixels, reference)
    wide = Image.fromarray((np.asarray(draw_digit((40, 40)), dtype=np.uint16) * 257))
    np.testing.assert_array_equal(convert_image(wide, (1, 28, 28))[0], reference)
    np.testing.assert_array_equal(convert_image(draw_digit((40, 40)).convert("P"),
                                                (1, 28, 28))[0], reference)


def test_blank_image_gives_zeros():
    pixels, _ = convert_image(Image.new("L", (20, 20), 255), (1, 28, 28))
    assert pixels.max() == 0


def test_unsupported_model_input_is_an_error():
    with pytest.raises(ValueError, match="1-channel .* or 3-channel"):
        convert_image(draw_digit((20, 20)), (1, 1, 64))
    with pytest.raises(ValueError, match="shape"):
        convert_image(draw_digit((20, 20)), (2, 28, 28))


def test_unreadable_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ValueError, match="bad.png: cannot read the image") as info:
        open_image(bad)
    assert "\n" not in str(info.value)
    truncated = tmp_path / "truncated.png"
    draw_digit((64, 64)).save(tmp_path / "ok.png")
    truncated.write_bytes((tmp_path / "ok.png").read_bytes()[:60])
    with pytest.raises(ValueError, match="truncated.png: cannot read the image"):
        read_image(truncated, (1, 28, 28))
    assert read_image(tmp_path / "ok.png").shape == (1, 28, 28)  # the default MNIST shape
    with pytest.raises(FileNotFoundError, match="no such file"):
        open_image(tmp_path / "missing.png")


