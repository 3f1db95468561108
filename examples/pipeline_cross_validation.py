"""Cross-validate a preprocessing + network pipeline.

A :class:`skmnist.SkMNISTClassifier` is a scikit-learn estimator, so it goes
at the end of a :func:`~sklearn.pipeline.make_pipeline` and the whole pipeline
is cross-validated with :func:`~sklearn.model_selection.cross_val_score`:

* :class:`skmnist.preprocessing.PixelScaler` brings the 8-bit pixels to
  [0, 1] (it picks the divisor 255 in ``fit``); because it sits inside the
  pipeline it is refitted on each training fold, so nothing leaks from the
  held-out fold;
* 5-fold stratified cross-validation (the bundled sample is sorted by label,
  so the folds are shuffled) trains five LeNet-5 networks from scratch, each
  seeded by ``random_state``, so the scores are reproducible on the CPU.

Set ``SKMNIST_EXAMPLE_FAST=1`` to use fewer images and one epoch (CI).

Run it with ``python examples/pipeline_cross_validation.py``.
"""

import os
import time

from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline

from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample
from skmnist.preprocessing import PixelScaler

FAST = os.environ.get("SKMNIST_EXAMPLE_FAST") == "1"

X, y = load_mnist_sample(return_X_y=True)
# A stratified subset keeps the example quick; use all 5,000 images for real.
X, _, y, _ = train_test_split(
    X, y, train_size=1000 if FAST else 2500, stratify=y, random_state=0
)

pipe = make_pipeline(
    PixelScaler(),
    SkMNISTClassifier(arch="lenet5", max_epochs=1 if FAST else 3, random_state=0),
)
print(pipe)

cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
start = time.perf_counter()
scores = cross_val_score(pipe, X, y, cv=cv)
elapsed = time.perf_counter() - start

print(f"\n5-fold accuracy on {len(X)} images: {scores.round(3).tolist()}")
print(f"mean {scores.mean():.3f} +/- {scores.std():.3f} ({elapsed:.1f} s)")
