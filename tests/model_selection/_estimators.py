"""Small scikit-learn classifiers for the search tests (no torch: fast, deterministic).

``ToyClassifier.score`` is a known function of its parameters and of the
epochs trained, so pruning decisions are deterministic; ``partial_fit`` and
``score`` can record the ids of the rows they see (column 0 of X) in
``ToyClassifier.calls``, to check that cross-validation splits stay fixed.
"""

import itertools
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

QUALITY = {"a": 0.5, "b": 0.8, "c": 0.6}


class ToyClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; ``score`` = quality * (1 - 0.5 ** epochs)."""

    calls = []  # (model number, "fit" | "score", ids) when record=True
    _numbers = itertools.count()

    def __init__(self, arch="a", width=1, depth=1, lr=0.1, max_epochs=3, sleep=0.0,
                 record=False, fail=False):
        self.arch = arch
        self.width = width
        self.depth = depth
        self.lr = lr
        self.max_epochs = max_epochs
        self.sleep = sleep
        self.record = record
        self.fail = fail

    def partial_fit(self, X, y, classes=None):
        if self.fail:
            raise ValueError("this candidate always fails")
        X = np.asarray(X)
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.classes_ = np.unique(classes)
            self.n_iter_ = 0
            self.n_features_in_ = X.shape[1]
            self.uid_ = next(ToyClassifier._numbers)
        if self.sleep:
            time.sleep(self.sleep)
        values, counts = np.unique(y, return_counts=True)
        self.majority_ = values[np.argmax(counts)]
        self.n_iter_ += 1
        if self.record:
            ToyClassifier.calls.append((self.uid_, "fit", tuple(X[:, 0].astype(int))))
        return self

    def fit(self, X, y):
        for attr in ("classes_", "n_iter_"):
            if hasattr(self, attr):
                delattr(self, attr)
        for epoch in range(self.max_epochs):
            self.partial_fit(X, y, classes=np.unique(y) if epoch == 0 else None)
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)

    def quality(self):
        return QUALITY[self.arch] + 0.01 * self.width + 0.001 * self.depth + 0.0001 * self.lr

    def score(self, X, y, sample_weight=None):
        if self.record:
            ids = tuple(np.asarray(X)[:, 0].astype(int))
            ToyClassifier.calls.append((self.uid_, "score", ids))
        return self.quality() * (1 - 0.5 ** self.n_iter_)


def toy_data(n=60, n_features=3, seed=0):
    """X whose column 0 is the row id, and balanced labels 0/1/2."""
    rng = np.random.RandomState(seed)
    X = np.c_[np.arange(n), rng.rand(n, n_features - 1)]
    y = np.arange(n) % 3
    return X, y


def grid(points):
    """A grid of ``points`` candidates: arch a and b, widths 1, 2, ..."""
    half = points // 2
    return [{"arch": ["a"], "width": list(range(1, half + 1))},
            {"arch": ["b"], "width": list(range(1, points - half + 1))}]
