"""Tests for ImageResizer (skmnist/preprocessing/_resize.py)."""

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits
from torchvision.transforms.v2 import functional as TF

from skmnist.preprocessing import ImageResizer, PixelScaler


@pytest.fixture
def rng():
    return np.random.RandomState(0)


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


def test_resizes_flat_digits_to_28x28(digits):
    X, _ = digits
    resizer = ImageResizer().fit(X)
    assert resizer.input_shape_ == (1, 8, 8)
    assert resizer.output_shape_ == (1, 28, 28)
    assert resizer.n_features_in_ == 64
    Xt = resizer.transform(X)
    assert Xt.shape == (X.shape[0], 784)
    assert Xt.dtype == np.float32
    assert Xt.min() >= 0 and Xt.max() <= 16


def test_output_keeps_the_input_layout(rng):
    images = rng.rand(4, 3, 6, 6)
    resizer = ImageResizer(size=(3, 4)).fit(images)
    assert resizer.output_shape_ == (3, 3, 4)
    out_images = resizer.transform(images)
    assert out_images.shape == (4, 3, 3, 4)
    out_flat = resizer.transform(images.reshape(4, -1))
    assert out_flat.shape == (4, 36)
    assert_array_equal(out_flat, out_images.reshape(4, -1))

    gray = rng.rand(4, 6, 6)
    resizer = ImageResizer(size=5).fit(gray)
    assert resizer.input_shape_ == (1, 6, 6)
    assert resizer.transform(gray).shape == (4, 5, 5)
    assert resizer.transform(gray[:, None]).shape == (4, 1, 5, 5)


@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("size", [(14, 14), (40, 30)], ids=str)
def test_matches_torchvision_resize(rng, antialias, size):
    images = rng.rand(5, 3, 28, 28).astype(np.float32)
    expected = TF.resize(
        torch.from_numpy(images),
        list(size),
        interpolation=TF.InterpolationMode.BILINEAR,
        antialias=antialias,
    ).numpy()
    out = ImageResizer(size=size, antialias=antialias).fit_transform(images)
    assert_allclose(out, expected, atol=1e-5)


def test_antialias_smooths_downsampling():
    checkerboard = (np.indices((15, 15)).sum(axis=0) % 2).astype(np.float32)[None]
    smooth = ImageResizer(size=(5, 5), antialias=True).fit_transform(checkerboard)
    aliased = ImageResizer(size=(5, 5), antialias=False).fit_transform(checkerboard)
    assert_allclose(smooth, 0.5, atol=0.05)
    # without the low-pass filter each output samples a single square
    assert_array_equal(aliased[0], np.indices((5, 5)).sum(axis=0) % 2)


def test_value_range_is_preserved_per_image(rng):
    images = rng.randint(50, 200, size=(6, 2, 5, 7)).astype(np.uint8)
    out = ImageResizer(size=(23, 11)).fit_transform(images)
    assert np.all(out.min(axis=(2, 3)) >= images.min(axis=(2, 3)))
    assert np.all(out.max(axis=(2, 3)) <= images.max(axis=(2, 3)))
    constant = np.full((2, 1, 5, 5), 7.0)
    assert_array_equal(ImageResizer(size=(9, 3)).fit_transform(constant), 7.0)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64])
def test_output_is_float32(rng, dtype):
    X = rng.randint(0, 256, size=(3, 16)).astype(dtype)
    assert ImageResizer(size=(8, 8)).fit_transform(X).dtype == np.float32


def test_same_size_is_identity(rng):
    X = rng.randint(0, 256, size=(3, 1, 5, 5)).astype(np.uint8)
    assert_array_equal(ImageResizer(size=(5, 5)).fit_transform(X), X.astype(np.float32))


def test_rgb_flat_input_is_inferred(rng):
    X = rng.rand(2, 3 * 4 * 4)
    resizer = ImageResizer(size=(8, 8)).fit(X)
    assert resizer.input_shape_ == (3, 4, 4)
    assert resizer.transform(X).shape == (2, 3 * 8 * 8)


def test_explicit_image_shape_for_non_square_input(rng):
    X = rng.rand(2, 24)
    with pytest.raises(ValueError, match=r"Pass image_shape=\(height, width\)"):
        ImageResizer().fit(X)
    resizer = ImageResizer(size=(8, 12), image_shape=(4, 6)).fit(X)
    assert resizer.input_shape_ == (1, 4, 6)
    assert resizer.transform(X).shape == (2, 96)
    assert ImageResizer(image_shape=(2, -1, 3)).fit(X).input_shape_ == (2, 4, 3)
    with pytest.raises(ValueError, match=r"image_shape=\(5, 5\) holds 25 values"):
        ImageResizer(image_shape=(5, 5)).fit(X)
    with pytest.raises(ValueError, match=r"image_shape=\(2, 8\) does not match"):
        ImageResizer(image_shape=(2, 8)).fit(rng.rand(2, 4, 4))


@pytest.mark.parametrize(
    "size", [0, -3, "28", (28,), (28, 28, 3), 2.5, True, (28, 0), (28.0, 28), None],
    ids=repr,
)
def test_rejects_invalid_size(rng, size):
    with pytest.raises(ValueError, match="size must be a positive integer"):
        ImageResizer(size=size).fit(rng.rand(2, 16))


