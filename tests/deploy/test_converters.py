"""skl2onnx converters: skmnist steps inside skl2onnx.to_onnx, alone and in pipelines."""

import numpy as np
import onnxruntime as ort
import pytest
import skl2onnx
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skmnist import SkMNISTClassifier
from skmnist.model_selection import ArchitectureSearchCV
from skmnist.preprocessing import (
    ImageFlattener,
    ImageReshaper,
    ImageResizer,
    PixelScaler,
    PixelStandardizer,
)

from .conftest import max_abs


def run(model, X):
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


def zipmap_to_array(rows, classes):
    return np.array([[row[c] for c in classes] for row in rows])


def small(**params):
    return SkMNISTClassifier(**{"max_epochs": 1, "device": "cpu", "random_state": 0,
                                **params})


def test_the_issues_pipeline_with_default_options(train_part, sample):
    X, y = train_part
    pipe = make_pipeline(PixelScaler(), ImageReshaper(), SkMNISTClassifier(
        max_epochs=1, device="cpu", random_state=0)).fit(X, y)
    model = skl2onnx.to_onnx(pipe, X[:1])  # uint8 input, zipmap on: skl2onnx's defaults
    X_test = sample[0][1::10]
    label, proba = run(model, X_test)
    np.testing.assert_array_equal(label, pipe.predict(X_test))
    assert max_abs(zipmap_to_array(proba, pipe.classes_), pipe.predict_proba(X_test)) < 1e-4


@pytest.mark.parametrize("steps", [
    lambda: [PixelScaler(), StandardScaler(), PCA(20, random_state=0), small(arch="mlp")],
    lambda: [MinMaxScaler(), ImageReshaper(), small(arch="cnn", channels=(4,), hidden_units=())],
    lambda: [ImageResizer(size=14), PixelStandardizer(), ImageFlattener(), PCA(10),
             small(arch="mlp")],
], ids=["sklearn-after", "sklearn-first", "resized-between"])
# MinMaxScaler passes test pixels of columns that were constant in training through
# unscaled, which the classifier rightly warns about; the conversion is what is tested.
@pytest.mark.filterwarnings("ignore:X lies far outside the values")
def test_pipelines_mixing_skmnist_and_sklearn_steps(steps, train_part, sample):
    X, y = train_part
    pipe = make_pipeline(*steps()).fit(X.astype(np.float32), y)
    model = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32),
                             options={type(pipe.steps[-1][1]): {"zipmap": False}})
    X_test = sample[0][1::10].astype(np.float32)
    label, proba = run(model, X_test)
    np.testing.assert_array_equal(label, pipe.predict(X_test))
    assert max_abs(proba, pipe.predict_proba(X_test)) < 1e-4


def test_classifier_options_nocl_and_zipmap_columns(train_part):
    X, y = train_part
    clf = small(arch="mlp").fit(X, y + 10)
    model = skl2onnx.to_onnx(clf, X[:1].astype(np.float32),
                             options={id(clf): {"zipmap": False, "nocl": True}})
    label, _ = run(model, X[:20].astype(np.float32))
    np.testing.assert_array_equal(label, clf.predict(X[:20]) - 10)  # class indices
    model = skl2onnx.to_onnx(clf, X[:1].astype(np.float32),
                             options={id(clf): {"zipmap": "columns"}})
    outputs = run(model, X[:20].astype(np.float32))
    assert len(outputs) == 1 + len(clf.classes_)  # the label, then one column per class


def test_a_search_converts_as_its_best_estimator(train_part):
    X, y = train_part
    search = ArchitectureSearchCV(small(arch="mlp"), [{"hidden_units": [(8,), (16,)]}],
                                  cv=2).fit(X[::2], y[::2])
    model = skl2onnx.to_onnx(search, X[:1].astype(np.float32),
                             options={id(search): {"zipmap": False}})
    label, proba = run(model, X.astype(np.float32))
    np.testing.assert_array_equal(label, search.predict(X))
    assert max_abs(proba, search.predict_proba(X)) < 1e-4


def test_an_old_target_opset_is_refused(cnn, train_part):
    with pytest.raises(ValueError, match="target_opset=17 is too old"):
        skl2onnx.to_onnx(cnn, train_part[0][:1].astype(np.float32), target_opset=17)


# ---------------------------------------------------------------- transformers alone
def transformed(transformer, X):
    model = skl2onnx.to_onnx(transformer, X[:1])
    (out,) = run(model, X)
    return out


def digit_images(n=40, side=28, channels=None, seed=0):
    rng = np.random.RandomState(seed)
    shape = (n, side, side) if channels is None else (n, channels, side, side)
    return rng.randint(0, 256, shape).astype(np.uint8)


@pytest.mark.parametrize("X", [digit_images().reshape(40, -1), digit_images(),
                               digit_images(channels=3).astype(np.float64),
                               digit_images().reshape(40, -1).astype(np.float32) / 255],
                         ids=["flat-uint8", "3d", "rgb-float64", "already-scaled"])
def test_pixel_scaler_and_standardizer_are_exact(X):
    for transformer in (PixelScaler(), PixelScaler(max_value=16), PixelStandardizer(),
                        PixelStandardizer(mean=0.5, std=0.25)):
        transformer.fit(X)
        out = transformed(transformer, X)
        expected = transformer.transform(X)
        assert out.dtype == np.float32 and out.shape == expected.shape
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_layout_transformers_keep_values_and_dtype():
    images = digit_images(channels=3)
    flattener = ImageFlattener().fit(images)
    out = transformed(flattener, images)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, flattener.transform(images))
    flat = images.reshape(40, -1)
    reshaper = ImageReshaper(image_shape=(3, 28, 28)).fit(flat)
    np.testing.assert_array_equal(transformed(reshaper, flat), reshaper.transform(flat))


@pytest.mark.parametrize("size, antialias", [(14, True), (14, False), ((20, 9), True),
                                             (40, True), (28, True)])
@pytest.mark.parametrize("layout", ["flat", "3d", "rgb"])
def test_image_resizer_matches_torchs_resampling(size, antialias, layout):
    if layout == "rgb":
        X = digit_images(n=12, channels=3)
    else:
        X = digit_images(n=12)
        X = X.reshape(12, -1) if layout == "flat" else X
    resizer = ImageResizer(size=size, antialias=antialias).fit(X)
    out = transformed(resizer, X)
    expected = resizer.transform(X)
    assert out.shape == expected.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-3)  # on 0-255 values
    assert out.min() >= X.min() and out.max() <= X.max()  # clipped to the range
