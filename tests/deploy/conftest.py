"""Fixtures of the deployment tests: small fitted models and their exported files.

Models are tiny and trained for one epoch on a subset of the bundled sample
(CPU, seeded): the tests check that an export computes what ``predict``
computes, which does not depend on how well the model learned.
"""

import numpy as np
import pytest

for _name in ("onnx", "onnxruntime", "onnxscript", "skl2onnx"):  # the onnx extra
    pytest.importorskip(_name)

from skmnist import SkMNISTClassifier, export_onnx  # noqa: E402
from skmnist.datasets import load_mnist_sample  # noqa: E402

#: Small versions of each registered architecture (the structure is what is exported).
ARCHS = {
    "cnn": dict(arch="cnn", channels=(4, 8), hidden_units=(16,)),
    "lenet5": dict(arch="lenet5"),
    "mlp": dict(arch="mlp", hidden_units=(32,)),
}


def fit(X, y, **params):
    params = {"max_epochs": 1, "device": "cpu", "random_state": 0, **params}
    return SkMNISTClassifier(**params).fit(X, y)


@pytest.fixture(scope="session")
def sample():
    """The bundled sample: (5000, 784) uint8 and int labels (read-only)."""
    X, y = load_mnist_sample(return_X_y=True)
    X.flags.writeable = y.flags.writeable = False
    return X, y


@pytest.fixture(scope="session")
def train_part(sample):
    """Every tenth sample image: 500, all classes."""
    X, y = sample
    return X[::10], y[::10]


@pytest.fixture(scope="session", params=sorted(ARCHS))
def fitted(request, train_part):
    """One small fitted classifier per registered architecture."""
    return fit(*train_part, **ARCHS[request.param])


@pytest.fixture(scope="session")
def cnn(train_part):
    """A small fitted CNN."""
    return fit(*train_part, **ARCHS["cnn"])


@pytest.fixture(scope="session")
def cnn_onnx(cnn, tmp_path_factory):
    """``cnn`` exported to ONNX (float32)."""
    return export_onnx(cnn, tmp_path_factory.mktemp("onnx") / "cnn.onnx")


def max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b))))
