"""GPU behaviour: run where CUDA is present (marked ``cuda``; skipped elsewhere).

CI has no GPU; run these on a GPU machine with ``python -m pytest -m cuda``.
"""

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import skmnist
from skmnist import SkMNISTClassifier, SkMNISTFineTuner

pytestmark = pytest.mark.cuda


@pytest.fixture(scope="module")
def data():
    X, y = skmnist.datasets.load_mnist_sample(return_X_y=True)
    return X[::10], y[::10]


@pytest.mark.parametrize("precision", ["32", "bf16", "16"])
def test_fit_on_cuda_in_each_precision(data, precision):
    X, y = data
    clf = SkMNISTClassifier(device="cuda", precision=precision, max_epochs=3,
                            random_state=0).fit(X, y)
    assert clf.device_.type == "cuda"
    assert next(clf.module_.parameters()).is_cuda
    assert clf.score(X, y) > 0.5


def test_auto_device_picks_cuda(data):
    X, y = data
    clf = SkMNISTClassifier(max_epochs=1, random_state=0).fit(X, y)
    assert clf.device_.type == "cuda"


def test_invalid_cuda_index():
    with pytest.raises(ValueError, match="CUDA device"):
        SkMNISTClassifier(device=f"cuda:{torch.cuda.device_count()}").fit(
            np.random.rand(20, 64), np.arange(20) % 2)


def test_gpu_model_loads_on_cpu_only_machine(data, tmp_path):
    X, y = data
    clf = SkMNISTClassifier(device="cuda", max_epochs=2, random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    with open(tmp_path / "model.pkl", "wb") as f:
        pickle.dump(clf, f)
    skmnist.save(clf, tmp_path / "model.skmnist")
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", expected)
    script = textwrap.dedent(f"""
        import pickle, numpy as np, torch, skmnist
        assert not torch.cuda.is_available()
        X = np.load({str(tmp_path / "X.npy")!r}); expected = np.load({str(tmp_path / "expected.npy")!r})
        with open({str(tmp_path / "model.pkl")!r}, "rb") as f:
            clf = pickle.load(f)
        np.testing.assert_allclose(clf.predict_proba(X), expected, atol=1e-4)
        loaded = skmnist.load({str(tmp_path / "model.skmnist")!r})
        np.testing.assert_allclose(loaded.predict_proba(X), expected, atol=1e-4)
        print("ok")
    """)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_fine_tune_on_cuda(data):
    X, y = data
    base = SkMNISTClassifier(device="cuda", max_epochs=1, random_state=0).fit(X, y)
    tuner = SkMNISTFineTuner(base, device="cuda", max_epochs=1, random_state=0)
    tuner.fit(X[:200], y[:200] % 2)
    assert tuner.predict(X[:5]).shape == (5,)


def test_augment_on_cuda(data):
    X, y = data
    clf = SkMNISTClassifier(device="cuda", augment=True, max_epochs=1, random_state=0)
    assert clf.fit(X, y).predict(X[:3]).shape == (3,)
