"""The parameter checkers of the whole library: one set, written once.

The idea follows scikit-learn's private ``_parameter_constraints``
machinery without importing it: each check raises a ``ValueError`` that
names the parameter, says what it got and what would be valid. The module
needs only numpy, so every layer may use it (the torch-only
:mod:`skmnist.models` included).
"""

import math
import numbers

import numpy as np


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def check_int(value, name, *, low=None, high=None, allow_none=False, allow_auto=False):
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name``.

    Booleans are refused (``True`` is not a count); ``low`` and ``high`` are
    inclusive bounds. With ``allow_auto``, the string ``"auto"`` is returned
    as it is.
    """
    if value is None and allow_none:
        return None
    if allow_auto and _is_auto(value):
        return value
    if not _is_int(value):
        kind = "an integer or 'auto'" if allow_auto else "an integer"
        raise ValueError(f"{name} must be {kind}, got {value!r}.")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}.")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}.")
    return int(value)


def check_float(value, name, *, low=None, high=None, low_open=False, high_open=False,
                allow_none=False, allow_auto=False):
    """Return ``value`` as a finite float within the bounds, or raise ``ValueError``.

    With ``allow_auto``, the string ``"auto"`` is returned as it is.
    """
    if value is None and allow_none:
        return None
    if allow_auto and _is_auto(value):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        kind = "a finite number or 'auto'" if allow_auto else "a finite number"
        raise ValueError(f"{name} must be {kind}, got {value!r}.")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}.")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}.")
    return float(value)


def check_bool(value, name):
    """Return ``value`` as a bool; only ``True``/``False`` (numpy's too) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError``."""
    try:
        valid = value in choices
    except TypeError:  # e.g. an unhashable value against a set
        valid = False
    if not valid:
        raise ValueError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}."
        )
    return value


def check_int_tuple(value, name, *, low=1, allow_empty=True):
    """A sequence of ints >= ``low`` (a single int counts as one) -> tuple of int.

    Entries are named ``name[i]`` in errors.
    """
    if _is_int(value):
        value = (value,)
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError
        value = tuple(value)
    except TypeError:
        raise ValueError(
            f"{name} must be a sequence of integers >= {low}, got {value!r}."
        ) from None
    if not allow_empty and not value:
        raise ValueError(f"{name} must not be empty.")
    return tuple(check_int(v, f"{name}[{i}]", low=low) for i, v in enumerate(value))
