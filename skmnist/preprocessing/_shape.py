"""Layout transformers: flat rows to images and back.

This module also holds the small validation helpers that every transformer in
:mod:`skmnist.preprocessing` shares (image-aware ``validate_data``, image-shape
parameters, pixel feature names).

Layout convention of the library: images are ``(n_samples, channels, height,
width)`` (channels first, as in torch) or ``(n_samples, height, width)`` for a
single channel; "flat" data is ``(n_samples, channels * height * width)`` in C
order of ``(channels, height, width)``.
"""

import math
import numbers

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

# Reshaping never changes values, so every numeric dtype comes out as it went in.
_ALL_DTYPES = ["float64", "float32", "int64", "int32", "uint8"]


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------


def _validate_pixels(estimator, X, *, reset, dtype="numeric"):
    """Validate flat or image input and keep ``n_features_in_`` in pixels.

    This is ``validate_data(estimator, X, reset=reset, allow_nd=True)`` with one
    difference: for 3-D and 4-D input, ``n_features_in_`` counts the values per
    sample (``h * w`` or ``c * h * w``) rather than ``X.shape[1]``, so that a
    transformer fitted on images and one fitted on the same images flattened
    agree, and so that ``get_feature_names_out`` has one name per value.
    ``check_array`` does the checks (NaN/inf, complex, empty, object dtype)
    with sklearn's messages; ``validate_data(..., skip_check_array=True)``
    then records or checks ``n_features_in_`` (and warns about missing
    feature names) on a 2-D view. DataFrames, always 2-D, go straight through
    ``validate_data`` so that their column names are checked first.

    Parameters
    ----------
    estimator : estimator instance
        The transformer being fitted or applied.
    X : array-like of shape (n_samples, n_features), (n_samples, h, w) or \
            (n_samples, c, h, w)
        The input.
    reset : bool
        True in ``fit``, False elsewhere.
    dtype : str, type or list of types, default="numeric"
        Passed to :func:`~sklearn.utils.check_array`.

    Returns
    -------
    X : ndarray
        The validated array, of the input's shape.
    """
    if hasattr(X, "columns"):
        # A DataFrame is 2-D; let validate_data check its column names first,
        # before any conversion, exactly as for any sklearn estimator.
        return validate_data(estimator, X, reset=reset, dtype=dtype)
    X_checked = check_array(
        X, dtype=dtype, allow_nd=True, estimator=estimator, input_name="X"
    )
    name = type(estimator).__name__
    if X_checked.ndim > 4:
        raise ValueError(
            f"{name} expects 2-D (n_samples, n_features), 3-D (n_samples, height, "
            "width) or 4-D (n_samples, channels, height, width) input, got X with "
            f"shape {X_checked.shape}."
        )
    if X_checked.ndim == 2:
        flat = X_checked
    else:
        n_pixels = math.prod(X_checked.shape[1:])
        if n_pixels == 0:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={X_checked.shape}) while a "
                f"minimum of 1 is required by {name}."
            )
        expected = getattr(estimator, "n_features_in_", None)
        if not reset and expected is not None and n_pixels != expected:
            raise ValueError(
                f"X has {n_pixels} features (per-sample shape "
                f"{X_checked.shape[1:]}), but {name} is expecting {expected} "
                "features as input."
            )
        flat = X_checked.reshape(X_checked.shape[0], -1)
    validate_data(estimator, flat, reset=reset, skip_check_array=True)
    return X_checked


def _check_image_shape_param(image_shape):
    """Validate the ``image_shape`` parameter.

    Returns None, or a ``(c, h, w)`` tuple of ints in which one entry may be
    -1 (inferred from the feature count, as in :func:`numpy.reshape`).
    """
    if image_shape is None:
        return None
    message = (
        "image_shape must be None, (height, width) or (channels, height, width) "
        "with positive integers (at most one may be -1, to be inferred), got "
        f"{image_shape!r}."
    )
    if isinstance(image_shape, str):
        raise ValueError(message)
    try:
        dims = tuple(image_shape)
    except TypeError:
        raise ValueError(message) from None
    if (
        len(dims) not in (2, 3)
        or any(
            isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral)
            for d in dims
        )
        or any(d == 0 or d < -1 for d in dims)
        or sum(d == -1 for d in dims) > 1
    ):
        raise ValueError(message)
    dims = tuple(int(d) for d in dims)
    return dims if len(dims) == 3 else (1, *dims)


