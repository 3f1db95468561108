"""Image files (PNG, JPEG, ...) as MNIST-style arrays, the way MNIST digits were made.

MNIST images are light ink (high values) on a dark background (0), and each
digit was cropped, scaled to fit a 20x20 box keeping its aspect ratio and
centred by its centre of mass in a 28x28 image. A digit drawn in a paint
program is usually the opposite: dark ink on white, any size. For a
1-channel model :func:`convert_image` therefore

1. flattens transparency onto a background that contrasts with the ink;
2. converts to grey levels 0-255;
3. inverts the image when its *border* is mostly light (median grey level
   of the outer 5% above 127): a drawing's border is background, so this
   tells dark-on-light from light-on-dark far better than the overall mean,
   which thick strokes can tip either way (``invert`` overrides it);
4. subtracts the background level and stretches the ink to 0-255, so a
   photo of paper (grey, not black, once inverted) looks like MNIST;
5. lays the image out: ``"digit"`` crops to the ink, fits it into a box of
   20/28 of the model's height and width and centres its centre of mass;
   ``"whole"`` fits the whole image keeping its aspect ratio and pads it.

For 3-channel (RGB) models nothing is inverted unless asked and the default
layout is ``"whole"``. The result is uint8, like the training data.
"""

import os
import warnings

import numpy as np

#: The largest image read, in pixels (width x height): 4096 x 4096, far below
#: Pillow's own decompression-bomb warning (89 million). A larger image would
#: take gigabytes to decode and convert; a digit needs a few thousand pixels.
MAX_IMAGE_PIXELS = 4096 * 4096
_FLOAT_MODES = ("F",)
#: Suffixes of the files taken from folders (files named explicitly may have any).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: The digit's box as a fraction of the image side (MNIST: 20 of 28 pixels).
DIGIT_BOX = 20 / 28
_BORDER = 0.05


def is_image_file(path):
    """Whether a :class:`pathlib.Path` names an image file by its suffix (hidden files do not)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _too_large(path, width, height):
    return ValueError(
        f"{path}: the image is {width} x {height} = {width * height:,} pixels, more than "
        f"skmnist reads ({MAX_IMAGE_PIXELS:,}, e.g. 4096 x 4096): decoding it would take "
        "gigabytes of memory. Downscale it first (a digit needs far fewer pixels).")


def _open_image(path):
    """Read an image file with Pillow (all of it, so a truncated file fails here).

    The size in the file's header is checked against :data:`MAX_IMAGE_PIXELS`
    before anything is decoded, and Pillow's own decompression-bomb check
    (a warning at 89 million pixels, an error at twice that) becomes this
    error instead of a warning printed to the terminal.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise _too_large(path, width, height)
                image.load()
                image = ImageOps.exif_transpose(image)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path}: is a folder, not an image file") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: cannot read the image: not a PNG, JPEG or other image "
                         "format Pillow reads") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ValueError(
            f"{path}: the image is larger than skmnist reads ({MAX_IMAGE_PIXELS:,} pixels, "
            "e.g. 4096 x 4096): decoding it would take gigabytes of memory. Downscale it "
            "first.") from None
    except ValueError as exc:
        if str(exc).startswith(f"{path}:"):
            raise
        raise ValueError(f"{path}: cannot read the image: {' '.join(str(exc).split())}") \
            from None
    except Exception as exc:  # truncated, corrupt, ...
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"{path}: cannot read the image: {reason}") from None
    if image.width * image.height > MAX_IMAGE_PIXELS:  # EXIF rotation keeps the count
        raise _too_large(path, image.width, image.height)
    if image.mode in _FLOAT_MODES:
        _check_finite_pixels(image, f"{path}: ")
    return image


def _check_finite_pixels(image, prefix=""):
    """Refuse NaN or infinite values in a float image (mode "F", e.g. a float TIFF)."""
    values = np.asarray(image, dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{prefix}the image holds {int(bad.sum()):,} NaN or infinite pixel values "
            "(a floating-point image); replace them with numbers (e.g. 0) before reading it "
            "as a digit.")


