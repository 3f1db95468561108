"""The same architecture search in one process, then spread over worker processes.

First :class:`~skmnist.model_selection.ArchitectureSearchCV` searches a grid
in this process (the study lives in memory). Then the same grid is searched
by several ``skmnist search`` workers, separate processes that share one
study through a storage: an Optuna journal file here (processes on one
machine), or any database URL given with ``--storage`` (e.g.
``postgresql+psycopg2://user@host/db`` for workers on many machines; start
the same command on each of them). Each grid point is evaluated exactly
once, whichever worker gets it. Finally ``ArchitectureSearchCV`` opens the
finished study (nothing is left to run), builds ``cv_results_`` and refits
the best parameters.

Set ``SKMNIST_EXAMPLE_FAST=1`` for a tiny version (CI). Run it with
``python examples/distributed_search.py [--workers 3] [--storage URL]``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

from sklearn.model_selection import train_test_split

from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample
from skmnist.model_selection import ArchitectureSearchCV

FAST = os.environ.get("SKMNIST_EXAMPLE_FAST") == "1"
N_SAMPLES, EPOCHS, CV, SEED = (300, 1, 2, 0) if FAST else (1500, 3, 3, 0)

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--workers", type=int, default=2 if FAST else 3)
parser.add_argument("--storage", default=None,
                    help="database URL or journal file (default: a temporary journal file)")
args = parser.parse_args()

if FAST:
    space = [{"arch": ["mlp"], "hidden_units": [(16,), (32,)]},
             {"arch": ["cnn"], "channels": [(4,), (8,)]}]
else:
    space = [{"arch": ["mlp"], "hidden_units": [(64,), (128,), (256,)]},
             {"arch": ["cnn"], "channels": [(8, 16), (16, 32), (32, 64)]}]

# The data and estimator `skmnist search --n-samples N --epochs E --seed S` uses.
X, y = load_mnist_sample(return_X_y=True)
X, _, y, _ = train_test_split(X, y, train_size=N_SAMPLES, stratify=y, random_state=SEED)
estimator = SkMNISTClassifier(max_epochs=EPOCHS, device="cpu", random_state=SEED)

# 1. One process, in memory.
start = time.perf_counter()
single = ArchitectureSearchCV(estimator, space, cv=CV, pruner="median").fit(X, y)
print(f"one process: {len(single.cv_results_['params'])} grid points in "
      f"{time.perf_counter() - start:.0f} s; best {single.best_params_} "
      f"(cv accuracy {single.best_score_:.4f})")

# 2. The same search by worker processes sharing a study.
with tempfile.TemporaryDirectory() as tmp:
    storage = args.storage or os.path.join(tmp, "study.journal")
    study_name = f"example-{uuid.uuid4().hex[:8]}"
    space_file = os.path.join(tmp, "space.json")
    with open(space_file, "w") as f:  # JSON has no tuples: lists are read back as tuples
        json.dump(space, f)
    command = [sys.executable, "-m", "skmnist.model_selection", "search",
               "--storage", storage, "--study-name", study_name, "--space", space_file,
               "--n-samples", str(N_SAMPLES), "--epochs", str(EPOCHS), "--cv", str(CV),
               "--pruner", "median", "--seed", str(SEED), "--device", "cpu", "--quiet"]
    print(f"\nstarting {args.workers} workers:\n  {' '.join(command)}")
    start = time.perf_counter()
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for _ in range(args.workers)]
    for worker in workers:
        out, _ = worker.communicate(timeout=1800)
        if worker.returncode != 0:
            sys.exit(f"a worker failed:\n{out}")
    print(f"{args.workers} workers finished in {time.perf_counter() - start:.0f} s")

    # 3. Open the finished study: nothing left to run; cv_results_ and a refit.
    shared = ArchitectureSearchCV(estimator, space, cv=CV, pruner="median", storage=storage,
                                  study_name=study_name).fit(X, y)
    res = shared.cv_results_
    by_worker = {}
    for trial in shared.study_.trials:
        if trial.user_attrs.get("duplicate_of") is None:
            by_worker.setdefault(trial.user_attrs.get("worker", "?"), []).append(trial.number)
    for worker, numbers in sorted(by_worker.items()):
        print(f"  worker {worker}: trials {numbers}")
    print(f"shared study: {len(res['params'])} grid points, each evaluated once: "
          f"{len({repr(p) for p in res['params']}) == len(res['params'])}; best "
          f"{shared.best_params_} (cv accuracy {shared.best_score_:.4f})")
    print(f"same best parameters as the single process: "
          f"{shared.best_params_ == single.best_params_}")
