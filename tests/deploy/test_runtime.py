"""OnnxClassifier: a fitted scikit-learn classifier over ONNX Runtime, without torch."""

import os
import pickle
import subprocess
import sys

import numpy as np
import onnx
import pytest
import skl2onnx
from sklearn.base import clone, is_classifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay

from skmnist import OnnxClassifier

from .conftest import max_abs


def test_a_fitted_classifier_from_the_start(cnn, cnn_onnx, sample):
    X, y = sample
    clf = OnnxClassifier(cnn_onnx)
    assert is_classifier(clf)
    assert clf.__sklearn_tags__().requires_fit is False
    np.testing.assert_array_equal(clf.classes_, cnn.classes_)
    assert clf.n_features_in_ == 784 and clf.input_shape_ == (1, 28, 28)
    assert clf.score(X[1::10], y[1::10]) == pytest.approx(cnn.score(X[1::10], y[1::10]))
    assert clf.fit() is clf and clf.fit(X, y) is clf  # nothing trains


def test_it_works_where_sklearn_takes_a_fitted_classifier(cnn, cnn_onnx, sample):
    import matplotlib

    matplotlib.use("Agg")
    X, y = sample
    clf = OnnxClassifier(cnn_onnx)
    display = ConfusionMatrixDisplay.from_estimator(clf, X[1::10], y[1::10])
    np.testing.assert_array_equal(display.display_labels, cnn.classes_)
    assert display.confusion_matrix.sum() == len(y[1::10])
    calibrated = CalibratedClassifierCV(FrozenEstimator(clf), method="sigmoid")
    calibrated.fit(X[1::10], y[1::10])
    proba = calibrated.predict_proba(X[2::10])
    assert proba.shape == (len(X[2::10]), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(calibrated.classes_, cnn.classes_)


@pytest.mark.filterwarnings("error::sklearn.exceptions.InconsistentVersionWarning")
def test_clone_pickle_and_parameters(cnn_onnx, sample):
    X, _ = sample
    clf = OnnxClassifier(cnn_onnx, n_jobs=1, batch_size=7)
    expected = clf.predict_proba(X[:20])  # loads the session
    for other in (clone(clf), pickle.loads(pickle.dumps(clf))):
        assert other.get_params() == clf.get_params()
        np.testing.assert_array_equal(other.predict_proba(X[:20]), expected)
    assert max_abs(OnnxClassifier(cnn_onnx, batch_size=1).predict_proba(X[:20]), expected) < 1e-6
    clf.set_params(batch_size=512)
    assert max_abs(clf.predict_proba(X[:20]), expected) < 1e-6


def test_sklearn_style_errors_for_bad_X(cnn_onnx, sample):
    X, _ = sample
    clf = OnnxClassifier(cnn_onnx)
    with pytest.raises(ValueError, match="X has 783 features, but OnnxClassifier is "
                                         "expecting 784 features as input"):
        clf.predict(X[:3, :783])
    bad = X[:3].astype(np.float32)
    bad[1, 5] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.predict_proba(bad)
    with pytest.raises(ValueError, match="images of shape"):
        clf.predict(np.zeros((2, 3, 28, 28)))
    with pytest.raises(ValueError, match="0 sample"):
        clf.predict(X[:0])


@pytest.mark.parametrize("params, match", [
    (dict(n_jobs=0), "n_jobs"), (dict(batch_size=0), "batch_size"),
    (dict(providers="CPUExecutionProvider"), "providers"),
])
def test_bad_parameters(cnn_onnx, sample, params, match):
    with pytest.raises(ValueError, match=match):
        OnnxClassifier(cnn_onnx, **params).predict(sample[0][:2])


def test_files_it_cannot_read(tmp_path, train_part):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        OnnxClassifier(tmp_path / "missing.onnx").classes_
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not an ONNX model ONNX Runtime can load"):
        OnnxClassifier(broken).predict(train_part[0][:2])
    X, y = train_part
    foreign = tmp_path / "sklearn.onnx"
    model = skl2onnx.to_onnx(LogisticRegression(max_iter=5).fit(X[:, :10], y),
                             X[:1, :10].astype(np.float32))
    onnx.save(model, foreign)
    with pytest.raises(ValueError, match="not written by skmnist.export_onnx"):
        OnnxClassifier(foreign).classes_
    newer = tmp_path / "newer.onnx"
    entry = model.metadata_props.add()
    entry.key, entry.value = "skmnist", '{"format": 99}'
    onnx.save(model, newer)
    with pytest.raises(ValueError, match="newer skmnist"):
        OnnxClassifier(newer).classes_


def test_fit_reads_a_replaced_file_again(tmp_path, train_part, sample):
    from skmnist import export_onnx

    from .conftest import fit

    X, y = train_part
    path = tmp_path / "m.onnx"
    export_onnx(fit(X, y, arch="mlp", hidden_units=(8,)), path)
    clf = OnnxClassifier(path)
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    export_onnx(fit(X[y < 3], y[y < 3], arch="mlp", hidden_units=(8,)), path)
    assert len(clf.classes_) == 10  # the loaded session is kept...
    assert len(clf.fit().classes_) == 3  # ...until fit reads the file again


def test_serving_imports_neither_torch_nor_skorch(cnn_onnx, cnn, sample, tmp_path):
    X, _ = sample
    np.save(tmp_path / "X.npy", X[:50])
    code = (
        "import sys, numpy as np\n"
        "from skmnist import OnnxClassifier\n"
        f"clf = OnnxClassifier({os.fspath(cnn_onnx)!r})\n"
        f"proba = clf.predict_proba(np.load({os.fspath(tmp_path / 'X.npy')!r}))\n"
        f"np.save({os.fspath(tmp_path / 'proba.npy')!r}, proba)\n"
        "print(sorted(m for m in ('torch', 'skorch', 'skl2onnx', 'onnxscript', 'onnx') "
        "if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    assert max_abs(np.load(tmp_path / "proba.npy"), cnn.predict_proba(X[:50])) < 1e-4