def _resolve_image_shape(dims, n_features, image_shape):
    """Fill in a -1 in ``dims`` and check that it holds ``n_features`` values."""
    known = math.prod(d for d in dims if d != -1)
    if -1 in dims:
        if n_features % known:
            raise ValueError(
                f"image_shape={image_shape!r} cannot hold {n_features} features "
                f"per sample: {n_features} is not a multiple of {known}."
            )
        return tuple(n_features // known if d == -1 else d for d in dims)
    if known != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} holds {known} values per image, but X has "
            f"{n_features} features per sample."
        )
    return dims


def _infer_image_shape(n_features):
    """Infer ``(c, h, w)`` from a flat feature count, or raise.

    ``s * s`` features give ``(1, s, s)``; otherwise ``3 * s * s`` features
    give ``(3, s, s)``. Nothing else is guessed: a strip such as
    ``(1, 1, n_features)`` must be asked for explicitly.
    """
    side = math.isqrt(n_features)
    if side * side == n_features:
        return (1, side, side)
    if n_features % 3 == 0:
        side = math.isqrt(n_features // 3)
        if 3 * side * side == n_features:
            return (3, side, side)
    raise ValueError(
        f"Cannot infer an image shape from {n_features} features per sample: "
        "it is neither a square number (one channel, h * h) nor three times one "
        "(RGB, 3 * h * h). Pass image_shape=(h, w) or image_shape=(c, h, w); one "
        "entry may be -1, e.g. image_shape=(1, -1) for one-pixel-high images."
    )


def _as_chw(sample_shape):
    """Per-sample image shape as ``(c, h, w)``; ``(h, w)`` means one channel."""
    return tuple(sample_shape) if len(sample_shape) == 3 else (1, *sample_shape)


def _fit_image_shape(X, dims, image_shape):
    """Image shape ``(c, h, w)`` of validated ``X`` given the checked parameter.

    Flat ``X`` uses ``image_shape`` (or infers it); image ``X`` brings its own
    shape, which ``image_shape`` must then agree with.
    """
    n_features = math.prod(X.shape[1:])
    if X.ndim == 2:
        if dims is None:
            return _infer_image_shape(n_features)
        return _resolve_image_shape(dims, n_features, image_shape)
    shape = _as_chw(X.shape[1:])
    if dims is not None and _resolve_image_shape(dims, n_features, image_shape) != (
        shape
    ):
        raise ValueError(
            f"image_shape={image_shape!r} does not match the images in X, whose "
            f"per-sample shape is {X.shape[1:]}."
        )
    return shape


def _check_sample_shape(estimator, X, expected):
    """Raise if the per-sample shape of ``X`` differs from the one seen in fit."""
    if X.shape[1:] != tuple(expected):
        raise ValueError(
            f"{type(estimator).__name__} was fitted on samples of shape "
            f"{tuple(expected)}, but got X whose samples have shape {X.shape[1:]}."
        )


def _check_inverse_input(estimator, X, expected):
    """Validate input of ``inverse_transform`` against a per-sample shape."""
    X = check_array(X, dtype="numeric", allow_nd=True, estimator=estimator)
    _check_sample_shape(estimator, X, expected)
    return X


def _pixel_feature_names(shape):
    """``pixel_{row}_{col}`` (one channel) or ``pixel_{c}_{row}_{col}`` names.

    Names follow the C order of ``(c, h, w)``: the order of a flattened image.
    """
    c, h, w = _as_chw(shape)
    if c == 1:
        names = [f"pixel_{r}_{q}" for r in range(h) for q in range(w)]
    else:
        names = [
            f"pixel_{k}_{r}_{q}" for k in range(c) for r in range(h) for q in range(w)
        ]
    return np.asarray(names, dtype=object)


def _one_to_one_feature_names(estimator, input_features, sample_shape):
    """Output names of a transformer that keeps every value in place.

    Flat input keeps its input names (``x0``, ... or the DataFrame's columns);
    image input, which has no column names, gets pixel names.
    """
    names = _check_feature_names_in(estimator, input_features)
    if input_features is None and len(sample_shape) > 1:
        return _pixel_feature_names(sample_shape)
    return names


def _check_dense_output(estimator, Xt):
    """Refuse a DataFrame output configuration for image-shaped output.

    ``set_output(transform="pandas")`` (or the global ``transform_output``)
    can only wrap 2-D output; say so clearly instead of letting the
    container constructor fail.
    """
    if Xt.ndim <= 2:
        return
    # Same lookup as sklearn's set_output wrapper: per-estimator, then global.
    config = getattr(estimator, "_sklearn_output_config", {}).get(
        "transform", get_config()["transform_output"]
    )
    if config != "default":
        raise ValueError(
            f"{type(estimator).__name__} returns images of shape {Xt.shape}, which "
            f'cannot be wrapped by set_output(transform="{config}"): only 2-D output '
            "can. Pass flat input (or flatten with ImageFlattener) or use "
            'set_output(transform="default").'
        )


# --------------------------------------------------------------------------
# Transformers
# --------------------------------------------------------------------------


class ImageFlattener(TransformerMixin, BaseEstimator):
    """Flatten images to one row of pixel values per sample.

    ``(n_samples, c, h, w)`` and ``(n_samples, h, w)`` input become
    ``(n_samples, c * h * w)`` in C order of ``(c, h, w)``; already-flat
    ``(n_samples, n_features)`` input passes through. Values and dtype are
    unchanged. The transformer has no parameters.

    Attributes
    ----------
    input_shape_ : tuple of int
        Per-sample shape seen in :meth:`fit`: ``(c, h, w)``, ``(h, w)`` or
        ``(n_features,)``. :meth:`transform` requires the same shape.

    n_features_in_ : int
        Number of values per sample seen in :meth:`fit` (``c * h * w`` for
        images, ``X.shape[1]`` for flat input).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`. Defined only when `X`
        has feature names that are all strings (a DataFrame).

    See Also
    --------
    ImageReshaper : The reverse: flat rows to ``(n, c, h, w)`` images.
    sklearn.preprocessing.FunctionTransformer : For arbitrary reshaping.

    Notes
    -----
    :meth:`transform` always returns a new C-contiguous array, never a view of
    the input. Output feature names are ``pixel_{row}_{col}`` for one channel
    and ``pixel_{c}_{row}_{col}`` otherwise; flat input keeps its own names.

    Examples
    --------
    >>> import numpy as np
    >>> from skmnist.preprocessing import ImageFlattener
    >>> X = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3)
    >>> flattener = ImageFlattener().fit(X)
    >>> flattener.transform(X)
    array([[ 0,  1,  2,  3,  4,  5],
           [ 6,  7,  8,  9, 10, 11]], dtype=uint8)
    >>> flattener.get_feature_names_out()[:3]
    array(['pixel_0_0', 'pixel_0_1', 'pixel_0_2'], dtype=object)
    >>> flattener.inverse_transform(flattener.transform(X)).shape
    (2, 2, 3)
    """

    def fit(self, X, y=None):
        """Record the per-sample shape of `X`.

        Parameters
        ----------
        X : array-like of shape (n_samples, c, h, w), (n_samples, h, w) or \
                (n_samples, n_features)
            Images or flat rows.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        X = _validate_pixels(self, X, reset=True)
        self.input_shape_ = X.shape[1:]
        return self

    def transform(self, X):
        """Flatten each sample of `X` in C order.

        Parameters
        ----------
        X : array-like of shape `(n_samples, *input_shape_)`
            Samples of the shape seen in :meth:`fit`.

        Returns
        -------
        X_flat : ndarray of shape (n_samples, `n_features_in_`)
            Flattened samples, same dtype as `X`.
        """
        check_is_fitted(self)
        X = _validate_pixels(self, X, reset=False)
        _check_sample_shape(self, X, self.input_shape_)
        return np.array(X, order="C", copy=True).reshape(X.shape[0], -1)

    def inverse_transform(self, X):
        """Reshape flat rows back to the per-sample shape seen in :meth:`fit`.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_features_in_`)
            Flat rows.

        Returns
        -------
        X_original : ndarray of shape `(n_samples, *input_shape_)`
            Samples in the fitted layout, same dtype as `X`.
        """
        check_is_fitted(self)
        X = _check_inverse_input(self, X, (self.n_features_in_,))
        return np.array(X, order="C", copy=True).reshape(
            X.shape[0], *self.input_shape_
        )

    def get_feature_names_out(self, input_features=None):
        """Get output feature names.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names, checked against `n_features_in_` (and
            `feature_names_in_` if defined). For flat input they are returned
            unchanged; when None, flat input gives `feature_names_in_` or
            ``x0, x1, ...``, and images give ``pixel_{row}_{col}`` (one
            channel) or ``pixel_{c}_{row}_{col}`` names.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per output column.
        """
        check_is_fitted(self)
        return _one_to_one_feature_names(self, input_features, self.input_shape_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = list(_ALL_DTYPES)
        return tags


class ImageReshaper(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Reshape flat rows of pixel values to ``(n_samples, c, h, w)`` images.

    The feature order is C order of ``(c, h, w)``, the inverse of
    :class:`ImageFlattener`. Values and dtype are unchanged.

    Parameters
    ----------
    image_shape : tuple of int or None, default=None
        Shape of one image, ``(h, w)`` (one channel) or ``(c, h, w)``. One
        entry may be -1, inferred from the number of features as in
        :func:`numpy.reshape`. If None it is inferred in :meth:`fit`:
        ``s * s`` features give ``(1, s, s)``, otherwise ``3 * s * s``
        features give ``(3, s, s)``; any other count raises a ValueError asking
        for `image_shape`. When :meth:`fit` gets images instead of flat rows,
        their shape is used and `image_shape`, if given, must agree with it.

    Attributes
    ----------
    image_shape_ : tuple of int
        Resolved shape ``(c, h, w)`` of one output image.

    n_features_in_ : int
        Number of values per sample seen in :meth:`fit` (``c * h * w``).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`. Defined only when `X`
        has feature names that are all strings (a DataFrame).

    See Also
    --------
    ImageFlattener : The reverse: images to flat rows.
    ImageResizer : Resize images, flat or not, to another height and width.

    Notes
    -----
    The shape is never guessed beyond squares: 10 features could be a
    ``2 x 5`` image, a ``1 x 10`` strip or ten channels of one pixel, and a
    wrong guess would only surface later, inside a network. Ask for such
    shapes explicitly, e.g. ``image_shape=(2, 5)`` or ``image_shape=(1, -1)``.

    The output is 4-D, so this transformer does not offer ``set_output``
    (a DataFrame cannot hold it); its output is a NumPy array whatever the
    global ``transform_output``. :meth:`get_feature_names_out` still names the
    output values in flattened (C) order, the names :class:`ImageFlattener`
    gives them. Input that already has the fitted image shape, ``(n, c, h, w)``
    or ``(n, h, w)`` for one channel, passes through as ``(n, c, h, w)``.
    :meth:`transform` always returns a new array, never a view of the input.

    Examples
    --------
    >>> import numpy as np
    >>> from skmnist.preprocessing import ImageReshaper
    >>> X = np.arange(2 * 16, dtype=np.float32).reshape(2, 16)
    >>> reshaper = ImageReshaper().fit(X)
    >>> reshaper.image_shape_
    (1, 4, 4)
    >>> reshaper.transform(X).shape
    (2, 1, 4, 4)
    >>> ImageReshaper(image_shape=(2, 2, -1)).fit_transform(X).shape
    (2, 2, 2, 4)
    >>> reshaper.inverse_transform(reshaper.transform(X)).shape
    (2, 16)
    """

    def __init__(self, image_shape=None):
        self.image_shape = image_shape

    def fit(self, X, y=None):
        """Resolve the image shape from `image_shape` and `X`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, h, w) or \
                (n_samples, c, h, w)
            Flat rows, or images whose shape is then used.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        dims = _check_image_shape_param(self.image_shape)
        X = _validate_pixels(self, X, reset=True)
        self.image_shape_ = _fit_image_shape(X, dims, self.image_shape)
        return self

    def transform(self, X):
        """Reshape each row of `X` to an image of shape `image_shape_`.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_features_in_`) or \
                `(n_samples, *image_shape_)`
            Flat rows, or images of the fitted shape (``(n, h, w)`` is
            accepted for one channel).

        Returns
        -------
        X_images : ndarray of shape (n_samples, c, h, w)
            Images, same dtype as `X`.
        """
        check_is_fitted(self)
        X = _validate_pixels(self, X, reset=False)
        if X.ndim > 2 and _as_chw(X.shape[1:]) != self.image_shape_:
            raise ValueError(
                f"ImageReshaper was fitted for images of shape {self.image_shape_}, "
                f"but got X whose samples have shape {X.shape[1:]}."
            )
        return np.array(X, order="C", copy=True).reshape(
            X.shape[0], *self.image_shape_
        )

    def inverse_transform(self, X):
        """Flatten images back to rows of `n_features_in_` values.

        Parameters
        ----------
        X : array-like of shape (n_samples, c, h, w) or (n_samples, `n_features_in_`)
            Images of the fitted shape (or rows, which pass through).

        Returns
        -------
        X_flat : ndarray of shape (n_samples, `n_features_in_`)
            Flat rows, same dtype as `X`.
        """
        check_is_fitted(self)
        X = check_array(X, dtype="numeric", allow_nd=True, estimator=self)
        if X.ndim == 2:
            _check_sample_shape(self, X, (self.n_features_in_,))
        elif X.ndim > 4 or _as_chw(X.shape[1:]) != self.image_shape_:
            _check_sample_shape(self, X, self.image_shape_)
        return np.array(X, order="C", copy=True).reshape(X.shape[0], -1)

    def get_feature_names_out(self, input_features=None):
        """Get names for the output values, in flattened (C) order.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against `n_features_in_` (and `feature_names_in_` if
            defined); output names depend on the image shape alone.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``pixel_{row}_{col}`` for one channel, ``pixel_{c}_{row}_{col}``
            otherwise, one per value of an output image.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        return _pixel_feature_names(self.image_shape_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = list(_ALL_DTYPES)
        return tags