@pytest.mark.parametrize("antialias", ["yes", 1, None], ids=repr)
def test_rejects_invalid_antialias(rng, antialias):
    with pytest.raises(ValueError, match="antialias must be True or False"):
        ImageResizer(antialias=antialias).fit(rng.rand(2, 16))


def test_rejects_invalid_image_shape(rng):
    with pytest.raises(ValueError, match="image_shape must be"):
        ImageResizer(image_shape=(0, 4)).fit(rng.rand(2, 16))


def test_does_not_mutate_parameters(rng):
    size, image_shape = [6, 6], [4, 4]
    resizer = ImageResizer(size=size, image_shape=image_shape).fit(rng.rand(2, 16))
    assert resizer.size is size and size == [6, 6]
    assert resizer.image_shape is image_shape and image_shape == [4, 4]
    assert resizer.output_shape_ == (1, 6, 6)


def test_transform_rejects_other_images(rng):
    resizer = ImageResizer(size=(4, 4)).fit(rng.rand(2, 1, 6, 6))
    with pytest.raises(ValueError, match=r"fitted on images of shape \(1, 6, 6\)"):
        resizer.transform(rng.rand(2, 1, 4, 9))
    with pytest.raises(ValueError, match="is expecting 36 features"):
        resizer.transform(rng.rand(2, 1, 5, 5))


def test_feature_names_and_pandas_output(rng):
    df = pd.DataFrame(rng.rand(3, 4), columns=list("abcd"))
    resizer = ImageResizer(size=(1, 3)).set_output(transform="pandas").fit(df)
    assert_array_equal(resizer.feature_names_in_, list("abcd"))
    out = resizer.transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["pixel_0_0", "pixel_0_1", "pixel_0_2"]
    with pytest.raises(ValueError, match="input_features is not equal"):
        resizer.get_feature_names_out(list("abce"))
    with pytest.raises(ValueError, match="input_features should have length"):
        ImageResizer(size=2).fit(rng.rand(2, 4)).get_feature_names_out(["a"])

    rgb = ImageResizer(size=(1, 2)).fit(rng.rand(2, 2, 3, 3))
    assert_array_equal(
        rgb.get_feature_names_out(),
        ["pixel_0_0_0", "pixel_0_0_1", "pixel_1_0_0", "pixel_1_0_1"],
    )
    with pytest.raises(ValueError, match="only 2-D output"):
        ImageResizer(size=2).set_output(transform="pandas").fit_transform(
            rng.rand(2, 3, 3)
        )


def test_pipeline_with_digits_and_logistic_regression(digits):
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    model = make_pipeline(
        ImageResizer(size=(16, 16)),
        PixelScaler(max_value=16),
        LogisticRegression(max_iter=500),
    )
    # One BLAS thread: on such a small problem more threads only add overhead
    # (and contend with torch's OpenMP pool on small CI machines).
    with threadpool_limits(limits=1):
        model.fit(X_train, y_train)
        score = model.score(X_test, y_test)
    assert model[-1].n_features_in_ == 256
    assert score > 0.9


# Bounded output (issue 12, item 5): size=10**6 would ask for terabytes.
@pytest.mark.parametrize("size", [10**6, (10**5, 10**5), (8193, 8193)])
def test_huge_sizes_are_refused_before_allocating(rng, size):
    X = rng.rand(2, 64)
    with pytest.raises(ValueError, match=r"size=.* more than ImageResizer makes"):
        ImageResizer(size=size).fit(X)


def test_the_limit_counts_channels(rng):
    X = rng.rand(2, 3 * 4 * 4)  # three channels
    assert ImageResizer(size=4096).fit(X).output_shape_ == (3, 4096, 4096)
    with pytest.raises(ValueError, match="makes images of 3 x 5,000 x 5,000"):
        ImageResizer(size=5000).fit(X)  # 25 million pixels: one channel would pass


def test_output_larger_than_memory_is_refused(rng, monkeypatch):
    from skmnist.preprocessing import _resize

    resizer = ImageResizer(size=64).fit(rng.rand(2, 64))
    monkeypatch.setattr(_resize, "_physical_memory", lambda: 2**20)
    with pytest.raises(ValueError, match="more than this machine's"):
        resizer.transform(rng.rand(100, 64))  # 100 x 64 x 64 float32 = 1.6 MiB


def test_chunks_bound_memory_and_give_the_same_result(rng, monkeypatch):
    from skmnist.preprocessing import _resize

    X = rng.rand(37, 1, 9, 9)
    whole = ImageResizer(size=30).fit(X).transform(X)
    monkeypatch.setattr(_resize, "_CHUNK_VALUES", 2000)  # a few images per chunk
    np.testing.assert_array_equal(ImageResizer(size=30).fit(X).transform(X), whole)


@pytest.mark.parametrize("size", [8, 16])
def test_values_beyond_float32_are_refused_not_inf(rng, size):
    X = rng.rand(3, 64)
    X[1, 5] = 1e39  # finite in float64, inf in float32
    resizer = ImageResizer(size=size).fit(rng.rand(3, 64))
    with pytest.raises(ValueError, match="X has values beyond the largest float32"):
        resizer.transform(X)


def test_values_near_float32_max_stay_finite(rng):
    X = np.full((2, 1, 8, 8), np.finfo(np.float32).max, dtype=np.float32)
    X[:, :, ::2] = -np.finfo(np.float32).max
    Xt = ImageResizer(size=5).fit(X).transform(X)  # antialiased sums round past the max
    assert np.isfinite(Xt).all()
