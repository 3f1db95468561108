"""Pixel value transformers: scaling to [0, 1] and per-channel standardization."""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._doclinks import DocLinkMixin
from .._shapes import validate_pixels
from ._common import (
    _check_dense_output,
    _check_inverse_input,
    _check_positive_number,
    _check_sample_shape,
    _check_saved_shape,
    _one_to_one_feature_names,
    float32_output,
)

# (mean, std) of the training images, on pixels scaled to [0, 1].
_PRESETS = {
    "fashion_mnist": (0.2860, 0.3530),
    "mnist": (0.1307, 0.3081),
}


def _check_max_value(max_value):
    """Validate ``max_value``; return None for "auto", else the float divisor."""
    message = (
        f"max_value must be 'auto' or a positive finite number, got {max_value!r}."
    )
    if isinstance(max_value, str):
        if max_value == "auto":
            return None
        raise ValueError(message)
    if (
        isinstance(max_value, (bool, np.bool_))
        or not isinstance(max_value, numbers.Real)
        or not np.isfinite(max_value)
        or max_value <= 0
    ):
        raise ValueError(message)
    return float(max_value)


class PixelScaler(DocLinkMixin, TransformerMixin, BaseEstimator):
    """Scale pixel values to [0, 1] by dividing by their maximum possible value.

    Works on flat rows and on images of any layout; the output has the input's
    shape and dtype float32.

    Parameters
    ----------
    max_value : "auto" or float, default="auto"
        Divisor. With "auto" it is chosen in :meth:`fit`: 255 if the largest
        value in `X` exceeds 1 (8-bit pixels), else 1 (data already in
        [0, 1]). Give it explicitly for other ranges, e.g. ``max_value=16``
        for :func:`sklearn.datasets.load_digits`.

    Attributes
    ----------
    scale_ : float
        The divisor used by :meth:`transform`.

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
    PixelStandardizer : Per-channel ``(X - mean) / std``.
    sklearn.preprocessing.MinMaxScaler : Per-feature scaling learned from data.

    Notes
    -----
    "auto" looks only at the data seen in :meth:`fit`: a batch of 8-bit images
    that happens to be all 0 and 1 is taken as already scaled. Pass
    ``max_value=255`` when the range is known.

    The output is float32 and never inf for finite input: values that
    overflow float32 on the way are computed in float64, and a result beyond
    float32's range (a tiny ``max_value`` on large values) is a
    ``ValueError`` naming X, not inf.

    Examples
    --------
    >>> import numpy as np
    >>> from skmnist.preprocessing import PixelScaler
    >>> X = np.array([[0, 51, 255], [102, 204, 0]], dtype=np.uint8)
    >>> scaler = PixelScaler().fit(X)
    >>> scaler.scale_
    255.0
    >>> scaler.transform(X)
    array([[0. , 0.2, 1. ],
           [0.4, 0.8, 0. ]], dtype=float32)
    >>> scaler.inverse_transform(scaler.transform(X))
    array([[  0.,  51., 255.],
           [102., 204.,   0.]], dtype=float32)
    """

    #: Fitted attributes a saved pipeline holds (name -> JSON kind, see skmnist._archive).
    _saved_attributes = {"scale_": "json", "input_shape_": "tuple", "n_features_in_": "int",
                         "feature_names_in_": "labels"}
    _tuple_params = ()

    def __init__(self, max_value="auto"):
        self.max_value = max_value

    def _check_saved_state(self):
        """Check a state read from a file with the checks of :meth:`fit`."""
        scale = _check_max_value(self.max_value)
        _check_positive_number(self.scale_, "scale_")
        allowed = (1.0, 255.0) if scale is None else (scale,)
        if self.scale_ not in allowed:
            raise ValueError(f"scale_={self.scale_!r} is not what max_value={self.max_value!r} "
                             f"gives ({' or '.join(map(str, allowed))}).")
        self.scale_ = float(self.scale_)
        _check_saved_shape(self, self.input_shape_, "input_shape_")

    def fit(self, X, y=None):
        """Choose the divisor.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, h, w) or \
                (n_samples, c, h, w)
            Pixel values.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        scale = _check_max_value(self.max_value)
        X = validate_pixels(self, X, reset=True)
        self.input_shape_ = X.shape[1:]
        if scale is None:
            scale = 255.0 if X.max() > 1 else 1.0
        self.scale_ = scale
        return self

    def transform(self, X):
        """Divide `X` by `scale_`.

        Parameters
        ----------
        X : array-like of shape `(n_samples, *input_shape_)`
            Pixel values, in the layout seen in :meth:`fit`.

        Returns
        -------
        X_scaled : ndarray of float32, same shape as `X`
            Scaled values.
        """
        check_is_fitted(self)
        X = validate_pixels(self, X, reset=False)
        _check_sample_shape(self, X, self.input_shape_)

        def divide(X, dtype):
            Xt = X.astype(dtype)
            Xt /= dtype(self.scale_)
            return Xt

        Xt = float32_output(self, X, divide, params=[self.scale_],
                            what=f"scale_={self.scale_!r}")
        _check_dense_output(self, Xt)
        return Xt

    def inverse_transform(self, X):
        """Multiply `X` by `scale_`.

        Parameters
        ----------
        X : array-like of shape `(n_samples, *input_shape_)`
            Scaled values.

        Returns
        -------
        X_original : ndarray of float32, same shape as `X`
            Values in the original range.
        """
        check_is_fitted(self)
        X = _check_inverse_input(self, X, self.input_shape_)

        def multiply(X, dtype):
            Xt = X.astype(dtype)
            Xt *= dtype(self.scale_)
            return Xt

        return float32_output(self, X, multiply, params=[self.scale_],
                              what=f"scale_={self.scale_!r}")

    def get_feature_names_out(self, input_features=None):
        """Get output feature names: the input's, as values stay in place.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names, checked against `n_features_in_` (and
            `feature_names_in_` if defined) and returned. When None, flat
            input gives `feature_names_in_` or ``x0, x1, ...``, and images
            give ``pixel_{row}_{col}`` or ``pixel_{c}_{row}_{col}`` names.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per value of a sample.
        """
        check_is_fitted(self)
        return _one_to_one_feature_names(self, input_features, self.input_shape_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _check_stat_param(value, name, *, positive):
    """Validate ``mean`` or ``std``: None, a number or a 1-D sequence of them."""
    if value is None:
        return None
    condition = "positive finite" if positive else "finite"
    message = (
        f"{name} must be None, a {condition} number or a sequence of them (one per "
        f"channel), got {value!r}."
    )
    if isinstance(value, (str, bool, np.bool_)):
        raise ValueError(message)
    try:
        values = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if values.ndim > 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(message)
    if positive and np.any(values <= 0):
        raise ValueError(message)
    return np.atleast_1d(values)


def _mean_std(X, axis):
    """Per-channel mean and standard deviation in float64, finite for any finite X.

    Squares of values beyond about 1e154 overflow float64 and squares of
    values below 1e-162 underflow to 0; data that large or that small is
    divided by its largest magnitude first (one float64 copy), so neither
    can happen. Everything else (all pixel data) is computed directly.
    """
    keep = axis is not None
    high = np.max(X, axis=axis, keepdims=keep).astype(np.float64)
    low = np.min(X, axis=axis, keepdims=keep).astype(np.float64)
    scale = np.maximum(np.abs(high), np.abs(low))
    if np.all((scale == 0) | ((scale >= 1e-100) & (scale <= 1e100))):
        mean = np.mean(X, axis=axis, dtype=np.float64)
        std = np.std(X, axis=axis, dtype=np.float64)
    else:
        scale = np.where(scale > 0, scale, 1.0)
        scaled = X / scale
        mean = np.mean(scaled, axis=axis, dtype=np.float64) * scale.reshape(-1)
        std = np.std(scaled, axis=axis, dtype=np.float64) * scale.reshape(-1)
    return np.atleast_1d(mean).astype(np.float64), np.atleast_1d(std).astype(np.float64)


def _per_channel(values, n_channels, name):
    """Broadcast a length-1 statistic to every channel, or check its length."""
    if values.shape[0] == 1:
        return np.repeat(values, n_channels)
    if values.shape[0] != n_channels:
        raise ValueError(
            f"{name} has {values.shape[0]} values but X has {n_channels} channel(s); "
            "give one value, or one per channel (axis 1 of 4-D input)."
        )
    return values.copy()


class PixelStandardizer(DocLinkMixin, TransformerMixin, BaseEstimator):
    """Standardize pixel values per channel: ``(X - mean) / std``.

    Channels are axis 1 of ``(n_samples, c, h, w)`` input; ``(n_samples, h,
    w)`` and flat ``(n_samples, n_features)`` input are one channel, so a
    single mean and std cover all their values (unlike
    :class:`~sklearn.preprocessing.StandardScaler`, which standardizes every
    feature separately). The output has the input's shape and dtype float32.

    Parameters
    ----------
    mean : float, sequence of float or None, default=None
        Per-channel mean (one value is used for every channel). None learns it
        from the data in :meth:`fit`, unless `preset` gives it.

    std : float, sequence of float or None, default=None
        Per-channel standard deviation, positive. None learns it in
        :meth:`fit`, unless `preset` gives it.

    preset : {"mnist", "fashion_mnist"} or None, default=None
        Use the published statistics of a dataset's training images:
        "mnist" is mean 0.1307, std 0.3081; "fashion_mnist" is mean 0.2860,
        std 0.3530. They are for pixels in [0, 1], so scale 8-bit images
        first, e.g. with :class:`PixelScaler`; :meth:`fit` warns if `X` has
        values above 1. An explicit `mean` or `std` overrides the preset's.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
        Per-channel mean subtracted by :meth:`transform`.

    std_ : ndarray of shape (n_channels,)
        Per-channel standard deviation divided by :meth:`transform`. A learned
        standard deviation of (nearly) zero is replaced by 1, as in
        :class:`~sklearn.preprocessing.StandardScaler`.

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
    PixelScaler : Divide by 255 to bring 8-bit pixels to [0, 1].
    sklearn.preprocessing.StandardScaler : Per-feature standardization.

    Notes
    -----
    The statistics are computed in float64 without overflow or underflow
    for any finite input (values beyond about 1e100 or below 1e-100 are
    divided by their largest magnitude first). The output is float32 and
    never inf for finite input: what overflows float32 on the way is
    computed in float64, and a result beyond float32's range (a tiny
    ``std``) is a ``ValueError`` naming X.

    Examples
    --------
    >>> import numpy as np
    >>> from skmnist.preprocessing import PixelStandardizer
    >>> X = np.array([[[0.0, 0.5], [1.0, 0.5]]])  # one 2 x 2 image
    >>> standardizer = PixelStandardizer().fit(X)
    >>> standardizer.mean_, standardizer.std_.round(4)
    (array([0.5]), array([0.3536]))
    >>> standardizer.transform(X).round(3)
    array([[[-1.414,  0.   ],
            [ 1.414,  0.   ]]], dtype=float32)
    >>> PixelStandardizer(preset="mnist").fit(X).transform(X)[0, 0].round(3)
    array([-0.424,  1.199], dtype=float32)
    """

    #: Fitted attributes a saved pipeline holds (name -> JSON kind, see skmnist._archive).
    _saved_attributes = {"mean_": "array", "std_": "array", "input_shape_": "tuple",
                         "n_features_in_": "int", "feature_names_in_": "labels"}
    _tuple_params = ()

    def __init__(self, mean=None, std=None, *, preset=None):
        self.mean = mean
        self.std = std
        self.preset = preset

    def _check_params(self):
        """The ``mean`` and ``std`` to use (None: learned), from the parameters and preset."""
        mean = _check_stat_param(self.mean, "mean", positive=False)
        std = _check_stat_param(self.std, "std", positive=True)
        if self.preset is not None:
            if not isinstance(self.preset, str) or self.preset not in _PRESETS:
                raise ValueError(
                    f"preset must be None or one of {sorted(_PRESETS)}, got "
                    f"{self.preset!r}."
                )
            preset_mean, preset_std = _PRESETS[self.preset]
            mean = np.array([preset_mean]) if mean is None else mean
            std = np.array([preset_std]) if std is None else std
        return mean, std

    def _check_saved_state(self):
        """Check a state read from a file with the checks of :meth:`fit`."""
        mean, std = self._check_params()
        _check_saved_shape(self, self.input_shape_, "input_shape_")
        n_channels = self.input_shape_[0] if len(self.input_shape_) == 3 else 1
        for name, value, given in (("mean_", self.mean_, mean), ("std_", self.std_, std)):
            if value is None or value.dtype.kind != "f" or value.shape != (n_channels,):
                raise ValueError(f"{name} must hold {n_channels} float value(s), one per "
                                 "channel.")
            if given is not None and not np.array_equal(
                    value, _per_channel(given, n_channels, name[:-1])):
                raise ValueError(f"{name} differs from the {name[:-1]} parameter.")
        if (self.std_ <= 0).any():
            raise ValueError("std_ must be positive.")
        self.mean_ = self.mean_.astype(np.float64)
        self.std_ = self.std_.astype(np.float64)

    def fit(self, X, y=None):
        """Learn, or take from the parameters, the per-channel mean and std.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, h, w) or \
                (n_samples, c, h, w)
            Pixel values.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        mean, std = self._check_params()
        X = validate_pixels(self, X, reset=True)
        self.input_shape_ = X.shape[1:]
        n_channels = X.shape[1] if X.ndim == 4 else 1
        axis = (0, 2, 3) if X.ndim == 4 else None

        if self.preset is not None and X.max() > 1:
            warnings.warn(
                f"preset={self.preset!r} is for pixel values in [0, 1], but X has "
                f"values up to {X.max()}; scale X first, e.g. with PixelScaler.",
                UserWarning,
            )
        if mean is None or std is None:
            learned_mean, learned_std = _mean_std(X, axis)
        if mean is None:
            self.mean_ = learned_mean
        else:
            self.mean_ = _per_channel(mean, n_channels, "mean")
        if std is None:
            learned_std[learned_std < 10 * np.finfo(np.float64).eps] = 1.0
            self.std_ = learned_std
        else:
            self.std_ = _per_channel(std, n_channels, "std")
        return self

    def _broadcast(self, values, ndim, dtype=np.float32):
        """Per-channel statistics shaped to broadcast against the data."""
        values = values.astype(dtype)
        return values.reshape(1, -1, 1, 1) if ndim == 4 else values[0]

    def transform(self, X):
        """Standardize `X` with `mean_` and `std_`.

        Parameters
        ----------
        X : array-like of shape `(n_samples, *input_shape_)`
            Pixel values, in the layout seen in :meth:`fit`.

        Returns
        -------
        X_standardized : ndarray of float32, same shape as `X`
            ``(X - mean_) / std_`` per channel.
        """
        check_is_fitted(self)
        X = validate_pixels(self, X, reset=False)
        _check_sample_shape(self, X, self.input_shape_)

        def standardize(X, dtype):
            Xt = X.astype(dtype)
            Xt -= self._broadcast(self.mean_, X.ndim, dtype)
            Xt /= self._broadcast(self.std_, X.ndim, dtype)
            return Xt

        Xt = float32_output(self, X, standardize, params=[self.mean_, self.std_],
                            what=f"mean_={self.mean_.tolist()!r:.60}, std_="
                                 f"{self.std_.tolist()!r:.60}")
        _check_dense_output(self, Xt)
        return Xt

    def inverse_transform(self, X):
        """Undo the standardization: ``X * std_ + mean_`` per channel.

        Parameters
        ----------
        X : array-like of shape `(n_samples, *input_shape_)`
            Standardized values.

        Returns
        -------
        X_original : ndarray of float32, same shape as `X`
            Values on the original scale.
        """
        check_is_fitted(self)
        X = _check_inverse_input(self, X, self.input_shape_)

        def unstandardize(X, dtype):
            Xt = X.astype(dtype)
            Xt *= self._broadcast(self.std_, X.ndim, dtype)
            Xt += self._broadcast(self.mean_, X.ndim, dtype)
            return Xt

        return float32_output(self, X, unstandardize, params=[self.mean_, self.std_],
                              what=f"mean_={self.mean_.tolist()!r:.60}, std_="
                                   f"{self.std_.tolist()!r:.60}")

    def get_feature_names_out(self, input_features=None):
        """Get output feature names: the input's, as values stay in place.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names, checked against `n_features_in_` (and
            `feature_names_in_` if defined) and returned. When None, flat
            input gives `feature_names_in_` or ``x0, x1, ...``, and images
            give ``pixel_{row}_{col}`` or ``pixel_{c}_{row}_{col}`` names.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per value of a sample.
        """
        check_is_fitted(self)
        return _one_to_one_feature_names(self, input_features, self.input_shape_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
