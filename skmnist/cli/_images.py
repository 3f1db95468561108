"""Image files (PNG, JPEG, ...) to model input, the way MNIST digits were prepared.

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
from pathlib import Path

import numpy as np

from ._common import CLIError

#: Suffixes of the files taken from folders (files named explicitly may have any).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: The digit's box as a fraction of the image side (MNIST: 20 of 28 pixels).
DIGIT_BOX = 20 / 28
_BORDER = 0.05


def is_image_file(path):
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def find_image_files(paths):
    """The image files named in ``paths``: files as given, folders searched recursively.

    Raises
    ------
    CLIError
        If a path does not exist or a folder holds no image file.
    """
    files = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_image_file(p))
            if not found:
                raise CLIError(f"{name}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in "
                               "this folder")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise CLIError(f"{name}: no such file or directory")
    return files


def open_image(path):
    """Read an image file with Pillow (all of it, so a truncated file fails here)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
    except FileNotFoundError:
        raise CLIError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CLIError(f"{path}: is a folder, not an image file") from None
    except UnidentifiedImageError:
        raise CLIError(f"{path}: cannot read the image: not a PNG, JPEG or other image "
                       "format Pillow reads") from None
    except Exception as exc:  # truncated, corrupt, decompression bomb, ...
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise CLIError(f"{path}: cannot read the image: {reason}") from None
    return image


def _to_rgb_or_grey(image):
    """A Pillow image without transparency or exotic modes: ``"L"`` or ``"RGB"``."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
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


def convert_image(image, shape, *, invert=None, layout="auto"):
    """Convert a Pillow image to a ``(c, h, w)`` uint8 array for a model.

    Parameters
    ----------
    image : PIL.Image.Image
        Any size and mode.
    shape : tuple of int
        The model's ``input_shape_``, ``(channels, height, width)``;
        channels must be 1 or 3.
    invert : bool, default=None
        Invert grey levels; None decides from the border (see the module
        docstring); RGB models are never inverted unless asked.
    layout : {"auto", "digit", "whole"}, default="auto"
        See the module docstring; ``"auto"`` is ``"digit"`` for 1 channel and
        ``"whole"`` for 3.

    Returns
    -------
    pixels : ndarray of shape (c, h, w), dtype=uint8
        Light ink on a dark background for 1-channel models.
    inverted : bool
        Whether the grey levels were inverted.
    """
    c, h, w = (int(s) for s in shape)
    if c not in (1, 3) or h < 2 or w < 2:
        raise CLIError(
            f"the model takes input of shape {tuple(shape)}; image files can only be "
            "converted for models of 1-channel (grey) or 3-channel (RGB) images")
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
    elif layout == "whole":
        out = _whole_layout(pixels, (h, w), fill)
    else:
        raise CLIError(f"unknown layout {layout!r}; use auto, digit or whole")
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), bool(invert)


def read_image(path, shape, *, invert=None, layout="auto"):
    """Read an image file and convert it with :func:`convert_image`.

    Returns
    -------
    pixels : ndarray of shape (c, h, w), dtype=uint8
    inverted : bool
    """
    return convert_image(open_image(os.fspath(path)), shape, invert=invert, layout=layout)


def model_input(images, model):
    """uint8 ``(n, c, h, w)`` images in the pixel range the model was trained on.

    Models trained on 0-255 pixels (all CLI-trained ones) get them as they
    are; a model whose training mean is at most 1 was trained on 0-1 floats,
    so it gets ``images / 255``.
    """
    mean = getattr(model, "input_mean_", None)
    if mean is not None and np.size(mean) and float(np.max(np.abs(mean))) <= 1.0:
        return images.astype(np.float32) / 255.0
    return images


def save_image(pixels, path):
    """Write a ``(c, h, w)`` uint8 array as a PNG file (``predict --save-inputs``)."""
    from PIL import Image

    array = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
    Image.fromarray(np.ascontiguousarray(array)).save(path)
