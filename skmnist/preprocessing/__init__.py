"""Transformers for image data: layout, pixel scaling and resizing.

Images are ``(n_samples, channels, height, width)`` (channels first, as in
torch) or ``(n_samples, height, width)`` for one channel; flat data is
``(n_samples, channels * height * width)`` in C order of
``(channels, height, width)``.
"""

from ._pixels import PixelScaler, PixelStandardizer
from ._resize import ImageResizer
from ._shape import ImageFlattener, ImageReshaper

__all__ = [
    "ImageFlattener",
    "ImageReshaper",
    "ImageResizer",
    "PixelScaler",
    "PixelStandardizer",
]
