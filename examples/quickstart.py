"""Quickstart: a PyTorch CNN that is a scikit-learn classifier.

This example trains :class:`skmnist.SkMNISTClassifier` on the 5,000 MNIST
images bundled with skmnist (no download) and uses it like any scikit-learn
classifier:

* ``load_mnist_sample`` gives flat ``(n, 784)`` uint8 pixels and int labels;
* the sample is sorted by label, so the train/test split is stratified and
  shuffled;
* ``fit`` takes the raw pixels: with ``arch="auto"`` the classifier reads 784
  features as 28x28 images, builds a small CNN and standardises the pixels
  itself (``input_scaling="standard"``);
* ``predict``, ``predict_proba`` and ``score`` work as in scikit-learn, and
  the labels come back from ``classes_``.

It uses a CUDA GPU when there is one (``device="auto"``), else the CPU.
Set ``SKMNIST_EXAMPLE_FAST=1`` to train on fewer images for one epoch (CI).

Run it with ``python examples/quickstart.py``.
"""

import os
import time

import numpy as np
from sklearn.model_selection import train_test_split

from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample

FAST = os.environ.get("SKMNIST_EXAMPLE_FAST") == "1"

X, y = load_mnist_sample(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=1000 if FAST else 4000, test_size=1000, stratify=y, random_state=0
)
print(f"train: {X_train.shape} {X_train.dtype}, test: {X_test.shape}")

clf = SkMNISTClassifier(max_epochs=1 if FAST else 3, random_state=0)
start = time.perf_counter()
clf.fit(X_train, y_train)
fit_time = time.perf_counter() - start
print(f"trained arch={clf.arch_!r} on {clf.device_} for {clf.n_iter_} epoch(s) "
      f"in {fit_time:.1f} s")
print("train loss per epoch:", np.round(clf.history_[:, "train_loss"], 3).tolist())

y_pred = clf.predict(X_test)
proba = clf.predict_proba(X_test)
print(f"predict: {y_pred[:10].tolist()} (true: {y_test[:10].tolist()})")
print(f"predict_proba: shape {proba.shape}; first image: P({clf.classes_[proba[0].argmax()]}) "
      f"= {proba[0].max():.3f}")
print(f"test accuracy (score): {clf.score(X_test, y_test):.3f}")
