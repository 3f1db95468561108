"""export_onnx: the graph computes what predict and predict_proba compute."""

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmnist import OnnxClassifier, SkMNISTClassifier, SkMNISTFineTuner, export_onnx
from skmnist.datasets import fetch_fashion_mnist
from skmnist.deploy._metadata import label_kind
from skmnist.model_selection import ArchitectureSearchCV
from skmnist.preprocessing import ImageReshaper, PixelScaler

from .conftest import fit, max_abs

TOL = 1e-4  # the bar: max abs difference of probabilities


def session_outputs(path, X):
    session = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": np.asarray(X, dtype=np.float32)})


def assert_same_predictions(model, path, X):
    onnx_clf = OnnxClassifier(path)
    proba = onnx_clf.predict_proba(X)
    assert proba.shape == (len(X), len(model.classes_))
    assert max_abs(proba, model.predict_proba(X)) < TOL
    np.testing.assert_array_equal(onnx_clf.predict(X), model.predict(X))


def test_every_architecture_matches_predict(fitted, sample, tmp_path):
    X, _ = sample
    path = export_onnx(fitted, tmp_path / "model.onnx")
    for rows in (1, 1000):  # batch sizes; images the model was not fitted on
        label, proba = session_outputs(path, X[-rows:])
        assert label.shape == (rows,) and proba.shape == (rows, 10)
        np.testing.assert_array_equal(label, fitted.predict(X[-rows:]))
        assert max_abs(proba, fitted.predict_proba(X[-rows:])) < TOL
        assert_same_predictions(fitted, path, X[-rows:])


def test_the_default_cnn_matches_on_sample_and_fashion_images(sample, tmp_path):
    # The default architecture (one epoch: what is checked is the export, not the fit).
    X, y = sample
    clf = SkMNISTClassifier(max_epochs=1, device="cpu", random_state=0).fit(X[::5], y[::5])
    path = export_onnx(clf, tmp_path / "default.onnx")
    assert_same_predictions(clf, path, X[1::5])
    try:
        X_fashion, _ = fetch_fashion_mnist(subset="test", return_X_y=True,
                                           download_if_missing=False)
    except OSError:
        pytest.skip("Fashion-MNIST is not installed here")
    assert_same_predictions(clf, path, X_fashion[:2000])


def test_the_graph_takes_raw_flat_float32_of_any_batch_size(cnn_onnx, cnn, sample):
    X, _ = sample
    session = ort.InferenceSession(os.fspath(cnn_onnx), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == "X" and inp.type == "tensor(float)" and inp.shape[1:] == [784]
    assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]
    assert session.get_outputs()[0].type == "tensor(int64)"
    # one by one and all at once give the same as predict
    one_by_one = np.concatenate([session.run(None, {"X": X[i:i + 1].astype(np.float32)})[1]
                                 for i in range(5)])
    assert max_abs(one_by_one, cnn.predict_proba(X[:5])) < TOL


def test_the_estimator_is_not_changed(cnn, tmp_path):
    module = cnn.module_
    before = {k: v.clone() for k, v in module.state_dict().items()}
    params = cnn.get_params()
    formats = [p.is_contiguous(memory_format=torch.channels_last) for p in module.parameters()
               if p.dim() == 4]
    export_onnx(cnn, tmp_path / "m.onnx")
    assert cnn.module_ is module and not module.training
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    assert [p.is_contiguous(memory_format=torch.channels_last) for p in module.parameters()
            if p.dim() == 4] == formats
    assert cnn.get_params() == params


def test_a_compiled_module_is_exported_without_its_wrapper(train_part, sample, tmp_path):
    clf = fit(*train_part, arch="mlp", hidden_units=(16,))
    expected = clf.predict_proba(sample[0][:50])
    clf.net_.module_ = torch.compile(clf.module_)  # the wrapper compile=True leaves
    path = export_onnx(clf, tmp_path / "m.onnx")
    assert max_abs(OnnxClassifier(path).predict_proba(sample[0][:50]), expected) < TOL


@pytest.mark.parametrize("labels", [
    np.array(["zero", "one", "two"] * 100, dtype=object),
    np.array(["zero", "one", "two"] * 100),  # a numpy string array
    np.array([3, 70, 500] * 100),
    np.array([False, True, True] * 100),
    np.array([-1.0, 2.0, 7.0] * 100),
], ids=["object-strings", "str", "sparse-ints", "bool", "whole-floats"])
def test_labels_of_any_type_skl2onnx_carries(labels, sample, tmp_path):
    X = sample[0][:300]
    clf = fit(X, labels, arch="mlp", hidden_units=(16,))
    path = export_onnx(clf, tmp_path / "m.onnx")
    onnx_clf = OnnxClassifier(path)
    assert onnx_clf.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(onnx_clf.classes_, clf.classes_)
    predicted = onnx_clf.predict(sample[0][1000:1300])
    assert predicted.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(predicted, clf.predict(sample[0][1000:1300]))


