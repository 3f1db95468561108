"""Checks shared by every transformer in skmnist.preprocessing.

sklearn's own estimator checks run on every instance in ``ESTIMATORS``; the rest
checks what they do not: image-shaped (3-D and 4-D) input, the feature-name
and ``set_output`` checks that sklearn keeps out of ``parametrize_with_checks``,
pickling fitted image transformers, and the docstrings.
"""

import doctest
import importlib
import pickle
import re

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

import skmnist.preprocessing as preprocessing
from skmnist.preprocessing import (
    ImageFlattener,
    ImageReshaper,
    ImageResizer,
    PixelScaler,
    PixelStandardizer,
)

# sklearn's checks feed 2-D data with 1 to 10 features, mostly not square
# numbers. ImageReshaper and ImageResizer deliberately refuse to guess an image
# shape for such counts (see the ImageReshaper Notes), so the checks get them
# with an explicit shape that fits any count: one row of pixels,
# image_shape=(1, -1). Everything else runs with its defaults as well.
ESTIMATORS = [
    ImageFlattener(),
    ImageReshaper(image_shape=(1, -1)),
    ImageResizer(size=(2, 3), image_shape=(1, -1)),
    PixelScaler(),
    PixelScaler(max_value=255),
    PixelStandardizer(),
    PixelStandardizer(mean=[0.5], std=2.0),
    PixelStandardizer(preset="mnist"),
]

# {class name: {check name: reason}}. Every check passes, so it is empty.
EXPECTED_FAILED_CHECKS = {}

# Defaults that work on image data (square images), for the image tests.
IMAGE_ESTIMATORS = [
    ImageFlattener(),
    ImageReshaper(),
    ImageResizer(size=(3, 3)),
    PixelScaler(),
    PixelStandardizer(),
]

# Transformers whose output is 2-D on 2-D input, so that sklearn's
# feature-name and set_output checks apply. ImageReshaper returns 4-D images.
TABULAR_OUTPUT_ESTIMATORS = [e for e in ESTIMATORS if not isinstance(e, ImageReshaper)]


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


def _ids(estimator):
    return repr(estimator)


@pytest.mark.filterwarnings("ignore:preset='mnist' is for pixel values:UserWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)


# The set_output checks mix DataFrame and array input on purpose.
@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
@pytest.mark.filterwarnings("ignore:X has feature names, but:UserWarning")
@pytest.mark.filterwarnings("ignore:preset='mnist' is for pixel values:UserWarning")
@pytest.mark.parametrize("estimator", TABULAR_OUTPUT_ESTIMATORS, ids=_ids)
@pytest.mark.parametrize(
    "check_name",
    [
        "check_transformer_get_feature_names_out",
        "check_transformer_get_feature_names_out_pandas",
        "check_get_feature_names_out_error",
        "check_dataframe_column_names_consistency",
        "check_set_output_transform",
        "check_set_output_transform_pandas",
        "check_global_output_transform_pandas",
    ],
)
def test_feature_names_and_set_output_checks(estimator, check_name):
    getattr(estimator_checks, check_name)(type(estimator).__name__, estimator)


def test_every_public_transformer_is_checked():
    assert preprocessing.__all__ == sorted(preprocessing.__all__)
    checked = {type(e).__name__ for e in ESTIMATORS}
    image_checked = {type(e).__name__ for e in IMAGE_ESTIMATORS}
    assert checked == image_checked == set(preprocessing.__all__)
    for name in preprocessing.__all__:
        assert getattr(preprocessing, name).__module__.startswith(
            "skmnist.preprocessing._"
        )


# --------------------------------------------------------------------------
# Image input
# --------------------------------------------------------------------------


def _images(shape=(6, 1, 4, 4), seed=0):
    return np.random.RandomState(seed).randint(0, 256, size=shape).astype(np.float64)


def _with(value):
    X = _images()
    X[1, 0, 2, 3] = value
    return X


BAD_IMAGES = {
    "nan": (_with(np.nan), "Input X contains NaN"),
    "inf": (_with(np.inf), "Input X contains infinity"),
    "complex": (_images() + 1j, "Complex data not supported"),
    "no_samples": (np.empty((0, 1, 4, 4)), r"0 sample\(s\)"),
    "no_pixels": (np.empty((3, 1, 0, 4)), r"0 feature\(s\)"),
    "5d": (np.zeros((3, 1, 1, 4, 4)), "expects 2-D .* 3-D .* or 4-D"),
    "1d": (np.zeros(16), "Expected 2D array"),
    "strings": (np.full((3, 4, 4), "a"), "dtype='numeric' is not compatible"),
}


@pytest.mark.parametrize("estimator", IMAGE_ESTIMATORS, ids=_ids)
@pytest.mark.parametrize("case", list(BAD_IMAGES))
def test_rejects_bad_images_in_fit_and_transform(estimator, case):
    X, match = BAD_IMAGES[case]
    with pytest.raises(ValueError, match=match):
        clone(estimator).fit(X)
    fitted = clone(estimator).fit(_images())
    if case in ("nan", "inf", "complex", "strings", "1d"):
        with pytest.raises(ValueError, match=match):
            fitted.transform(X)


@pytest.mark.parametrize("estimator", IMAGE_ESTIMATORS, ids=_ids)
@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int32, np.int64, np.float32, np.float64]
)
@pytest.mark.parametrize("shape", [(5, 16), (5, 4, 4), (5, 1, 4, 4)], ids=str)
def test_accepts_image_layouts_and_dtypes(estimator, dtype, shape):
    X = _images(shape).astype(dtype)
    Xt = clone(estimator).fit_transform(X)
    assert Xt.shape[0] == 5
    preserved = estimator.__sklearn_tags__().transformer_tags.preserves_dtype
    preserves = np.dtype(dtype).name in preserved
    expected_dtype = np.dtype(dtype) if preserves else np.float32
    assert Xt.dtype == expected_dtype
    # lists, and (for flat data) DataFrames, give the same result
    assert_array_equal(clone(estimator).fit_transform(X.tolist()), Xt)
    if len(shape) == 2:
        assert_array_equal(clone(estimator).fit_transform(pd.DataFrame(X)), Xt)


