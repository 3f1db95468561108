"""The thread policy of fit and predict (skmnist/_threads.py, the ``n_jobs`` parameter)."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import cross_validate
from torch import nn

from skmnist import SkMNISTClassifier, _threads


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 8, 8).astype(np.float32)
    return X, (X[:, :4].mean(axis=(1, 2)) > X[:, 4:].mean(axis=(1, 2))).astype(int)


class _Recorder(nn.Module):
    """A linear model that records the torch thread count of every forward call."""

    def __init__(self, in_features, n_classes):
        super().__init__()
        self.linear = nn.Linear(in_features, n_classes)
        self.threads_seen = []

    def forward(self, x):
        self.threads_seen.append(torch.get_num_threads())
        return self.linear(x.flatten(1))


def recorder(*, in_channels, height, width, n_classes):
    return _Recorder(in_channels * height * width, n_classes)


@pytest.mark.parametrize(("value", "match"), [(0, "n_jobs must be None .* got 0"),
                                              (1.5, "n_jobs must be an integer"),
                                              (True, "n_jobs must be an integer")])
def test_bad_n_jobs_is_a_value_error_naming_it(data, value, match):
    with pytest.raises(ValueError, match=match):
        SkMNISTClassifier(n_jobs=value, max_epochs=1, device="cpu").fit(*data)


def test_threads_for_pinned_and_automatic(monkeypatch):
    monkeypatch.setattr(_threads, "usable_cpus", lambda: 4)
    assert _threads.threads_for(3, ceiling=1) == 3      # an int is obeyed
    assert _threads.threads_for(-1, ceiling=1) == 4     # every core
    assert _threads.threads_for(-2, ceiling=1) == 3
    assert _threads.threads_for(-9, ceiling=1) == 1
    for busy, expected in ((0, 4), (1, 3), (3, 1), (7, 1)):
        monkeypatch.setattr(_threads, "busy_cpus_elsewhere", lambda b=busy: b)
        assert _threads.threads_for(None, ceiling=8) == expected
    monkeypatch.setattr(_threads, "busy_cpus_elsewhere", lambda: 0)
    assert _threads.threads_for(None, ceiling=2) == 2  # never above the caller's setting
    monkeypatch.setattr(_threads, "busy_cpus_elsewhere", lambda: None)  # no /proc
    assert _threads.threads_for(None, ceiling=3) == 3


def test_busy_cpus_elsewhere_reads_proc():
    busy = _threads.busy_cpus_elsewhere()
    assert busy is None or busy >= 0
    assert 1 <= _threads.usable_cpus() <= (__import__("os").cpu_count() or 1)


def test_fit_and_predict_restore_the_callers_setting(data):
    X, y = data
    before = torch.get_num_threads()
    clf = SkMNISTClassifier(arch=recorder, n_jobs=before + 1, max_epochs=2, batch_size=20,
                            device="cpu", random_state=0).fit(X, y)
    assert set(clf.module_.threads_seen) == {before + 1}
    assert torch.get_num_threads() == before
    clf.module_.threads_seen.clear()
    clf.predict(X)
    assert set(clf.module_.threads_seen) == {before + 1}
    assert torch.get_num_threads() == before


def test_a_busy_machine_gets_fewer_threads_and_a_long_fit_looks_again(data, monkeypatch):
    X, y = data
    monkeypatch.setattr(_threads, "usable_cpus", lambda: 4)
    monkeypatch.setattr(_threads, "RECHECK_SECONDS", 0.0)
    busy = iter([0, 0, 3, 3, 3, 3, 3, 3])
    monkeypatch.setattr(_threads, "busy_cpus_elsewhere", lambda: next(busy))
    before = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        clf = SkMNISTClassifier(arch=recorder, max_epochs=3, batch_size=60, device="cpu",
                                random_state=0).fit(X, y)
    finally:
        torch.set_num_threads(before)
    # at fit start and before epoch 1: idle, 4 threads; then 3 cores busy: 1 thread
    assert clf.module_.threads_seen == [4, 1, 1]


def test_joblib_workers_do_not_oversubscribe(data):
    X, y = data
    result = cross_validate(
        SkMNISTClassifier(arch=recorder, max_epochs=1, device="cpu", random_state=0), X, y,
        cv=2, n_jobs=2, return_estimator=True)
    cpus = _threads.usable_cpus()
    for est in result["estimator"]:
        assert max(est.module_.threads_seen) <= max(1, cpus // 2)
