"""How input becomes images: one policy and one input check for the whole library.

The estimators (:class:`skmnist.SkMNISTClassifier`,
:class:`skmnist.SkMNISTFineTuner`) and every transformer of
:mod:`skmnist.preprocessing` read their input through this module, so two
parts of the library can never disagree about what an array holds.

Layout convention: images are ``(n_samples, channels, height, width)``
(channels first, as in torch) or ``(n_samples, height, width)`` for one
channel; "flat" data is ``(n_samples, channels * height * width)`` in C order
of ``(channels, height, width)``.

The policy for a flat row of ``n`` values (:func:`flat_image_shape`):

1. ``image_shape`` given: ``(h, w)`` or ``(c, h, w)``, one entry may be -1
   (inferred as in :func:`numpy.reshape`); it must hold exactly ``n`` values.
2. Otherwise ``n = s * s`` is one channel ``(1, s, s)`` and ``n = 3 * s * s``
   is RGB ``(3, s, s)``. Nothing else is guessed: ``2 x 5`` or a one-pixel
   strip must be asked for explicitly.
3. Where an image is optional (the classifier with ``arch="auto"``), rule 2
   applies from ``s = 8`` up (scikit-learn's 8x8 digits); shorter rows are
   tabular features. Where an image is required (``ImageReshaper``,
   ``arch="cnn"``, a convolutional pretrained model) any ``s`` is read.
"""

import math
import numbers
import re

import numpy as np
from sklearn.utils.validation import check_array, validate_data

#: Flat rows are read as square images from this side up when images are optional.
MIN_AUTO_IMAGE_SIDE = 8


def check_image_shape(image_shape):
    """Validate the ``image_shape`` parameter.

    Returns None, or a ``(c, h, w)`` tuple of ints in which one entry may be
    -1; ``(h, w)`` means one channel.
    """
    if image_shape is None:
        return None
    message = (
        "image_shape must be (height, width) or (channels, height, width) with positive "
        f"integers (one may be -1 to infer it), or None; got {image_shape!r}."
    )
    if isinstance(image_shape, (str, bytes)):
        raise ValueError(message)
    try:
        dims = tuple(image_shape)
    except TypeError:
        raise ValueError(message) from None
    if (
        len(dims) not in (2, 3)
        or any(isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral)
               for d in dims)
        or any(d == 0 or d < -1 for d in dims)
        or sum(d == -1 for d in dims) > 1
    ):
        raise ValueError(message)
    dims = tuple(int(d) for d in dims)
    return dims if len(dims) == 3 else (1, *dims)


def as_chw(sample_shape):
    """A per-sample image shape as ``(c, h, w)``: ``(h, w)`` means one channel."""
    return tuple(int(s) for s in sample_shape) if len(sample_shape) == 3 \
        else (1, *(int(s) for s in sample_shape))


def resolve_image_shape(image_shape, n_features):
    """``image_shape`` (the parameter) for rows of ``n_features`` values -> ``(c, h, w)``.

    Fills in a -1 and checks that the shape holds exactly ``n_features`` values.
    """
    dims = check_image_shape(image_shape)
    known = math.prod(d for d in dims if d != -1)
    if -1 in dims:
        if n_features % known:
            raise ValueError(
                f"image_shape={image_shape!r} cannot hold {n_features} features per "
                f"sample: {n_features} is not a multiple of {known}."
            )
        return tuple(n_features // known if d == -1 else d for d in dims)
    if known != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} holds {known} values per image, but X has "
            f"{n_features} features per sample."
        )
    return dims


