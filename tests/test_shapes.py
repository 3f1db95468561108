"""The one image-shape policy (skmnist/_shapes.py), as every reader of input sees it.

The classifier, the fine-tuner, ``ImageReshaper`` and ``ImageResizer`` read a
flat row the same way; these tests check the policy itself and that the
estimators agree on 28x28, 8x8, 3x32x32 and non-square input.
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from skmnist import SkMNISTClassifier, SkMNISTFineTuner
from skmnist._shapes import (
    check_image_shape,
    flat_image_shape,
    infer_image_shape,
    resolve_image_shape,
    validate_pixels,
)
from skmnist.preprocessing import ImageReshaper, ImageResizer

FAST = dict(hidden_units=(4,), max_epochs=1, device="cpu", random_state=0)


@pytest.mark.parametrize(("n_features", "expected"), [
    (784, (1, 28, 28)), (64, (1, 8, 8)), (3 * 32 * 32, (3, 32, 32)), (3 * 8 * 8, (3, 8, 8)),
    (16, (1, 4, 4)), (12, (3, 2, 2)), (1, (1, 1, 1)), (50, None), (785, None), (10, None),
])
def test_infer_image_shape(n_features, expected):
    assert infer_image_shape(n_features) == expected


@pytest.mark.parametrize(("n_features", "expected"), [
    (784, (1, 28, 28)), (64, (1, 8, 8)), (3072, (3, 32, 32)), (49, None), (16, None),
    (3 * 7 * 7, None), (50, None),
])
def test_images_are_optional_from_8x8_up(n_features, expected):
    assert flat_image_shape(n_features) == expected


def test_required_image_names_who_needs_it():
    with pytest.raises(ValueError, match=r"arch='cnn' needs images.* 50 features .*image_shape"):
        flat_image_shape(50, required="arch='cnn'")
    assert flat_image_shape(16, required="ImageReshaper") == (1, 4, 4)


@pytest.mark.parametrize(("image_shape", "n_features", "expected"), [
    ((4, 12), 48, (1, 4, 12)), ((3, -1, 4), 48, (3, 4, 4)), ((1, -1), 24, (1, 1, 24)),
    ([2, 3, 4], 24, (2, 3, 4)),
])
def test_explicit_image_shape_decides(image_shape, n_features, expected):
    assert flat_image_shape(n_features, image_shape) == expected
    assert flat_image_shape(n_features, image_shape, required="x") == expected


def test_explicit_image_shape_errors():
    with pytest.raises(ValueError, match=r"image_shape=\(5, 5\) holds 25 values per image"):
        resolve_image_shape((5, 5), 48)
    with pytest.raises(ValueError, match="not a multiple of 5"):
        resolve_image_shape((5, -1), 48)
    for bad in [(0, 8), (1, 1, 8, 8), 8, "28x28", (-1, -1), (2.0, 4), (True, 4)]:
        with pytest.raises(ValueError, match="image_shape must be"):
            check_image_shape(bad)
    assert check_image_shape((28, 28)) == (1, 28, 28)


def _readers_of(n_features, image_shape=None):
    """The image shape each reader sees in flat rows of n_features values."""
    rng = np.random.RandomState(0)
    X = rng.rand(12, n_features)
    y = np.arange(12) % 2
    shapes = {}
    clf = SkMNISTClassifier(arch="cnn", image_shape=image_shape, **FAST).fit(X, y)
    shapes["SkMNISTClassifier(arch='cnn')"] = clf.input_shape_
    auto = SkMNISTClassifier(image_shape=image_shape, **FAST).fit(X, y)
    shapes["SkMNISTClassifier(arch='auto')"] = auto.input_shape_ if auto.arch_ == "cnn" \
        else "tabular"
    tuner = SkMNISTFineTuner(clf, image_shape=image_shape, max_epochs=1, device="cpu",
                             random_state=0).fit(X, y)
    shapes["SkMNISTFineTuner"] = tuner.input_shape_
    shapes["ImageReshaper"] = ImageReshaper(image_shape=image_shape).fit(X).image_shape_
    shapes["ImageResizer"] = ImageResizer(size=4, image_shape=image_shape).fit(X).input_shape_
    return shapes


@pytest.mark.parametrize(("n_features", "image_shape", "expected"), [
    (784, None, (1, 28, 28)),
    (64, None, (1, 8, 8)),
    (3 * 32 * 32, None, (3, 32, 32)),
    (48, (4, 12), (1, 4, 12)),         # non-square: only with image_shape
    (48, (3, -1, 4), (3, 4, 4)),
])
def test_every_reader_reads_a_flat_image_the_same_way(n_features, image_shape, expected):
    shapes = _readers_of(n_features, image_shape)
    assert set(shapes.values()) == {expected}, shapes


@pytest.mark.parametrize("n_features", [50, 10])
def test_every_reader_refuses_a_row_that_is_no_image(n_features):
    X = np.random.RandomState(0).rand(12, n_features)
    y = np.arange(12) % 2
    for reader in (SkMNISTClassifier(arch="cnn", **FAST), ImageReshaper(), ImageResizer()):
        with pytest.raises(ValueError, match=r"needs images.*Pass image_shape"):
            reader.fit(X, y)
    # ... and where an image is optional, the row is tabular.
    assert SkMNISTClassifier(**FAST).fit(X, y).arch_ == "mlp"


def test_small_squares_are_tabular_only_where_images_are_optional():
    X = np.random.RandomState(0).rand(12, 16)
    y = np.arange(12) % 2
    assert SkMNISTClassifier(**FAST).fit(X, y).arch_ == "mlp"
    assert SkMNISTClassifier(arch="cnn", **FAST).fit(X, y).input_shape_ == (1, 4, 4)
    assert ImageReshaper().fit(X).image_shape_ == (1, 4, 4)


class _Plain(BaseEstimator):
    pass


def test_validate_pixels_counts_values_per_sample():
    est = _Plain()
    X = np.zeros((3, 2, 4, 5))
    assert validate_pixels(est, X, reset=True).shape == (3, 2, 4, 5)
    assert est.n_features_in_ == 40
    assert validate_pixels(est, X.reshape(3, -1), reset=False).shape == (3, 40)
    with pytest.raises(ValueError, match="X has 20 features .* expecting 40"):
        validate_pixels(est, X[:, :1], reset=False)
    with pytest.raises(ValueError, match=r"fitted on images of shape \(2, 4, 5\)"):
        validate_pixels(est, X.reshape(3, 2, 5, 4), reset=False, fitted_shape=(2, 4, 5))
    with pytest.raises(ValueError, match="X must be 2-D"):
        validate_pixels(est, np.zeros((3, 1, 1, 4, 4)), reset=True)
    with pytest.raises(ValueError, match="NaN"):
        validate_pixels(est, np.full((3, 4, 4), np.nan), reset=True)


# ------------------------------------------------------------------ one sample
@pytest.fixture(scope="module")
def fitted_on_digits():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, (30, 784)).astype(np.uint8)
    return SkMNISTClassifier(**FAST).fit(X, np.arange(30) % 2), X


def test_one_image_without_its_batch_axis_says_how_to_pass_it(fitted_on_digits):
    clf, X = fitted_on_digits
    for one in (X[0].reshape(28, 28), X[0].reshape(28, 28).tolist()):
        with pytest.raises(ValueError, match=r"one 28x28 image, not a batch .*img\[None\]"):
            clf.predict(one)
    assert clf.predict(X[0].reshape(1, 28, 28)).shape == (1,)  # a batch of one is fine


def test_a_flat_row_says_how_to_reshape_without_dumping_it(fitted_on_digits):
    clf, X = fitted_on_digits
    with pytest.raises(ValueError, match=r"shape \(784,\) .* X.reshape\(1, -1\) .* 28x28") as exc:
        clf.predict(X[0])
    assert "[" not in str(exc.value).split("reshape")[0]  # no array printed
    with pytest.raises(ValueError, match=r"Reshape your data: pass one sample"):
        SkMNISTClassifier(**FAST).fit(X[0], [0, 1])
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array of shape"):
        ImageReshaper().fit(X[0])


def test_rgb_image_without_batch_axis():
    rng = np.random.RandomState(0)
    X = rng.rand(12, 3, 8, 8)
    clf = SkMNISTClassifier(**FAST).fit(X, np.arange(12) % 2)
    with pytest.raises(ValueError, match="one 3-channel 8x8 image"):
        clf.predict(X[0])
