"""Tests for ImageFlattener and ImageReshaper (skmnist/preprocessing/_shape.py)."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn import config_context

from skmnist.preprocessing import ImageFlattener, ImageReshaper


@pytest.fixture
def rng():
    return np.random.RandomState(0)


# --------------------------------------------------------------------------
# ImageFlattener
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape", [(5, 3, 4, 6), (5, 1, 4, 4), (5, 4, 6), (5, 7)], ids=str
)
def test_flattener_flattens_in_c_order(rng, shape):
    X = rng.randint(0, 256, size=shape).astype(np.uint8)
    flattener = ImageFlattener().fit(X)
    Xt = flattener.transform(X)
    assert Xt.shape == (5, int(np.prod(shape[1:])))
    assert_array_equal(Xt, X.reshape(5, -1))
    assert flattener.input_shape_ == shape[1:]
    assert flattener.n_features_in_ == Xt.shape[1]


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int32, np.int64, np.float32, np.float64]
)
def test_flattener_preserves_dtype(rng, dtype):
    X = rng.randint(0, 256, size=(4, 1, 3, 3)).astype(dtype)
    assert ImageFlattener().fit_transform(X).dtype == dtype


def test_flattener_returns_a_copy(rng):
    X = rng.rand(3, 2, 2)
    Xt = ImageFlattener().fit_transform(X)
    Xt[:] = -1
    assert X.min() >= 0


def test_flattener_accepts_lists(rng):
    X = rng.randint(0, 10, size=(3, 2, 2))
    assert_array_equal(ImageFlattener().fit_transform(X.tolist()), X.reshape(3, 4))


def test_flattener_rejects_other_sample_shape(rng):
    flattener = ImageFlattener().fit(rng.rand(4, 6, 4))
    # same number of values, other shape
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(6, 4\)"):
        flattener.transform(rng.rand(4, 4, 6))
    with pytest.raises(ValueError, match=r"\(1, 6, 4\)"):
        flattener.transform(rng.rand(4, 1, 6, 4))
    with pytest.raises(ValueError, match=r"\(24,\)"):
        flattener.transform(rng.rand(4, 24))
    # other number of values
    with pytest.raises(ValueError, match="is expecting 24 features"):
        flattener.transform(rng.rand(4, 5, 4))


def test_flattener_inverse_transform_round_trip(rng):
    X = rng.randint(0, 256, size=(3, 3, 4, 5)).astype(np.uint8)
    flattener = ImageFlattener().fit(X)
    X_back = flattener.inverse_transform(flattener.transform(X))
    assert X_back.dtype == np.uint8
    assert_array_equal(X_back, X)
    with pytest.raises(ValueError, match=r"\(60,\)"):
        flattener.inverse_transform(rng.rand(3, 59))


def test_flattener_feature_names(rng):
    names = ImageFlattener().fit(rng.rand(2, 2, 3)).get_feature_names_out()
    assert_array_equal(
        names,
        ["pixel_0_0", "pixel_0_1", "pixel_0_2", "pixel_1_0", "pixel_1_1", "pixel_1_2"],
    )
    assert names.dtype == object

    names = ImageFlattener().fit(rng.rand(2, 1, 2, 2)).get_feature_names_out()
    assert_array_equal(names, ["pixel_0_0", "pixel_0_1", "pixel_1_0", "pixel_1_1"])

    names = ImageFlattener().fit(rng.rand(2, 2, 1, 2)).get_feature_names_out()
    assert_array_equal(
        names, ["pixel_0_0_0", "pixel_0_0_1", "pixel_1_0_0", "pixel_1_0_1"]
    )

    # flat input keeps its own names
    flat = ImageFlattener().fit(rng.rand(2, 3))
    assert_array_equal(flat.get_feature_names_out(), ["x0", "x1", "x2"])
    assert_array_equal(flat.get_feature_names_out(["a", "b", "c"]), ["a", "b", "c"])
    with pytest.raises(ValueError, match="input_features should have length"):
        flat.get_feature_names_out(["a"])


def test_flattener_pandas_in_and_out(rng):
    df = pd.DataFrame(rng.rand(4, 3), columns=["a", "b", "c"])
    flattener = ImageFlattener().set_output(transform="pandas").fit(df)
    assert_array_equal(flattener.feature_names_in_, ["a", "b", "c"])
    out = flattener.transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["a", "b", "c"]

    images = rng.rand(4, 2, 2)
    out = ImageFlattener().set_output(transform="pandas").fit_transform(images)
    assert list(out.columns) == ["pixel_0_0", "pixel_0_1", "pixel_1_0", "pixel_1_1"]
    assert_array_equal(out.to_numpy(), images.reshape(4, 4))


# --------------------------------------------------------------------------
# ImageReshaper
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_features, expected",
    [(784, (1, 28, 28)), (64, (1, 8, 8)), (3 * 32 * 32, (3, 32, 32)), (1, (1, 1, 1))],
)
def test_reshaper_infers_square_shapes(rng, n_features, expected):
    X = rng.rand(3, n_features)
    reshaper = ImageReshaper().fit(X)
    assert reshaper.image_shape_ == expected
    assert reshaper.n_features_in_ == n_features
    Xt = reshaper.transform(X)
    assert Xt.shape == (3, *expected)
    assert_array_equal(Xt.reshape(3, -1), X)


@pytest.mark.parametrize("n_features", [2, 5, 10, 50, 785])
def test_reshaper_refuses_to_guess_non_square_shapes(rng, n_features):
    with pytest.raises(ValueError, match=r"Pass image_shape=\(height, width\)"):
        ImageReshaper().fit(rng.rand(3, n_features))


@pytest.mark.parametrize(
    "image_shape, expected",
    [
        ((4, 6), (1, 4, 6)),
        ([4, 6], (1, 4, 6)),
        ((2, 3, 4), (2, 3, 4)),
        ((-1, 4), (1, 6, 4)),
        ((1, -1), (1, 1, 24)),
        ((-1, 2, 2), (6, 2, 2)),
        ((np.int64(2), 3, -1), (2, 3, 4)),
    ],
    ids=str,
)
def test_reshaper_explicit_image_shape(rng, image_shape, expected):
    X = rng.rand(3, 24)
    reshaper = ImageReshaper(image_shape=image_shape).fit(X)
    assert reshaper.image_shape_ == expected
    assert_array_equal(reshaper.transform(X), X.reshape(3, *expected))


@pytest.mark.parametrize(
    "image_shape",
    [
        (0, 4),
        (4,),
        (1, 2, 3, 4),
        "28x28",
        (-1, -1),
        (2.0, 12),
        (True, 24),
        24,
        (-2, 12),
    ],
    ids=repr,
)
def test_reshaper_rejects_invalid_image_shape(rng, image_shape):
    with pytest.raises(ValueError, match="image_shape must be"):
        ImageReshaper(image_shape=image_shape).fit(rng.rand(3, 24))


@pytest.mark.parametrize("image_shape", [(5, 5), (2, 3, 5), (-1, 5)], ids=str)
def test_reshaper_rejects_image_shape_of_wrong_size(rng, image_shape):
    with pytest.raises(ValueError, match=r"image_shape=\("):
        ImageReshaper(image_shape=image_shape).fit(rng.rand(3, 24))


def test_reshaper_does_not_mutate_image_shape(rng):
    image_shape = [-1, 4]
    reshaper = ImageReshaper(image_shape=image_shape).fit(rng.rand(3, 24))
    assert reshaper.image_shape is image_shape
    assert image_shape == [-1, 4]


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64])
def test_reshaper_preserves_dtype(rng, dtype):
    X = rng.randint(0, 256, size=(3, 16)).astype(dtype)
    assert ImageReshaper().fit_transform(X).dtype == dtype


def test_reshaper_passes_images_through(rng):
    images = rng.rand(3, 2, 4, 4)
    reshaper = ImageReshaper().fit(images)
    assert reshaper.image_shape_ == (2, 4, 4)
    assert_array_equal(reshaper.transform(images), images)
    assert_array_equal(reshaper.transform(images.reshape(3, -1)), images)

    gray = rng.rand(3, 5, 5)
    reshaper = ImageReshaper().fit(gray)
    assert reshaper.image_shape_ == (1, 5, 5)
    assert_array_equal(reshaper.transform(gray), gray[:, None])

    # fitted on flat rows, also takes images of the resolved shape
    reshaper = ImageReshaper().fit(gray.reshape(3, -1))
    assert_array_equal(reshaper.transform(gray), gray[:, None])
    with pytest.raises(ValueError, match=r"fitted for images of shape \(1, 5, 5\)"):
        reshaper.transform(rng.rand(3, 1, 25, 1))


def test_reshaper_image_input_must_agree_with_image_shape(rng):
    images = rng.rand(3, 1, 4, 6)
    assert ImageReshaper(image_shape=(4, 6)).fit(images).image_shape_ == (1, 4, 6)
    assert ImageReshaper(image_shape=(-1, 6)).fit(images).image_shape_ == (1, 4, 6)
    with pytest.raises(ValueError, match=r"image_shape=\(6, 4\) does not match"):
        ImageReshaper(image_shape=(6, 4)).fit(images)


def test_reshaper_rejects_wrong_feature_count_in_transform(rng):
    reshaper = ImageReshaper().fit(rng.rand(3, 16))
    with pytest.raises(ValueError, match="is expecting 16 features"):
        reshaper.transform(rng.rand(3, 9))


def test_reshaper_inverse_transform_round_trip(rng):
    X = rng.randint(0, 256, size=(4, 3 * 16)).astype(np.uint8)
    reshaper = ImageReshaper().fit(X)
    images = reshaper.transform(X)
    assert images.shape == (4, 3, 4, 4)
    X_back = reshaper.inverse_transform(images)
    assert X_back.dtype == np.uint8
    assert_array_equal(X_back, X)
    assert_array_equal(reshaper.inverse_transform(X), X)
    with pytest.raises(ValueError, match=r"\(3, 4, 4\)"):
        reshaper.inverse_transform(rng.rand(4, 3, 2, 8))


def test_reshaper_is_inverse_of_flattener(rng):
    images = rng.rand(5, 3, 4, 2)
    flat = ImageFlattener().fit_transform(images)
    reshaper = ImageReshaper(image_shape=(3, 4, 2)).fit(flat)
    assert_array_equal(reshaper.transform(flat), images)
    assert_array_equal(
        reshaper.get_feature_names_out(),
        ImageFlattener().fit(images).get_feature_names_out(),
    )


def test_reshaper_feature_names(rng):
    reshaper = ImageReshaper(image_shape=(1, 2)).fit(rng.rand(3, 2))
    assert_array_equal(reshaper.get_feature_names_out(), ["pixel_0_0", "pixel_0_1"])
    assert_array_equal(
        reshaper.get_feature_names_out(["a", "b"]), ["pixel_0_0", "pixel_0_1"]
    )
    with pytest.raises(ValueError, match="input_features should have length"):
        reshaper.get_feature_names_out(["a"])
    df = pd.DataFrame(rng.rand(3, 4), columns=list("abcd"))
    reshaper = ImageReshaper().fit(df)
    assert_array_equal(reshaper.feature_names_in_, list("abcd"))
    assert len(reshaper.get_feature_names_out()) == 4
    assert reshaper.transform(df).shape == (3, 1, 2, 2)


def test_reshaper_output_is_never_a_dataframe(rng):
    X = rng.rand(3, 4)
    # 4-D output cannot be a DataFrame, so set_output is not offered ...
    assert not hasattr(ImageReshaper(), "set_output")
    # ... and the global setting leaves the output alone.
    with config_context(transform_output="pandas"):
        out = ImageReshaper().fit_transform(X)
    assert isinstance(out, np.ndarray)
    assert out.shape == (3, 1, 2, 2)
