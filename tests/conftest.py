"""Shared fixtures and guards for the whole test suite.

* Tests run on the CPU: outside tests marked ``@pytest.mark.cuda``,
  ``torch.cuda.is_available()`` reports False (so ``device="auto"`` means
  the CPU even on a GPU machine) and a test that initialises CUDA fails.
  Tests marked ``cuda`` are skipped where there is no GPU.
* Torch runs one intra-op thread: the tests' models are tiny, and with
  more threads OpenMP workers spin-wait, which makes the suite several
  times slower on a busy 2-core machine.
* Data fixtures are small, seeded, read-only subsets of the bundled data
  (nothing touches the network), so a test that writes into its input
  fails loudly instead of corrupting the fixture for later tests.
"""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skmnist.datasets import load_mnist_sample

_HAS_CUDA = torch.cuda.is_available()

torch.set_num_threads(1)


def pytest_runtest_setup(item):
    if item.get_closest_marker("cuda") is not None and not _HAS_CUDA:
        pytest.skip("needs a CUDA GPU")


@pytest.fixture(autouse=True)
def _cpu_only(request, monkeypatch):
    """Hide CUDA from every test not marked ``cuda``; fail if one initialises it."""
    if request.node.get_closest_marker("cuda") is not None:
        yield
        return
    was_initialized = torch.cuda.is_initialized()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    yield
    assert was_initialized or not torch.cuda.is_initialized(), (
        f"{request.node.nodeid} initialised CUDA; tests must run on the CPU "
        "(mark GPU tests with @pytest.mark.cuda)."
    )


@pytest.fixture
def fail_at_batch(monkeypatch):
    """``fail_at_batch(n, exc)``: raise ``exc`` at the n-th training batch of the test.

    Batches are counted over every fit of the test (``SkorchEngineNet.train_step``
    calls), so ``KeyboardInterrupt()`` there is a Ctrl-C during a given epoch.
    """
    from skmnist._engine import SkorchEngineNet

    def arm(batch_number, exc):
        original = SkorchEngineNet.train_step
        calls = {"n": 0}

        def train_step(self, batch, **kwargs):
            calls["n"] += 1
            if calls["n"] == batch_number:
                raise exc
            return original(self, batch, **kwargs)

        monkeypatch.setattr(SkorchEngineNet, "train_step", train_step)

    return arm


def _read_only(*arrays):
    out = []
    for a in arrays:
        a = np.array(a)  # own, contiguous copy
        a.flags.writeable = False
        out.append(a)
    return tuple(out)


def _stratified_subset(X, y, n, seed):
    """``n`` samples, (nearly) balanced over the classes, in a seeded random order."""
    rng = np.random.RandomState(seed)
    classes = np.unique(y)
    per_class = n // len(classes)
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes]
    )
    rng.shuffle(idx)
    return X[idx], y[idx]


@pytest.fixture(scope="session")
def mnist_subset():
    """200 MNIST images from the bundled sample: flat (200, 784) uint8 and int labels."""
    X, y = load_mnist_sample(return_X_y=True)
    return _read_only(*_stratified_subset(X, y, 200, seed=0))


@pytest.fixture(scope="session")
def digits_subset():
    """300 of sklearn's 8x8 digits: flat (300, 64) float64 in 0..16 and int labels."""
    X, y = load_digits(return_X_y=True)
    return _read_only(*_stratified_subset(X, y, 300, seed=0))


@pytest.fixture(scope="session")
def digits_two_classes(digits_subset):
    """The 0s and 1s of ``digits_subset`` (an easy, well separated problem)."""
    X, y = digits_subset
    keep = y < 2
    return _read_only(X[keep], y[keep])