def infer_image_shape(n_features, *, min_side=1):
    """The image a flat row of ``n_features`` values holds by rule 2, or None.

    ``s * s`` values are ``(1, s, s)``, ``3 * s * s`` are ``(3, s, s)``, for
    ``s >= min_side``.
    """
    for channels in (1, 3):
        if n_features % channels:
            continue
        side = math.isqrt(n_features // channels)
        if side >= max(1, min_side) and channels * side * side == n_features:
            return (channels, side, side)
    return None


def flat_image_shape(n_features, image_shape=None, *, required=None):
    """The policy: which image a flat row of ``n_features`` values is, if any.

    Parameters
    ----------
    n_features : int
        Values per row.
    image_shape : tuple of int, default=None
        The ``image_shape`` parameter; when given it decides (rule 1).
    required : str or None, default=None
        None when an image is optional (rule 3: squares from 8x8 up, else
        tabular); otherwise who requires an image (for instance
        ``"arch='cnn'"``), named in the error when none can be read.

    Returns
    -------
    shape : tuple of int or None
        ``(c, h, w)``, or None for tabular rows (only when ``required`` is None).
    """
    if image_shape is not None:
        return resolve_image_shape(image_shape, n_features)
    if required is None:
        return infer_image_shape(n_features, min_side=MIN_AUTO_IMAGE_SIDE)
    shape = infer_image_shape(n_features)
    if shape is None:
        raise ValueError(
            f"{required} needs images, but X has {n_features} features per sample, which "
            "is neither a square number of pixels (one channel, h * h) nor three times one "
            "(RGB, 3 * h * h). Pass image_shape=(height, width) or (channels, height, "
            "width) (one entry may be -1, e.g. image_shape=(1, -1) for one-pixel-high "
            "images), or give X as (n, height, width) or (n, channels, height, width)."
        )
    return shape


def image_input_shape(X, image_shape=None):
    """The ``(c, h, w)`` of image-shaped (3-D or 4-D) ``X``; ``image_shape`` must agree."""
    shape = as_chw(X.shape[1:])
    if image_shape is not None and resolve_image_shape(image_shape, math.prod(shape)) != shape:
        raise ValueError(
            f"image_shape={image_shape!r} does not match the images in X, whose "
            f"per-sample shape is {X.shape[1:]}."
        )
    return shape


def fit_image_shape(X, image_shape=None, *, required=None):
    """The image shape of validated ``X`` (flat or images) at fit time, or None (tabular)."""
    if X.ndim == 2:
        return flat_image_shape(X.shape[1], image_shape, required=required)
    return image_input_shape(X, image_shape)


def check_numeric_kind(X, name):
    """Refuse dates, durations and categories in X (an array or a DataFrame), naming them.

    numpy reads ``datetime64``/``timedelta64`` values as numbers of their unit
    and a categorical column could be read as its codes; either would train a
    model on something the user did not mean. Columns of another
    non-numeric type are named when they cannot be read as numbers.
    """
    how = ("convert them to numbers first (e.g. seconds with .astype('int64'), category "
           "codes or one-hot columns) or drop them")
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):  # a DataFrame
        for column, dtype in dtypes.items():
            kind = getattr(dtype, "kind", "O")
            if kind in "biuf":
                continue
            if kind in "mM" or str(dtype) in ("category", "string") or \
                    str(dtype).startswith(("period", "interval")):
                raise ValueError(
                    f"X column {column!r} has dtype {dtype}, not numbers: {name} needs "
                    f"pixel values or numeric features; {how}.")
            try:
                np.asarray(X[column], dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"X column {column!r} (dtype {dtype}) holds values that are not "
                    f"numbers, e.g. {X[column].iloc[0]!r}: {name} needs pixel values or "
                    f"numeric features; {how}.") from None
        return
    dtype = getattr(X, "dtype", None)
    if getattr(dtype, "kind", None) in ("m", "M"):
        raise ValueError(
            f"X holds {dtype} values (dates or durations), not numbers: {name} needs pixel "
            f"values or numeric features; {how}.")


def _check_not_one_sample(X, name, fitted_shape):
    """Say how to pass one sample: a 1-D row, or one image without its batch axis.

    scikit-learn's own message for 1-D input prints the whole array; and one
    ``(28, 28)`` image reads as 28 samples of 28 features.
    """
    shape = getattr(X, "shape", None)
    if shape is None:
        if not isinstance(X, (list, tuple)):
            return  # other array-likes: check_array explains
        shape, item = [], X  # nested lists: the shape along the first elements
        while isinstance(item, (list, tuple)) and len(item):
            shape.append(len(item))
            item = item[0]
    shape = tuple(shape)
    if len(shape) == 1:
        size = shape[0]
        if fitted_shape is not None and math.prod(fitted_shape) == size:
            hint = (f"pass it as one sample, X.reshape(1, -1) (or X[None]): one "
                    f"{_describe(fitted_shape)} of {size} values.")
        else:
            hint = ("pass one sample as X.reshape(1, -1), or many samples of one feature as "
                    "X.reshape(-1, 1).")
        raise ValueError(f"Expected 2D array, got 1D array of shape ({size},) instead: "
                         f"{name} takes a 2-D array of samples (rows). Reshape your data: "
                         f"{hint}")
    if fitted_shape is None:
        return
    c, h, w = fitted_shape
    if (c == 1 and shape == (h, w) and h > 1) or (c > 1 and shape == (c, h, w)):
        raise ValueError(
            f"X has shape {shape}: that is one {_describe(fitted_shape)}, not a batch of "
            f"them ({name} reads the first axis as the samples). Pass one image as a batch "
            "of one: img[None] (or img.reshape(1, -1)).")


