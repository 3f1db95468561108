"""Image files as MNIST-style arrays (skmnist/datasets/_images.py)."""

import os
import sys

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




# --------------------------------------------------------------------------
# Hostile images (issue 12, item 11)
# --------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="Linux's VmHWM")
def test_an_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    import subprocess
    import textwrap

    # 12000 x 12000 is over Pillow's warning (89 million pixels), under its error.
    path = tmp_path / "huge.png"
    Image.new("L", (12000, 12000)).save(path)
    # The peak RSS of the probe's own process (VmHWM; ru_maxrss would include
    # the RSS of the pytest process it was forked from).
    probe = textwrap.dedent("""
        import sys, warnings
        import PIL.Image, PIL.PngImagePlugin
        from skmnist.datasets import read_image

        def peak():
            with open("/proc/self/status") as status:
                line = next(line for line in status if line.startswith("VmHWM:"))
            return int(line.split()[1]) * 1024

        warnings.simplefilter("default")
        before = peak()
        try:
            read_image(sys.argv[1])
            message = "read"
        except ValueError as exc:
            message = str(exc)
        print(peak() - before)
        print(message)
    """)
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True,
                          text=True, timeout=120, check=True)
    grown, message = done.stdout.strip().split("\n", 1)
    assert int(grown) < 32 * 2**20  # decoding it took 4.2 GB
    assert done.stderr == ""  # no raw DecompressionBombWarning printed
    assert message.startswith(f"{path}: the image is larger than skmnist reads")
    assert "Downscale it" in message


def test_the_library_limit_is_well_below_pillows(tmp_path):
    from PIL import Image as PILImage

    from skmnist.datasets._images import MAX_IMAGE_PIXELS

    assert MAX_IMAGE_PIXELS <= PILImage.MAX_IMAGE_PIXELS // 4
    path = tmp_path / "wide.png"
    Image.new("L", (MAX_IMAGE_PIXELS // 1000 + 1, 1000)).save(path)  # just over the limit
    with pytest.raises(ValueError, match=r"wide.png: the image is 16778 x 1000 = 16,778,000 pix"):
        read_image(path)
    ok = tmp_path / "ok.png"
    draw_digit((4096, 4096)).save(ok)
    assert read_image(ok).shape == (1, 28, 28)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_in_a_float_tiff_is_a_clear_error(tmp_path, bad):
    values = np.zeros((30, 30), dtype=np.float32)
    values[10:20, 14:16] = 200.0
    values[3, 4] = bad
    path = tmp_path / "float.tif"
    Image.fromarray(values, "F").save(path)
    with pytest.raises(ValueError, match=r"float.tif: the image holds 1 NaN or infinite"):
        read_image(path)
    with pytest.raises(ValueError, match="the image holds 1 NaN or infinite"):
        _convert(Image.fromarray(values, "F"))
    values[3, 4] = 0.0
    Image.fromarray(values, "F").save(path)
    assert read_image(path).max() == 255  # a finite float TIFF reads as before