@pytest.mark.parametrize("estimator", IMAGE_ESTIMATORS, ids=_ids)
def test_fit_transform_equals_fit_then_transform_on_images(estimator):
    X = _images((7, 3, 4, 4))
    assert_array_equal(
        clone(estimator).fit_transform(X), clone(estimator).fit(X).transform(X)
    )


@pytest.mark.parametrize("estimator", IMAGE_ESTIMATORS, ids=_ids)
def test_fitted_image_transformer_pickles(estimator):
    X = _images((5, 1, 4, 4))
    fitted = clone(estimator).fit(X)
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.transform(X), fitted.transform(X))
    assert restored.get_params() == fitted.get_params()


@pytest.mark.parametrize("estimator", IMAGE_ESTIMATORS, ids=_ids)
def test_feature_names_count_output_values(estimator):
    X = _images((5, 3, 4, 4))
    fitted = clone(estimator).fit(X)
    names = fitted.get_feature_names_out()
    assert names.dtype == object
    assert len(names) == fitted.transform(X)[0].size
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("estimator", IMAGE_ESTIMATORS, ids=_ids)
def test_unfitted_transformer_raises(estimator):
    with pytest.raises(ValueError, match="not fitted"):
        clone(estimator).transform(_images())
    with pytest.raises(ValueError, match="not fitted"):
        clone(estimator).get_feature_names_out()
    if hasattr(estimator, "inverse_transform"):
        with pytest.raises(ValueError, match="not fitted"):
            clone(estimator).inverse_transform(_images())


# --------------------------------------------------------------------------
# Documentation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", IMAGE_ESTIMATORS, ids=_ids)
def test_fitted_attributes_are_documented(estimator):
    flat = pd.DataFrame(_images((5, 16)).reshape(5, -1))
    flat.columns = [f"c{i}" for i in range(16)]
    doc = type(estimator).__doc__
    attributes = doc.split("Attributes\n    ----------")[1].split("See Also")[0]
    documented = set(re.findall(r"^    (\w+_) :", attributes, flags=re.MULTILINE))
    for X in (_images(), flat):
        fitted = clone(estimator).fit(X)
        public = {k for k in vars(fitted) if k.endswith("_") and not k.startswith("_")}
        assert public <= documented, public - documented


@pytest.mark.parametrize("estimator", IMAGE_ESTIMATORS, ids=_ids)
def test_parameters_are_documented(estimator):
    doc = type(estimator).__doc__
    for param in estimator.get_params():
        assert re.search(rf"^    {param} : ", doc, flags=re.MULTILINE), param


@pytest.mark.parametrize(
    "module",
    [
        "skmnist.preprocessing._pixels",
        "skmnist.preprocessing._resize",
        "skmnist.preprocessing._shape",
    ],
)
def test_docstring_examples_run(module):
    result = doctest.testmod(
        importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0
    assert result.failed == 0