def _describe(shape):
    c, h, w = shape
    return f"{h}x{w} image" if c == 1 else f"{c}-channel {h}x{w} image"


def validate_pixels(estimator, X, *, reset, dtype="numeric", fitted_shape=None):
    """Validate flat or image input; ``n_features_in_`` counts values per sample.

    This is scikit-learn's ``validate_data(estimator, X, reset=reset)`` for
    2-D, 3-D and 4-D input. ``check_array`` does the checks (NaN/inf, complex,
    empty, object dtype, sparse) with scikit-learn's messages;
    ``validate_data(..., skip_check_array=True)`` then records or checks
    ``n_features_in_`` (and feature names) on a 2-D view, so an estimator
    fitted on images and one fitted on the same images flattened agree.
    DataFrames, always 2-D, go straight through ``validate_data`` so that
    their column names are checked first.

    Parameters
    ----------
    estimator : estimator instance
        The estimator being fitted or applied.
    X : array-like of shape (n_samples, n_features), (n_samples, h, w) or \
            (n_samples, c, h, w)
        The input.
    reset : bool
        True in ``fit``, False elsewhere.
    dtype : str, type or list of types, default="numeric"
        Passed to :func:`~sklearn.utils.check_array`.
    fitted_shape : tuple of int, default=None
        When given (not in fit), image-shaped ``X`` must have this per-sample
        ``(c, h, w)``; checked before the value count, so that the error
        speaks of image shapes.

    Returns
    -------
    X : ndarray
        The validated array, of the input's shape.
    """
    name = type(estimator).__name__
    check_numeric_kind(X, name)
    _check_not_one_sample(X, name, fitted_shape if not reset else None)
    try:
        if hasattr(X, "columns"):
            return validate_data(estimator, X, reset=reset, dtype=dtype)
        X_checked = check_array(X, dtype=dtype, allow_nd=True, estimator=estimator,
                                input_name="X")
    except TypeError as exc:  # e.g. an object array of datetime or dict values
        raise TypeError(
            f"X must hold numbers (pixel values or numeric features) for {name}, but "
            f"its values could not be read as numbers: {exc}.") from None
    except ValueError as exc:  # scikit-learn's message, said to be about X
        if re.search(r"\bX\b", str(exc)):
            raise
        raise ValueError(f"X: {exc}") from None
    if X_checked.ndim > 4:
        raise ValueError(
            "X must be 2-D (n_samples, n_features), 3-D (n_samples, height, width) or "
            f"4-D (n_samples, channels, height, width): {name} expects 2-D (flat rows), "
            f"3-D (one-channel images) or 4-D (images) input, got shape {X_checked.shape}."
        )
    if X_checked.ndim == 2:
        validate_data(estimator, X_checked, reset=reset, skip_check_array=True)
        return X_checked
    n_values = math.prod(X_checked.shape[1:])
    if n_values == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X_checked.shape}) while a "
            f"minimum of 1 is required by {name}."
        )
    if not reset and fitted_shape is not None and as_chw(X_checked.shape[1:]) != \
            tuple(fitted_shape):
        raise ValueError(
            f"X holds images of shape {tuple(X_checked.shape[1:])}, but this {name} was "
            f"fitted on images of shape {tuple(fitted_shape)} (channels, height, width). "
            "Resize them first, e.g. with skmnist.preprocessing.ImageResizer."
        )
    expected = getattr(estimator, "n_features_in_", None)
    if not reset and expected is not None and n_values != expected:
        raise ValueError(
            f"X has {n_values} features (per-sample shape {X_checked.shape[1:]}), but "
            f"{name} is expecting {expected} features as input."
        )
    validate_data(estimator, X_checked.reshape(X_checked.shape[0], -1), reset=reset,
                  skip_check_array=True)
    return X_checked
