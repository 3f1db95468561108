"""Search architectures with ArchitectureSearchCV, with and without pruning.

A grid over two architectures and three sizes each (the MLP's
``hidden_units``, the CNN's ``channels``) is searched on a stratified subset
of the bundled MNIST sample, with 3-fold cross-validation and ``max_epochs``
epochs per trial, three times: training every trial to the end, with the
``"median"`` pruner (a trial whose cross-validated accuracy at epoch >= 2 is
below the median of the complete trials at that epoch stops) and with the
``"halving"`` pruner (successive halving at epochs 1, 2, 4). The script
prints the result tables, the fold-epochs each search trained and its best
score; then the refitted best model predicts a held-out set.

``--grid lr`` adds a learning-rate axis (18 points), where pruning has more
to cut. Set ``SKMNIST_EXAMPLE_FAST=1`` for a tiny version (CI, < 60 s).

Run it with ``python examples/architecture_search.py [--grid small|lr]
[--n-samples 2000] [--epochs 4]``.
"""

import argparse
import os
import time

from sklearn.model_selection import train_test_split

from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample
from skmnist.model_selection import ArchitectureSearchCV

FAST = os.environ.get("SKMNIST_EXAMPLE_FAST") == "1"

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--grid", choices=("small", "lr"), default="small")
parser.add_argument("--n-samples", type=int, default=400 if FAST else 2000)
parser.add_argument("--epochs", type=int, default=2 if FAST else 4)
parser.add_argument("--cv", type=int, default=2 if FAST else 3)
args = parser.parse_args()

X, y = load_mnist_sample(return_X_y=True)
X_search, X_test, y_search, y_test = train_test_split(
    X, y, train_size=args.n_samples, test_size=500, stratify=y, random_state=0)

if FAST:
    space = [{"arch": ["mlp"], "hidden_units": [(16,), (32,)]},
             {"arch": ["cnn"], "channels": [(4,), (8,)]}]
else:
    space = [{"arch": ["mlp"], "hidden_units": [(64,), (128,), (256,)]},
             {"arch": ["cnn"], "channels": [(8, 16), (16, 32), (32, 64)]}]
if args.grid == "lr":
    space = [dict(sub, lr=[3e-4, 2e-3, 1e-2]) for sub in space]

estimator = SkMNISTClassifier(max_epochs=args.epochs, device="cpu", random_state=0)
summary = {}
for pruner in (None, "median", "halving"):
    search = ArchitectureSearchCV(estimator, space, cv=args.cv, pruner=pruner)
    start = time.perf_counter()
    search.fit(X_search, y_search)
    seconds = time.perf_counter() - start
    res = search.cv_results_
    fold_epochs = int(res["epochs_trained"].sum()) * search.n_splits_
    summary[pruner] = (fold_epochs, search.best_score_, search.best_params_, seconds, search)
    print(f"\npruner={pruner}: {len(res['params'])} grid points, "
          f"{int((res['state'] == 'PRUNED').sum())} pruned, {fold_epochs} fold-epochs, "
          f"{seconds:.0f} s")
    for i in res["rank_test_score"].argsort(kind="stable"):
        params = ", ".join(f"{k}={v}" for k, v in res["params"][i].items())
        print(f"  {res['rank_test_score'][i]:>2}  {res['state'][i]:<8} "
              f"epochs={res['epochs_trained'][i]}  acc={res['mean_test_score'][i]:.4f}  "
              f"{params}")

full = summary[None]
print(f"\n{args.n_samples} images, cv={args.cv}, max_epochs={args.epochs}, grid={args.grid}")
print(f"{'pruner':>8} {'fold-epochs':>12} {'saved':>6} {'best cv acc':>12} {'same best':>10} "
      f"{'time s':>7}  best params")
for pruner, (epochs, score, params, seconds, _) in summary.items():
    print(f"{str(pruner):>8} {epochs:>12} {1 - epochs / full[0]:>6.0%} {score:>12.4f} "
          f"{str(params == full[2]):>10} {seconds:>7.0f}  {params}")

best = summary["median"][4]
print(f"held-out accuracy of the refitted best model (median pruner): "
      f"{best.score(X_test, y_test):.4f}")
