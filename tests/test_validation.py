"""The parameter checkers every part of skmnist uses (skmnist/_validation.py)."""

import numpy as np
import pytest

from skmnist._validation import check_bool, check_choice, check_float, check_int, check_int_tuple


def test_check_int():
    assert check_int(np.int64(3), "n", low=1) == 3 and check_int(None, "n", allow_none=True) is None
    for bad, match in ((True, "n must be an integer"), (2.0, "n must be an integer"),
                       (0, "n must be >= 1, got 0"), (9, "n must be <= 5"), (None, "integer")):
        with pytest.raises(ValueError, match=match):
            check_int(bad, "n", low=1, high=5)


def test_check_float():
    assert check_float(1, "lr", low=0, low_open=True) == 1.0
    for bad, match in ((0, "lr must be > 0"), (float("nan"), "finite"), ("1", "finite"),
                       (np.bool_(True), "finite"), (2, "lr must be < 2")):
        with pytest.raises(ValueError, match=match):
            check_float(bad, "lr", low=0, low_open=True, high=2, high_open=True)


def test_check_bool_and_choice():
    assert check_bool(np.True_, "flag") is True
    with pytest.raises(ValueError, match="flag must be True or False, got 1"):
        check_bool(1, "flag")
    assert check_choice(None, "s", (None, "cosine")) is None
    with pytest.raises(ValueError, match="s must be one of None, 'cosine'; got 'x'"):
        check_choice("x", "s", (None, "cosine"))
    with pytest.raises(ValueError, match="must be one of"):
        check_choice([1], "s", {"a"})  # unhashable


def test_check_int_tuple():
    assert check_int_tuple([8, 16], "channels") == (8, 16)
    assert check_int_tuple(4, "channels") == (4,)
    with pytest.raises(ValueError, match=r"channels\[1\] must be >= 1, got 0"):
        check_int_tuple((8, 0), "channels")
    with pytest.raises(ValueError, match="channels must not be empty"):
        check_int_tuple((), "channels", allow_empty=False)
    with pytest.raises(ValueError, match="sequence of integers"):
        check_int_tuple("8", "channels")
