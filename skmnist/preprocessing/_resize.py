"""Image resizing, vectorised with torch (no per-image PIL round trip)."""

import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from .._doclinks import DocLinkMixin
from .._shapes import (
    as_chw,
    check_image_shape,
    fit_image_shape,
    resolve_image_shape,
    validate_pixels,
)
from .._validation import check_bool, check_int
from ._common import _check_dense_output, _check_saved_shape, _pixel_feature_names

# Images resized per torch call: at most this many, and at most _CHUNK_VALUES
# float32 values (64 MiB) per input or output chunk, which bounds the working memory.
_BATCH_SIZE = 1024
_CHUNK_VALUES = 2**24
#: The most values one output image may have (3 x 4096 x 4096 fits): 256 MiB of float32.
MAX_OUTPUT_VALUES = 2**26


def _check_size(size):
    """Validate ``size``: a positive int or a pair of them; return (h, w)."""
    message = (
        f"size must be a positive integer or a pair (height, width) of positive "
        f"integers, got {size!r}."
    )
    if isinstance(size, (str, bytes)):
        raise ValueError(message)
    try:
        dims = (size, size) if not hasattr(size, "__iter__") else tuple(size)
        if len(dims) != 2:
            raise ValueError(message)
        dims = tuple(check_int(d, "size", low=1) for d in dims)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if dims[0] * dims[1] > MAX_OUTPUT_VALUES:
        raise ValueError(
            f"size={size!r} asks for images of {dims[0]:,} x {dims[1]:,} pixels, more than "
            f"ImageResizer makes ({MAX_OUTPUT_VALUES:,} values per image, e.g. 3 x 4096 x "
            "4096). Choose a smaller size."
        )
    return dims


def _check_output_values(n_channels, size):
    if n_channels * size[0] * size[1] > MAX_OUTPUT_VALUES:
        raise ValueError(
            f"size={size!r} makes images of {n_channels} x {size[0]:,} x {size[1]:,} values, "
            f"more than ImageResizer makes ({MAX_OUTPUT_VALUES:,} values per image, e.g. 3 x "
            "4096 x 4096). Choose a smaller size."
        )


def _physical_memory():
    """Bytes of RAM of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _check_output_size(n_samples, shape):
    """Refuse an output larger than this machine's memory, before allocating it."""
    n_bytes = n_samples * math.prod(shape) * 4
    memory = _physical_memory()
    if memory is not None and n_bytes > memory:
        raise ValueError(
            f"Resizing X's {n_samples:,} images to {shape} would need {n_bytes / 2**30:,.1f} "
            f"GiB of float32 output, more than this machine's {memory / 2**30:,.1f} GiB of "
            "memory. Transform fewer images at a time, or choose a smaller size."
        )


def _check_float32(values):
    """Finite input cast to float32 (which resizing computes in) must stay finite."""
    if not np.isfinite(values).all():
        raise ValueError(
            "X has values beyond the largest float32 value (about 3.4e38), in which "
            "ImageResizer computes: they cannot be represented. Rescale X first (e.g. with "
            "PixelScaler)."
        )


def _interpolate(chunk, size, antialias):
    return F.interpolate(torch.from_numpy(chunk), size=size, mode="bilinear",
                         align_corners=False, antialias=antialias).numpy()


