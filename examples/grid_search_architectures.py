"""Compare architectures with a grid search.

``arch`` is an ordinary hyperparameter of :class:`skmnist.SkMNISTClassifier`,
so :class:`~sklearn.model_selection.GridSearchCV` can search over the
architectures (``"mlp"``, ``"cnn"``, ``"lenet5"``) together with their
settings. Some settings belong to one architecture only (``channels`` is the
CNN's, ``hidden_units`` is the MLP's here), so the grid is a list with one
dict per architecture; a setting an architecture does not take is an error,
not silently ignored.

The example prints the search results as a table built from
``pd.DataFrame(search.cv_results_)``, then scores the refitted best model on a
held-out test set.

Set ``SKMNIST_EXAMPLE_FAST=1`` to use fewer images and one epoch (CI).

Run it with ``python examples/grid_search_architectures.py``.
"""

import os
import time

import pandas as pd
from sklearn.model_selection import GridSearchCV, train_test_split

from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample

FAST = os.environ.get("SKMNIST_EXAMPLE_FAST") == "1"

X, y = load_mnist_sample(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=450 if FAST else 1500, test_size=500, stratify=y, random_state=0
)

param_grid = [
    {"arch": ["mlp"], "hidden_units": [(64,), (256,)]},
    {"arch": ["cnn"], "channels": [(8, 16), (16, 32)]},
    {"arch": ["lenet5"]},
]
search = GridSearchCV(
    SkMNISTClassifier(max_epochs=1 if FAST else 3, random_state=0),
    param_grid,
    cv=3,
)
start = time.perf_counter()
search.fit(X_train, y_train)
elapsed = time.perf_counter() - start

columns = {
    "param_arch": "arch",
    "param_hidden_units": "hidden_units",
    "param_channels": "channels",
    "mean_test_score": "mean acc",
    "std_test_score": "std acc",
    "mean_fit_time": "fit s",
    "rank_test_score": "rank",
}
results = (
    pd.DataFrame(search.cv_results_)[list(columns)]
    .rename(columns=columns)
    .sort_values("rank")
    .fillna({"hidden_units": "-", "channels": "-"})  # not a setting of that arch
)
n_candidates = len(results)
print(f"{n_candidates} candidates x 3 folds on {len(X_train)} images in {elapsed:.1f} s\n")
with pd.option_context("display.precision", 3, "display.width", 120):
    print(results.to_string(index=False))

print(f"\nbest: {search.best_params_} (cv accuracy {search.best_score_:.3f})")
print(f"test accuracy of the refitted best model: {search.score(X_test, y_test):.3f}")