def test_labels_onnx_cannot_carry_are_refused():
    # scikit-learn's classifiers refuse such targets already; the check stands guard.
    assert label_kind(np.array([1.0, 2.0])) == "int64"
    with pytest.raises(ValueError, match="not whole numbers"):
        label_kind(np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="only integer, boolean and string"):
        label_kind(np.array(["a", 1], dtype=object))
    with pytest.raises(ValueError, match="only integer, boolean and string"):
        label_kind(np.array([1 + 2j]))


def test_image_shaped_tabular_rgb_and_unscaled_inputs(sample, tmp_path):
    X, y = sample
    images = X[::10].reshape(-1, 28, 28)
    clf = fit(images, y[::10], arch="cnn", channels=(4,), hidden_units=())
    path = export_onnx(clf, tmp_path / "images.onnx")
    onnx_clf = OnnxClassifier(path)
    assert onnx_clf.input_shape_ == (1, 28, 28)
    for X_test in (X[:20], X[:20].reshape(-1, 28, 28), X[:20].reshape(-1, 1, 28, 28)):
        assert max_abs(onnx_clf.predict_proba(X_test), clf.predict_proba(X[:20])) < TOL

    X_tab, y_tab = make_classification(n_samples=200, n_features=10, n_informative=5,
                                       n_classes=3, random_state=0)
    tabular = fit(X_tab, y_tab, hidden_units=(8,))
    assert tabular.arch_ == "mlp"
    path = export_onnx(tabular, tmp_path / "tabular.onnx")
    assert OnnxClassifier(path).input_shape_ == (1, 1, 10)
    assert_same_predictions(tabular, path, X_tab)

    rgb = np.random.RandomState(0).randint(0, 256, (60, 3, 8, 8)).astype(np.uint8)
    colour = fit(rgb, np.arange(60) % 3, arch="cnn", channels=(4,), hidden_units=())
    path = export_onnx(colour, tmp_path / "rgb.onnx")
    assert_same_predictions(colour, path, rgb)
    assert_same_predictions(colour, path, rgb.reshape(60, -1))

    unscaled = fit(X[::10] / 255.0, y[::10], arch="mlp", hidden_units=(8,),
                   input_scaling=None)
    path = export_onnx(unscaled, tmp_path / "unscaled.onnx")
    assert OnnxClassifier(path).input_mean_ is None
    assert_same_predictions(unscaled, path, X[:100] / 255.0)


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32)], ids=["enlarge", "shrink-rgb"])
def test_the_fine_tuners_input_adaptation_is_in_the_graph(cnn, shape, tmp_path):
    rng = np.random.RandomState(0)
    if shape == (1, 8, 8):
        X, y = load_digits(return_X_y=True)
        X, y = X[:200], y[:200]
    else:
        X = rng.randint(0, 256, (120, *shape)).astype(np.uint8)
        y = np.arange(120) % 4
    tuner = SkMNISTFineTuner(cnn, max_epochs=1, device="cpu", random_state=0).fit(X, y)
    assert tuner.model_input_shape_ == (1, 28, 28)
    path = export_onnx(tuner, tmp_path / "tuner.onnx")
    assert_same_predictions(tuner, path, X)


def test_a_search_exports_its_best_estimator(train_part, sample, tmp_path):
    X, y = train_part
    search = ArchitectureSearchCV(
        SkMNISTClassifier(arch="mlp", max_epochs=1, device="cpu", random_state=0),
        [{"hidden_units": [(8,), (16,)]}], cv=2).fit(X[::2], y[::2])
    path = export_onnx(search, tmp_path / "search.onnx")
    assert OnnxClassifier(path).metadata_["estimator"] == "ArchitectureSearchCV"
    assert_same_predictions(search, path, sample[0][:200])

    frozen = export_onnx(FrozenEstimator(search), tmp_path / "frozen.onnx")
    assert_same_predictions(search, frozen, sample[0][:50])

    no_refit = ArchitectureSearchCV(
        SkMNISTClassifier(arch="mlp", max_epochs=1, device="cpu", random_state=0),
        [{"hidden_units": [(8,)]}], cv=2, refit=False).fit(X[::2], y[::2])
    with pytest.raises(ValueError, match="refit=False"):
        export_onnx(no_refit, tmp_path / "no.onnx")