def _to_rgb_or_grey(image):
    """A Pillow image without transparency or exotic modes: ``"L"`` or ``"RGB"``."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        if image.mode in _FLOAT_MODES:
            _check_finite_pixels(image)
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(values.max(), 255.0)
        return Image.fromarray(np.clip(values * 255.0 / top, 0, 255).astype(np.uint8), "L")
    if (image.mode == "P" and "transparency" in image.info) or image.mode in (
            "PA", "LA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        rgba = np.asarray(image, dtype=np.float64)
        alpha = rgba[..., 3:] / 255.0
        if alpha.min() >= 1.0:
            return image.convert("RGB")
        rgb = rgba[..., :3]
        opaque = alpha[..., 0] > 0.5
        # Drawings on a transparent canvas: put them on a background they stand out from.
        ink_is_dark = not opaque.any() or rgb[opaque].mean() < 128
        background = 255.0 if ink_is_dark else 0.0
        flat = rgb * alpha + background * (1.0 - alpha)
        return Image.fromarray(np.rint(flat).astype(np.uint8), "RGB")
    if image.mode in ("L", "RGB"):
        return image
    return image.convert("RGB") if image.mode not in ("1",) else image.convert("L")


def _border(pixels):
    """The outer ``_BORDER`` frame of a 2-D array, flattened."""
    h, w = pixels.shape
    b = max(1, int(round(min(h, w) * _BORDER)))
    return np.concatenate([pixels[:b].ravel(), pixels[-b:].ravel(),
                           pixels[b:-b, :b].ravel(), pixels[b:-b, -b:].ravel()])


def _resize(channels, size):
    """Resize ``(c, H, W)`` float pixels to ``size=(h, w)`` (antialiased Lanczos)."""
    from PIL import Image

    h, w = size
    if channels.shape[1:] == (h, w):
        return channels.copy()
    out = [np.asarray(Image.fromarray(ch.astype(np.float32), "F").resize(
        (w, h), Image.Resampling.LANCZOS)) for ch in channels]
    return np.clip(np.stack(out), 0, 255).astype(np.float64)


def _fit(height, width, box_h, box_w):
    scale = min(box_h / height, box_w / width)
    return (min(box_h, max(1, int(round(height * scale)))),
            min(box_w, max(1, int(round(width * scale)))))


def _paste(canvas, patch, top, left):
    ph, pw = patch.shape[1:]
    canvas[:, top:top + ph, left:left + pw] = patch
    return canvas


def _digit_layout(pixels, ink, size, fill):
    """Crop to the ink, fit into the digit box, centre by centre of mass."""
    h, w = size
    canvas = np.broadcast_to(fill[:, None, None], (len(pixels), h, w)).copy()
    if ink.max() <= 0:
        return canvas  # blank image: nothing to centre
    rows = np.flatnonzero((ink > 0.1 * ink.max()).any(axis=1))
    cols = np.flatnonzero((ink > 0.1 * ink.max()).any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    box = _fit(r1 - r0, c1 - c0, max(1, round(h * DIGIT_BOX)), max(1, round(w * DIGIT_BOX)))
    patch = _resize(pixels[:, r0:r1, c0:c1], box)
    weight = _resize(ink[None, r0:r1, c0:c1], box)[0]
    total = weight.sum()
    if total > 0:
        cy = (weight.sum(axis=1) * np.arange(box[0])).sum() / total
        cx = (weight.sum(axis=0) * np.arange(box[1])).sum() / total
    else:
        cy, cx = (box[0] - 1) / 2, (box[1] - 1) / 2
    top = int(np.clip(round((h - 1) / 2 - cy), 0, h - box[0]))
    left = int(np.clip(round((w - 1) / 2 - cx), 0, w - box[1]))
    return _paste(canvas, patch, top, left)


def _whole_layout(pixels, size, fill):
    """Fit the whole image keeping its aspect ratio; pad with the background."""
    h, w = size
    box = _fit(*pixels.shape[1:], h, w)
    canvas = np.broadcast_to(fill[:, None, None], (len(pixels), h, w)).copy()
    return _paste(canvas, _resize(pixels, box), (h - box[0]) // 2, (w - box[1]) // 2)


def convert_image(image, shape=(1, 28, 28), *, invert=None, layout="auto",
                  return_inverted=False):
    """Convert a Pillow image to a ``(c, h, w)`` uint8 array for a model.

    The steps are those of this module's description: transparency
    flattened, grey levels (or RGB), inverted when drawn dark on light,
    background to 0 and ink stretched to 255, then laid out like an MNIST
    digit (``"digit"``) or fitted whole (``"whole"``).

    Parameters
    ----------
    image : PIL.Image.Image
        Any size and mode.
    shape : tuple of int, default=(1, 28, 28)
        The model's input shape ``(channels, height, width)``, for instance
        a fitted classifier's ``input_shape_``; channels must be 1 or 3.
    invert : bool, default=None
        Invert grey levels; None decides from the border (a mostly light
        border means dark ink on light paper); RGB images are never
        inverted unless asked.
    layout : {"auto", "digit", "whole"}, default="auto"
        ``"digit"`` crops to the drawing, fits it into a box of 20/28 of the
        height and width and centres its centre of mass, as MNIST was made;
        ``"whole"`` fits the whole image keeping its aspect ratio and pads it;
        ``"auto"`` is ``"digit"`` for 1 channel and ``"whole"`` for 3.
    return_inverted : bool, default=False
        Also return whether the grey levels were inverted.

    Returns
    -------
    pixels : ndarray of shape (c, h, w), dtype=uint8
        Light ink on a dark background for 1-channel shapes.
    inverted : bool
        Whether the grey levels were inverted; only with ``return_inverted``.

    See Also
    --------
    read_image : Read an image file and convert it.

    Examples
    --------
    >>> from PIL import Image, ImageDraw
    >>> from skmnist.datasets import convert_image
    >>> drawing = Image.new("L", (60, 90), 255)             # white paper
    >>> ImageDraw.Draw(drawing).line([(30, 10), (30, 80)], fill=0, width=8)  # a black "1"
    >>> pixels, inverted = convert_image(drawing, return_inverted=True)
    >>> pixels.shape, pixels.dtype.name, inverted, int(pixels.max()), int(pixels[0, 0, 0])
    ((1, 28, 28), 'uint8', True, 255, 0)
    """
    c, h, w = (int(s) for s in shape)
    if c not in (1, 3) or h < 2 or w < 2:
        raise ValueError(
            f"the model takes input of shape {tuple(shape)}; image files can only be "
            "converted for models of 1-channel (grey) or 3-channel (RGB) images")
    if layout not in ("auto", "digit", "whole"):
        raise ValueError(f"unknown layout {layout!r}; use auto, digit or whole")
    if layout == "auto":
        layout = "digit" if c == 1 else "whole"
    image = _to_rgb_or_grey(image)
    if c == 1:
        pixels = np.asarray(image.convert("L"), dtype=np.float64)[None]
    else:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64).transpose(2, 0, 1)
    grey = pixels.mean(axis=0)
    if invert is None:
        invert = c == 1 and float(np.median(_border(grey))) > 127.5
    if invert:
        pixels = 255.0 - pixels
        grey = 255.0 - grey
    background = float(np.median(_border(grey)))
    if c == 1 and background < 128:
        # Background to 0, brightest ink to 255, as in MNIST.
        pixels = pixels - background
        top = pixels.max()
        pixels = np.clip(pixels * (255.0 / top), 0, 255) if top > 0 else np.zeros_like(pixels)
        grey = pixels[0]
        background = 0.0
    fill = np.array([np.median(_border(ch)) for ch in pixels])
    if layout == "digit":
        out = _digit_layout(pixels, np.abs(grey - background), (h, w), fill)
    else:
        out = _whole_layout(pixels, (h, w), fill)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return (out, bool(invert)) if return_inverted else out


def read_image(path, shape=(1, 28, 28), *, invert=None, layout="auto", return_inverted=False):
    """Read an image file (PNG, JPEG, ...) as an MNIST-style ``(c, h, w)`` uint8 array.

    Any size and mode: the file is converted with :func:`convert_image`.

    Parameters
    ----------
    path : str or os.PathLike
        The image file.
    shape : tuple of int, default=(1, 28, 28)
        The model's input shape ``(channels, height, width)``.
    invert : bool, default=None
        Invert grey levels; None decides from the image's border.
    layout : {"auto", "digit", "whole"}, default="auto"
        See :func:`convert_image`.
    return_inverted : bool, default=False
        Also return whether the grey levels were inverted.

    Returns
    -------
    pixels : ndarray of shape (c, h, w), dtype=uint8
    inverted : bool
        Only with ``return_inverted``.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not an image Pillow can read, has more than
        ``MAX_IMAGE_PIXELS`` (4096 x 4096) pixels (checked before it is
        decoded), holds NaN or infinite values (a floating-point TIFF), or
        ``shape`` is not that of 1- or 3-channel images. The message names
        the file.

    See Also
    --------
    load_image_folder : Read a folder of images in class subfolders.

    Examples
    --------
    >>> from skmnist.datasets import read_image
    >>> pixels = read_image("my_digit.png")  # doctest: +SKIP
    >>> clf.predict(pixels[None])  # doctest: +SKIP
    """
    return convert_image(_open_image(os.fspath(path)), shape, invert=invert, layout=layout,
                         return_inverted=return_inverted)