def _resize_images(images, size, antialias):
    """Bilinearly resize ``(n, c, h, w)`` images; float32, clipped to range.

    Each output image channel is clipped to the value range of its input
    channel, so rounding can never overshoot it.
    """
    n_samples, n_channels = images.shape[:2]
    _check_output_size(n_samples, (n_channels, *size))
    out = np.empty((n_samples, n_channels, *size), dtype=np.float32)
    if tuple(images.shape[2:]) == tuple(size):
        with np.errstate(over="ignore"):
            out[...] = images
        _check_float32(out)
        return out
    per_image = n_channels * max(math.prod(images.shape[2:]), math.prod(size))
    batch = max(1, min(_BATCH_SIZE, _CHUNK_VALUES // per_image))
    with torch.no_grad():
        for start in range(0, n_samples, batch):
            stop = start + batch
            # Always a fresh, writeable float32 copy (inputs may be read-only).
            with np.errstate(over="ignore"):
                chunk = np.array(images[start:stop], dtype=np.float32, order="C")
            _check_float32(chunk)
            resized = _interpolate(chunk, size, antialias)
            if not np.isfinite(resized).all():
                # Values near float32's limit: the weighted sums overflowed (inf - inf
                # is NaN). In float64 they do not; the result lies within the input's
                # range, so it fits float32 again.
                resized = _interpolate(chunk.astype(np.float64), size, antialias)
            np.clip(
                resized,
                chunk.min(axis=(2, 3), keepdims=True),
                chunk.max(axis=(2, 3), keepdims=True),
                out=out[start:stop],
            )
    return out


class ImageResizer(DocLinkMixin, TransformerMixin, BaseEstimator):
    """Resize images to a fixed height and width with bilinear interpolation.

    Flat rows, ``(n_samples, h, w)`` and ``(n_samples, c, h, w)`` images are
    accepted, and the output keeps the input's layout: flat rows in, flat rows
    of ``c * size[0] * size[1]`` values out; images in, images out. Values stay
    within each input image's range; the output dtype is float32.

    Parameters
    ----------
    size : int or tuple of (int, int), default=(28, 28)
        Output ``(height, width)``; an int gives a square.

    antialias : bool, default=True
        Low-pass filter when shrinking, as ``torchvision``'s ``resize`` does by
        default; it avoids aliasing (moire, lost thin strokes). Has no effect
        when enlarging.

    image_shape : tuple of int or None, default=None
        Shape of one input image, ``(h, w)`` or ``(c, h, w)``, for flat input;
        one entry may be -1 (inferred). If None it is inferred as in
        :class:`ImageReshaper`: ``s * s`` features are one ``s x s`` channel,
        ``3 * s * s`` are three, and any other count raises a ValueError
        asking for `image_shape`. Image input brings its own shape, which
        `image_shape`, if given, must agree with.

    Attributes
    ----------
    input_shape_ : tuple of int
        Shape ``(c, h, w)`` of one input image.

    output_shape_ : tuple of int
        Shape ``(c, size[0], size[1])`` of one output image.

    n_features_in_ : int
        Number of values per sample seen in :meth:`fit` (``c * h * w``).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`. Defined only when `X`
        has feature names that are all strings (a DataFrame).

    See Also
    --------
    ImageReshaper : Reshape flat rows to images without resizing.
    PixelScaler : Scale the (float32) output to [0, 1].

    Notes
    -----
    Resizing runs on the CPU with :func:`torch.nn.functional.interpolate`
    (``mode="bilinear"``, ``align_corners=False``), on batches of images at
    once. Bilinear weights are non-negative, so each output value lies within
    its input image's range; the output is clipped per image and channel to
    that range so float rounding cannot overshoot either.

    An output image holds at most 67,108,864 values (3 x 4096 x 4096, 256 MiB
    of float32); a larger `size` is refused in :meth:`fit`, and an output
    larger than the machine's memory in :meth:`transform`, before anything is
    allocated. Images are resized in chunks of at most 64 MiB.

    :meth:`transform` accepts flat rows or images of `input_shape_`, whichever
    layout :meth:`fit` saw. ``set_output(transform="pandas")`` works for flat
    output; image output cannot be a DataFrame and raises a ValueError then.
    Output feature names are ``pixel_{row}_{col}`` (one channel) or
    ``pixel_{c}_{row}_{col}``, for the output image in flattened order.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skmnist.preprocessing import ImageResizer
    >>> X, y = load_digits(return_X_y=True)  # 8 x 8 images, flat, values 0..16
    >>> resizer = ImageResizer(size=(28, 28)).fit(X)
    >>> resizer.input_shape_, resizer.output_shape_
    ((1, 8, 8), (1, 28, 28))
    >>> X_big = resizer.transform(X)
    >>> X_big.shape, X_big.dtype, float(X_big.min()), float(X_big.max())
    ((1797, 784), dtype('float32'), 0.0, 16.0)
    >>> resizer.transform(X.reshape(-1, 8, 8)).shape
    (1797, 28, 28)
    """

    #: Fitted attributes a saved pipeline holds (name -> JSON kind, see skmnist._archive).
    _saved_attributes = {"input_shape_": "tuple", "output_shape_": "tuple",
                         "n_features_in_": "int", "feature_names_in_": "labels"}
    _tuple_params = ("size", "image_shape")

    def __init__(self, size=(28, 28), *, antialias=True, image_shape=None):
        self.size = size
        self.antialias = antialias
        self.image_shape = image_shape

    def _check_saved_state(self):
        """Check a state read from a file with the checks of :meth:`fit`."""
        size = _check_size(self.size)
        check_bool(self.antialias, "antialias")
        check_image_shape(self.image_shape)
        _check_saved_shape(self, self.input_shape_, "input_shape_", images_only=True)
        _check_output_values(self.input_shape_[0], size)
        if self.output_shape_ != (self.input_shape_[0], *size):
            raise ValueError(f"output_shape_={self.output_shape_} is not input_shape_'s "
                             f"channels at size={size}.")
        self.output_shape_ = (self.input_shape_[0], *size)
        if self.image_shape is not None and \
                resolve_image_shape(self.image_shape, self.n_features_in_) != self.input_shape_:
            raise ValueError(f"image_shape={self.image_shape!r} does not match "
                             f"input_shape_={self.input_shape_}.")

    def fit(self, X, y=None):
        """Resolve the input and output image shapes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, h, w) or \
                (n_samples, c, h, w)
            Flat rows or images.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        size = _check_size(self.size)
        check_bool(self.antialias, "antialias")
        check_image_shape(self.image_shape)
        X = validate_pixels(self, X, reset=True)
        input_shape = fit_image_shape(X, self.image_shape, required="ImageResizer")
        _check_output_values(input_shape[0], size)
        self.input_shape_ = input_shape
        self.output_shape_ = (input_shape[0], *size)
        return self

    def transform(self, X):
        """Resize every image in `X` to `output_shape_`.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_features_in_`), (n_samples, h, w) \
                or (n_samples, c, h, w)
            Flat rows, or images of shape `input_shape_` (``(n, h, w)`` for
            one channel).

        Returns
        -------
        X_resized : ndarray of float32
            Of shape ``(n_samples, c * size[0] * size[1])`` for flat input,
            ``(n_samples, *size)`` for 3-D input and ``(n_samples, c, *size)``
            for 4-D input.
        """
        check_is_fitted(self)
        X = validate_pixels(self, X, reset=False)
        if X.ndim > 2 and as_chw(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"ImageResizer was fitted on images of shape {self.input_shape_}, "
                f"but got X whose samples have shape {X.shape[1:]}."
            )
        n_samples = X.shape[0]
        resized = _resize_images(
            X.reshape(n_samples, *self.input_shape_),
            self.output_shape_[1:],
            bool(self.antialias),
        )
        if X.ndim == 2:
            resized = resized.reshape(n_samples, -1)
        elif X.ndim == 3:
            resized = resized.reshape(n_samples, *self.output_shape_[1:])
        _check_dense_output(self, resized)
        return resized

    def get_feature_names_out(self, input_features=None):
        """Get names for the output values, in flattened (C) order.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against `n_features_in_` (and `feature_names_in_` if
            defined); output names depend on `output_shape_` alone.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``pixel_{row}_{col}`` for one channel, ``pixel_{c}_{row}_{col}``
            otherwise, one per value of an output image.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        return _pixel_feature_names(self.output_shape_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
