"""Parameter and input checks shared by the estimators.

The idea follows scikit-learn's private ``_parameter_constraints``
machinery without importing it: each check raises a ``ValueError`` that
names the parameter, says what it got and what would be valid.
"""

import math
import numbers

import numpy as np
from sklearn.utils import check_array


def check_int(value, name, *, low=None, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}.")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}.")
    return int(value)


def check_float(value, name, *, low=None, high=None, low_open=False, high_open=False,
                allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}.")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}.")
    return float(value)


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}."
        )
    return value


def check_image_shape(image_shape, n_features=None):
    """Validate ``image_shape``: None, ``(h, w)`` or ``(c, h, w)`` -> ``(c, h, w)``.

    One entry may be -1, as in ``numpy.reshape``; it is inferred from
    ``n_features`` when that is given.
    """
    if image_shape is None:
        return None
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = ()
    valid = len(shape) in (2, 3) and all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and (s >= 1 or s == -1)
        for s in shape
    ) and sum(s == -1 for s in shape) <= 1
    if not valid:
        raise ValueError(
            "image_shape must be (height, width) or (channels, height, width) with "
            f"positive integers (one may be -1 to infer it), got {image_shape!r}."
        )
    shape = tuple(int(s) for s in shape)
    shape = (1,) + shape if len(shape) == 2 else shape
    if n_features is not None and -1 in shape:
        known = int(np.prod([s for s in shape if s != -1]))
        if n_features % known:
            raise ValueError(
                f"image_shape={image_shape!r} cannot hold {n_features} features per sample: "
                f"{n_features} is not a multiple of {known}."
            )
        shape = tuple(n_features // known if s == -1 else s for s in shape)
    return shape


def square_side(n_features):
    side = math.isqrt(n_features)
    return side if side * side == n_features else None


def as_numeric_array(X, *, input_name="X"):
    """Validate an array of any dimension >= 2 the way scikit-learn would."""
    return check_array(
        X, accept_sparse=False, dtype="numeric", ensure_all_finite=True, allow_nd=True,
        ensure_2d=True, ensure_min_samples=1, input_name=input_name,
    )
