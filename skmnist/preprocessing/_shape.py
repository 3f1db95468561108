"""Layout transformers: flat rows to images and back.

Layout convention of the library (see :mod:`skmnist._shapes`, the one
image-shape policy): images are ``(n_samples, channels, height, width)``
(channels first, as in torch) or ``(n_samples, height, width)`` for a single
channel; "flat" data is ``(n_samples, channels * height * width)`` in C order
of ``(channels, height, width)``.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_array, check_is_fitted

from .._doclinks import DocLinkMixin
from .._shapes import (
    as_chw,
    check_image_shape,
    fit_image_shape,
    resolve_image_shape,
    validate_pixels,
)
from ._common import (
    ALL_DTYPES,
    _check_inverse_input,
    _check_sample_shape,
    _check_saved_shape,
    _one_to_one_feature_names,
    _pixel_feature_names,
)


# --------------------------------------------------------------------------
# Transformers
# --------------------------------------------------------------------------


class ImageFlattener(DocLinkMixin, TransformerMixin, BaseEstimator):
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

    #: Fitted attributes a saved pipeline holds (name -> JSON kind, see skmnist._archive).
    _saved_attributes = {"input_shape_": "tuple", "n_features_in_": "int",
                         "feature_names_in_": "labels"}
    _tuple_params = ()

    def _check_saved_state(self):
        """Check a state read from a file with the checks of :meth:`fit`."""
        _check_saved_shape(self, self.input_shape_, "input_shape_")

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
        X = validate_pixels(self, X, reset=True)
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
        X = validate_pixels(self, X, reset=False)
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
        tags.transformer_tags.preserves_dtype = list(ALL_DTYPES)
        return tags


class ImageReshaper(DocLinkMixin, TransformerMixin, BaseEstimator,
                    auto_wrap_output_keys=None):
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

    #: Fitted attributes a saved pipeline holds (name -> JSON kind, see skmnist._archive).
    _saved_attributes = {"image_shape_": "tuple", "n_features_in_": "int",
                         "feature_names_in_": "labels"}
    _tuple_params = ("image_shape",)

    def __init__(self, image_shape=None):
        self.image_shape = image_shape

    def _check_saved_state(self):
        """Check a state read from a file with the checks of :meth:`fit`."""
        check_image_shape(self.image_shape)
        _check_saved_shape(self, self.image_shape_, "image_shape_", images_only=True)
        if self.image_shape is not None and \
                resolve_image_shape(self.image_shape, self.n_features_in_) != self.image_shape_:
            raise ValueError(f"image_shape={self.image_shape!r} does not match "
                             f"image_shape_={self.image_shape_}.")

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
        check_image_shape(self.image_shape)
        X = validate_pixels(self, X, reset=True)
        self.image_shape_ = fit_image_shape(X, self.image_shape, required="ImageReshaper")
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
        X = validate_pixels(self, X, reset=False)
        if X.ndim > 2 and as_chw(X.shape[1:]) != self.image_shape_:
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
        elif X.ndim > 4 or as_chw(X.shape[1:]) != self.image_shape_:
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
        tags.transformer_tags.preserves_dtype = list(ALL_DTYPES)
        return tags
