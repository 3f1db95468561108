"""Tests for PixelScaler and PixelStandardizer (skmnist/preprocessing/_pixels.py)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skmnist.preprocessing import PixelScaler, PixelStandardizer


@pytest.fixture
def rng():
    return np.random.RandomState(0)


# --------------------------------------------------------------------------
# PixelScaler
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 12), (4, 3, 4), (4, 3, 2, 2)], ids=str)
def test_scaler_auto_divides_8bit_pixels_by_255(rng, shape):
    X = rng.randint(0, 256, size=shape).astype(np.uint8)
    X.flat[0] = 255
    scaler = PixelScaler().fit(X)
    assert scaler.scale_ == 255.0
    Xt = scaler.transform(X)
    assert Xt.dtype == np.float32
    assert Xt.shape == X.shape
    assert_allclose(Xt, X / 255.0, rtol=1e-6)
    assert Xt.max() == 1.0


def test_scaler_auto_keeps_unit_range(rng):
    X = rng.rand(5, 4)
    scaler = PixelScaler().fit(X)
    assert scaler.scale_ == 1.0
    assert_allclose(scaler.transform(X), X, rtol=1e-6)


@pytest.mark.parametrize("max_value", [16, 16.0, np.float32(16), np.int64(16)])
def test_scaler_explicit_max_value(rng, max_value):
    X = rng.randint(0, 17, size=(5, 64))
    scaler = PixelScaler(max_value=max_value).fit(X)
    assert scaler.scale_ == 16.0
    assert isinstance(scaler.scale_, float)
    assert_allclose(scaler.transform(X), X / 16.0, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64])
def test_scaler_outputs_float32(rng, dtype):
    X = rng.randint(0, 256, size=(3, 1, 2, 2)).astype(dtype)
    assert PixelScaler().fit_transform(X).dtype == np.float32


@pytest.mark.parametrize(
    "max_value", [-1, 0, "255", "Auto", None, True, np.nan, np.inf, [255], 1j],
    ids=repr,
)
def test_scaler_rejects_invalid_max_value(rng, max_value):
    with pytest.raises(ValueError, match="max_value must be 'auto' or a positive"):
        PixelScaler(max_value=max_value).fit(rng.rand(3, 4))


def test_scaler_inverse_transform_round_trip(rng):
    X = rng.randint(0, 256, size=(4, 1, 3, 3)).astype(np.uint8)
    scaler = PixelScaler().fit(X)
    X_back = scaler.inverse_transform(scaler.transform(X))
    assert X_back.dtype == np.float32
    assert_allclose(X_back, X, atol=1e-4)
    with pytest.raises(ValueError, match="fitted on samples of shape"):
        scaler.inverse_transform(rng.rand(4, 9))


def test_scaler_rejects_other_sample_shape(rng):
    scaler = PixelScaler().fit(rng.rand(3, 4, 4))
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(4, 4\)"):
        scaler.transform(rng.rand(3, 16))
    with pytest.raises(ValueError, match="is expecting 16 features"):
        scaler.transform(rng.rand(3, 3, 3))


def test_scaler_feature_names_and_pandas_output(rng):
    df = pd.DataFrame(rng.randint(0, 256, size=(4, 3)), columns=["a", "b", "c"])
    scaler = PixelScaler().set_output(transform="pandas").fit(df)
    out = scaler.transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["a", "b", "c"]
    assert_allclose(out.to_numpy(), df.to_numpy() / 255.0, rtol=1e-6)

    images = PixelScaler().fit(rng.rand(2, 1, 2, 2))
    assert_array_equal(
        images.get_feature_names_out(),
        ["pixel_0_0", "pixel_0_1", "pixel_1_0", "pixel_1_1"],
    )
    assert_array_equal(images.get_feature_names_out(list("abcd")), list("abcd"))


def test_scaler_pandas_output_of_images_is_a_clear_error(rng):
    scaler = PixelScaler().set_output(transform="pandas")
    with pytest.raises(ValueError, match="only 2-D output"):
        scaler.fit_transform(rng.rand(3, 4, 4))


# --------------------------------------------------------------------------
# PixelStandardizer
# --------------------------------------------------------------------------


def test_standardizer_learns_per_channel_statistics(rng):
    X = rng.rand(10, 3, 4, 5) * np.array([1.0, 2.0, 3.0])[:, None, None]
    X += np.array([0.0, 10.0, -5.0])[:, None, None]
    standardizer = PixelStandardizer().fit(X)
    assert standardizer.mean_.shape == (3,)
    assert standardizer.std_.shape == (3,)
    assert_allclose(standardizer.mean_, X.mean(axis=(0, 2, 3)))
    assert_allclose(standardizer.std_, X.std(axis=(0, 2, 3)))
    Xt = standardizer.transform(X)
    assert Xt.dtype == np.float32
    assert Xt.shape == X.shape
    assert_allclose(Xt.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    assert_allclose(Xt.std(axis=(0, 2, 3)), 1, atol=1e-5)


@pytest.mark.parametrize("shape", [(10, 6), (10, 2, 3), (10, 1, 2, 3)], ids=str)
def test_standardizer_one_channel_layouts(rng, shape):
    X = rng.rand(*shape) * 4 + 1
    standardizer = PixelStandardizer().fit(X)
    assert_allclose(standardizer.mean_, [X.mean()])
    assert_allclose(standardizer.std_, [X.std()])
    assert_allclose(standardizer.transform(X), (X - X.mean()) / X.std(), atol=1e-5)


@pytest.mark.parametrize(
    "preset, mean, std",
    [("mnist", 0.1307, 0.3081), ("fashion_mnist", 0.2860, 0.3530)],
)
def test_standardizer_presets(rng, preset, mean, std):
    X = rng.rand(4, 1, 3, 3)
    standardizer = PixelStandardizer(preset=preset).fit(X)
    assert_allclose(standardizer.mean_, [mean])
    assert_allclose(standardizer.std_, [std])
    assert_allclose(standardizer.transform(X), (X - mean) / std, rtol=1e-5)


def test_standardizer_preset_broadcasts_to_channels(rng):
    standardizer = PixelStandardizer(preset="mnist").fit(rng.rand(4, 3, 2, 2))
    assert_allclose(standardizer.mean_, [0.1307] * 3)


def test_standardizer_preset_warns_on_unscaled_pixels(rng):
    X = rng.randint(0, 256, size=(4, 28, 28)).astype(np.uint8)
    with pytest.warns(UserWarning, match="PixelScaler"):
        PixelStandardizer(preset="mnist").fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PixelStandardizer(preset="mnist").fit(X / 255.0)
        PixelStandardizer().fit(X)


@pytest.mark.parametrize(
    "mean, std, expected_mean, expected_std",
    [
        (0.5, 2.0, [0.5, 0.5], [2.0, 2.0]),
        ([0.5], (2,), [0.5, 0.5], [2.0, 2.0]),
        ([0.1, 0.2], np.array([1.0, 3.0]), [0.1, 0.2], [1.0, 3.0]),
    ],
)
def test_standardizer_explicit_statistics(rng, mean, std, expected_mean, expected_std):
    X = rng.rand(5, 2, 3, 3)
    standardizer = PixelStandardizer(mean=mean, std=std).fit(X)
    assert_allclose(standardizer.mean_, expected_mean)
    assert_allclose(standardizer.std_, expected_std)
    expected = (X - np.reshape(expected_mean, (1, 2, 1, 1))) / np.reshape(
        expected_std, (1, 2, 1, 1)
    )
    assert_allclose(standardizer.transform(X), expected, rtol=1e-5, atol=1e-6)


def test_standardizer_explicit_values_override_preset_and_learning(rng):
    X = rng.rand(5, 1, 3, 3)
    standardizer = PixelStandardizer(mean=0.0, preset="mnist").fit(X)
    assert_allclose(standardizer.mean_, [0.0])
    assert_allclose(standardizer.std_, [0.3081])
    standardizer = PixelStandardizer(std=2.0).fit(X)
    assert_allclose(standardizer.mean_, [X.mean()])
    assert_allclose(standardizer.std_, [2.0])


def test_standardizer_zero_std_is_treated_as_one():
    X = np.zeros((4, 2, 2, 2))
    X[:, 1] = np.arange(4)[:, None, None]
    standardizer = PixelStandardizer().fit(X)
    assert_allclose(standardizer.std_[0], 1.0)
    Xt = standardizer.transform(X)
    assert np.all(np.isfinite(Xt))
    assert_allclose(Xt[:, 0], 0.0)


def test_standardizer_inverse_transform_round_trip(rng):
    X = rng.rand(6, 3, 4, 4) * 255
    standardizer = PixelStandardizer().fit(X)
    X_back = standardizer.inverse_transform(standardizer.transform(X))
    assert X_back.dtype == np.float32
    assert_allclose(X_back, X, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize(
    "params, match",
    [
        (
            {"preset": "cifar10"},
            r"preset must be None or one of \['fashion_mnist', 'mnist'\]",
        ),
        ({"preset": 1}, "preset must be None or one of"),
        ({"std": 0}, "std must be None, a positive"),
        ({"std": -1.0}, "std must be None, a positive"),
        ({"std": [0.3, 0.0]}, "std must be None, a positive"),
        ({"std": np.nan}, "std must be None, a positive"),
        ({"mean": "0.5"}, "mean must be None, a finite"),
        ({"mean": [[0.5]]}, "mean must be None, a finite"),
        ({"mean": []}, "mean must be None, a finite"),
        ({"mean": np.inf}, "mean must be None, a finite"),
        ({"mean": True}, "mean must be None, a finite"),
        ({"mean": [0.1, 0.2, 0.3]}, r"mean has 3 values but X has 2 channel"),
        ({"std": [1.0, 2.0, 3.0]}, r"std has 3 values but X has 2 channel"),
    ],
    ids=str,
)
def test_standardizer_rejects_invalid_parameters(rng, params, match):
    with pytest.raises(ValueError, match=match):
        PixelStandardizer(**params).fit(rng.rand(3, 2, 2, 2))


def test_standardizer_does_not_mutate_parameters(rng):
    mean, std = [0.1, 0.2], np.array([1.0, 2.0])
    standardizer = PixelStandardizer(mean=mean, std=std).fit(rng.rand(3, 2, 2, 2))
    assert standardizer.mean is mean
    assert standardizer.std is std
    # fitted statistics are copies: changing them leaves the parameters alone
    standardizer.mean_[:] = 0
    standardizer.std_[:] = 5
    assert mean == [0.1, 0.2]
    assert_array_equal(std, [1.0, 2.0])


def test_standardizer_rejects_other_sample_shape(rng):
    standardizer = PixelStandardizer().fit(rng.rand(3, 1, 4, 4))
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(1, 4, 4\)"):
        standardizer.transform(rng.rand(3, 4, 4))


def test_standardizer_feature_names_and_pandas_output(rng):
    df = pd.DataFrame(rng.rand(5, 2), columns=["p", "q"])
    standardizer = PixelStandardizer().set_output(transform="pandas").fit(df)
    out = standardizer.transform(df)
    assert list(out.columns) == ["p", "q"]
    assert_allclose(out.to_numpy().mean(), 0, atol=1e-6)

    names = PixelStandardizer().fit(rng.rand(2, 2, 1, 2)).get_feature_names_out()
    assert_array_equal(
        names, ["pixel_0_0_0", "pixel_0_0_1", "pixel_1_0_0", "pixel_1_0_1"]
    )


# --------------------------------------------------------------------------
# Finite input never gives inf (issue 12, item 5)
# --------------------------------------------------------------------------


def _assert_refused_naming_x(call, *culprits):
    with pytest.raises(ValueError, match="X has values") as info:
        call()
    for culprit in culprits:
        assert culprit in str(info.value)


def test_scaler_refuses_what_float32_cannot_hold(rng):
    X = rng.randint(0, 256, size=(5, 16)).astype(np.uint8)
    X[0, 0] = 255
    scaler = PixelScaler(max_value=1e-37).fit(X)  # 255 / 1e-37 = 2.6e39 > float32's max
    _assert_refused_naming_x(lambda: scaler.transform(X), "PixelScaler", "scale_=1e-37")
    big = PixelScaler(max_value=1e30).fit(X)
    _assert_refused_naming_x(lambda: big.inverse_transform(np.full((1, 16), 1e10)),
                             "scale_=1e+30")


def test_scaler_with_a_subnormal_divisor_stays_exact():
    # 1e-40 is subnormal in float32 (it loses digits there): divided in float64.
    X = np.array([[0.0, 1e-5, 2e-5, 3e-5]])
    Xt = PixelScaler(max_value=1e-40).fit(X).transform(X)
    assert Xt.dtype == np.float32 and np.isfinite(Xt).all()
    assert_allclose(Xt, X / 1e-40, rtol=1e-6)


def test_standardizer_refuses_a_tiny_std_that_overflows(rng):
    X = rng.randint(0, 256, size=(5, 16)).astype(np.uint8)
    standardizer = PixelStandardizer(mean=0, std=1e-38).fit(X)
    _assert_refused_naming_x(lambda: standardizer.transform(X), "PixelStandardizer", "std_")


def test_standardizer_float32_intermediates_that_overflow_use_float64():
    X = np.array([[3e38] + [-3e38] * 8])  # X - mean reaches 5.3e38
    standardizer = PixelStandardizer().fit(X)
    Xt = standardizer.transform(X)  # X - mean overflows float32; the result does not
    assert Xt.dtype == np.float32 and np.isfinite(Xt).all()
    assert_allclose(Xt, (X - X.mean()) / X.std(), rtol=1e-6)
    assert np.isfinite(standardizer.inverse_transform(Xt)).all()


@pytest.mark.parametrize("magnitude", [1e200, 1e-200, 1e-310, 1e300])
def test_standardizer_statistics_neither_overflow_nor_underflow(rng, magnitude):
    from skmnist.preprocessing._pixels import _mean_std

    X = rng.uniform(-1, 1, size=(50, 3, 2, 2)) * magnitude
    X[0, :, 0, 0] = magnitude  # the largest value of each channel is +-magnitude
    mean, std = _mean_std(X, (0, 2, 3))
    assert np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()
    scaled = X / magnitude
    assert_allclose(mean / magnitude, scaled.mean(axis=(0, 2, 3)), rtol=1e-9, atol=1e-12)
    assert_allclose(std / magnitude, scaled.std(axis=(0, 2, 3)), rtol=1e-9)
    if magnitude > 1e100:  # squares overflow: numpy's own std is inf here
        with np.errstate(over="ignore", invalid="ignore"):
            assert not np.isfinite(np.std(X, axis=(0, 2, 3))).all()


def test_standardizer_std_that_underflows_is_treated_as_one():
    X = np.array([[0.0, 1e-320, 2e-320, 3e-320]])  # subnormal: std underflows
    standardizer = PixelStandardizer().fit(X)
    assert standardizer.std_.tolist() == [1.0]
    assert np.isfinite(standardizer.transform(X)).all()


def test_standardizer_results_unchanged_for_ordinary_pixels(rng):
    # The overflow handling does not change the float32 arithmetic of pixel data.
    X = rng.randint(0, 256, size=(10, 3, 4, 4)).astype(np.uint8)
    standardizer = PixelStandardizer().fit(X)
    expected = X.astype(np.float32)
    expected -= standardizer.mean_.astype(np.float32).reshape(1, -1, 1, 1)
    expected /= standardizer.std_.astype(np.float32).reshape(1, -1, 1, 1)
    assert_array_equal(standardizer.transform(X), expected)
