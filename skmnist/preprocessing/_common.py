"""Helpers every transformer of :mod:`skmnist.preprocessing` shares.

How input is validated and how flat rows become images is not here but in
:mod:`skmnist._shapes`, the one policy the estimators use too; this module
holds what only transformers need: per-sample shape checks, pixel feature
names and the refusal of DataFrame output for images.
"""

import numpy as np
from sklearn import get_config
from sklearn.utils.validation import _check_feature_names_in, check_array

from .._shapes import as_chw

# Reshaping never changes values, so every numeric dtype comes out as it went in.
ALL_DTYPES = ["float64", "float32", "int64", "int32", "uint8"]


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