def test_pipelines(train_part, sample, tmp_path):
    X, y = train_part
    pipe = make_pipeline(PixelScaler(), ImageReshaper(),
                         SkMNISTClassifier(arch="cnn", channels=(4,), hidden_units=(),
                                           max_epochs=1, device="cpu", random_state=0))
    pipe.fit(X, y)
    path = export_onnx(pipe, tmp_path / "pipe.onnx")
    assert OnnxClassifier(path).input_mean_ is None  # raw pixels go in, not the model's
    assert OnnxClassifier(path).input_shape_ == (1, 28, 28)
    assert_same_predictions(pipe, path, sample[0][:300])

    with_sklearn = make_pipeline(StandardScaler(), PCA(16, random_state=0),
                                 SkMNISTClassifier(arch="mlp", max_epochs=1, device="cpu",
                                                   random_state=0)).fit(X, y)
    path = export_onnx(with_sklearn, tmp_path / "sk.onnx")
    assert OnnxClassifier(path).input_shape_ is None  # PCA reads flat rows
    assert_same_predictions(with_sklearn, path, sample[0][:300])

    image_input = make_pipeline(PixelScaler(), SkMNISTClassifier(
        arch="mlp", max_epochs=1, device="cpu", random_state=0)).fit(X.reshape(-1, 28, 28), y)
    path = export_onnx(image_input, tmp_path / "images.onnx")
    label, _ = session_outputs(path, X[:10].reshape(-1, 28, 28))  # the layout of fit
    np.testing.assert_array_equal(label, image_input.predict(X[:10].reshape(-1, 28, 28)))


def test_the_metadata(cnn, cnn_onnx):
    model = onnx.load(cnn_onnx)
    assert [p.key for p in model.metadata_props] == ["skmnist"]
    meta = OnnxClassifier(cnn_onnx).metadata_
    assert meta["format"] == 1 and meta["estimator"] == "SkMNISTClassifier"
    assert meta["n_features_in"] == 784 and meta["input_shape"] == [1, 28, 28]
    assert meta["graph_input_shape"] == [784] and meta["quantize"] is None
    assert meta["input_mean"] == pytest.approx(cnn.input_mean_.ravel().tolist())
    assert {o.domain for o in model.opset_import} <= {"", "ai.onnx.ml"}
    assert dict((o.domain, o.version) for o in model.opset_import)[""] == 18
    # the exporter's node metadata (stack traces with file paths) is not copied
    assert not any(n.metadata_props for n in model.graph.node)


def test_refuses_what_it_cannot_export(cnn, train_part, tmp_path):
    with pytest.raises(NotFittedError):
        export_onnx(SkMNISTClassifier(), tmp_path / "m.onnx")
    X, y = train_part
    with pytest.raises(TypeError, match="got LogisticRegression"):
        export_onnx(LogisticRegression(max_iter=20).fit(X[::5], y[::5]), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="last step must be a fitted classifier"):
        export_onnx(make_pipeline(PixelScaler()).fit(X), tmp_path / "m.onnx")
    with pytest.raises(OSError, match="does not exist"):
        export_onnx(cnn, tmp_path / "no" / "such" / "folder.onnx")
    assert sorted(os.listdir(tmp_path)) == []


class _DataDependent(torch.nn.Module):
    """Python control flow on tensor values: torch.export cannot trace it."""

    def __init__(self, in_channels, height, width, n_classes):
        super().__init__()
        self.linear = torch.nn.Linear(in_channels * height * width, n_classes)

    def forward(self, x):
        x = x.flatten(1)
        if x.sum() > 0:
            return self.linear(x)
        return -self.linear(x)


@torch.library.custom_op("skmnist_tests::wobble", mutates_args=())
def _wobble(x: torch.Tensor) -> torch.Tensor:
    return x * 1.5


@_wobble.register_fake
def _(x):
    return torch.empty_like(x)


class _CustomOp(_DataDependent):
    """An op without an ONNX translation."""

    def forward(self, x):
        return self.linear(_wobble(x.flatten(1)))


@pytest.mark.parametrize("module, named", [(_DataDependent, "data-dependent|guard|control"),
                                           (_CustomOp, "wobble")])
def test_an_unexportable_module_is_a_clear_error(module, named, train_part, tmp_path):
    X, y = train_part

    def build(in_channels, height, width, n_classes):
        return module(in_channels, height, width, n_classes)

    clf = fit(X[:100], y[:100], arch=build)
    with pytest.raises(ValueError, match=rf"\({__name__}\.{module.__name__}\)") as info:
        export_onnx(clf, tmp_path / "m.onnx")
    assert __import__("re").search(named, str(info.value), __import__("re").IGNORECASE)
    assert not (tmp_path / "m.onnx").exists()
