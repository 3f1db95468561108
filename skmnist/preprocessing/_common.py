"""Helpers every transformer of :mod:`skmnist.preprocessing` shares.

How input is validated and how flat rows become images is not here but in
:mod:`skmnist._shapes`, the one policy the estimators use too; this module
holds what only transformers need: per-sample shape checks, pixel feature
names and the refusal of DataFrame output for images.
"""

import math
import numbers

import numpy as np
from sklearn import get_config
from sklearn.utils.validation import _check_feature_names_in, check_array

from .._shapes import as_chw

# Reshaping never changes values, so every numeric dtype comes out as it went in.
ALL_DTYPES = ["float64", "float32", "int64", "int32", "uint8"]
_FLOAT32 = np.finfo(np.float32)


def _is_float32_normal(value):
    """Whether a nonzero statistic keeps its precision in float32 (not subnormal, not inf)."""
    magnitude = np.abs(np.asarray(value, dtype=np.float64))
    return bool(np.all((magnitude == 0) | ((magnitude >= _FLOAT32.tiny)
                                           & (magnitude <= _FLOAT32.max))))


def float32_output(estimator, X, compute, *, params, what):
    """``compute(X, dtype)`` as a float32 array, never inf for finite ``X``.

    The computation runs in float32, as it always has; where that would
    overflow (or where a statistic in ``params`` cannot be held in float32
    without losing its value) it runs again in float64 and the result is
    cast. A result beyond float32's range (about 3.4e38) cannot be
    represented at all: refused with a ``ValueError`` naming X and ``what``
    (the parameter or statistic that scales it), instead of returning inf.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if all(_is_float32_normal(p) for p in params):
            Xt = compute(X, np.float32)
            if np.isfinite(Xt).all():
                return Xt
        X64 = compute(X, np.float64)
        if np.isfinite(X64).all() and np.abs(X64).max(initial=0.0) <= _FLOAT32.max:
            return X64.astype(np.float32)
    largest = float(np.max(np.abs(np.asarray(X, dtype=np.float64)), initial=0))
    raise ValueError(
        f"X has values (up to {largest:.4g} in magnitude) that {type(estimator).__name__} "
        f"with {what} maps beyond the largest float32 value ({_FLOAT32.max:.3g}): the "
        "output cannot be represented. Rescale X (e.g. with PixelScaler) or choose "
        "larger statistics."
    )


def _check_saved_shape(estimator, shape, name, *, images_only=False):
    """A loaded per-sample shape, ``n_features_in_`` and ``feature_names_in_`` agree.

    The checks of a state read from a file (see :mod:`skmnist._pipeline_io`):
    ``shape`` (the attribute ``name``) is ``(n_features,)``, ``(h, w)`` or
    ``(c, h, w)`` (only the last with ``images_only``) of positive integers
    holding ``n_features_in_`` values; column names, which only DataFrames
    bring, name each of them.
    """
    if not (3 if images_only else 1) <= len(shape) <= 3 or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1
            for s in shape):
        raise ValueError(f"{name} must be {'3' if images_only else '1 to 3'} positive "
                         f"integers, got {shape}.")
    if estimator.n_features_in_ != math.prod(shape):
        raise ValueError(
            f"n_features_in_={estimator.n_features_in_} does not match {name}={shape}.")
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and (names.ndim != 1 or len(names) != estimator.n_features_in_
                              or not all(isinstance(n, str) for n in names)
                              or (not images_only and len(shape) != 1)):
        raise ValueError("feature_names_in_ must name each of the n_features_in_ columns.")


def _check_positive_number(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")


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
    c, h, w = as_chw(shape)
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
