"""A search worker process for the multi-process tests (run as a script).

python _worker.py STORAGE STUDY_NAME [--sleep S] [--epochs N] [--heartbeat S] [--grace S]
    [--points N] [--timeout S]

Searches a grid of ``--points`` ToyClassifier candidates (arch x width) on
``toy_data()`` with cv=2, sharing the study with every other worker.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _estimators import ToyClassifier, grid, toy_data  # noqa: E402

from skmnist.model_selection import ArchitectureSearchCV  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("storage")
    parser.add_argument("study_name")
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--heartbeat", type=int, default=1)
    parser.add_argument("--grace", type=int, default=2)
    parser.add_argument("--points", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=None)
    args = parser.parse_args()
    X, y = toy_data()
    search = ArchitectureSearchCV(
        ToyClassifier(sleep=args.sleep, max_epochs=args.epochs), grid(args.points), cv=2,
        storage=args.storage, study_name=args.study_name, refit=False,
        heartbeat_interval=args.heartbeat, grace_period=args.grace, timeout=args.timeout)
    search.fit(X, y)
    print("done", len(search.cv_results_["params"]), flush=True)


if __name__ == "__main__":
    main()
