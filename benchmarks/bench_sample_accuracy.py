"""Accuracy and fit time of the default classifiers on the bundled MNIST sample.

Stratified 4,000 / 1,000 split of the 5,000 bundled images; every estimator
keeps its defaults except ``arch`` (and ``random_state`` for the split and
the seed). Prints a Markdown table and optionally JSON.

    python benchmarks/bench_sample_accuracy.py --seeds 0 1 2
"""

import argparse
import json
import time

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--archs", nargs="+", default=["auto", "mlp", "lenet5"])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    X, y = load_mnist_sample(return_X_y=True)
    rows = []
    for arch in args.archs:
        for seed in args.seeds:
            X_tr, X_te, y_tr, y_te = train_test_split(
                X, y, train_size=4000, test_size=1000, stratify=y, random_state=seed)
            start = time.perf_counter()
            clf = SkMNISTClassifier(arch=arch, random_state=seed).fit(X_tr, y_tr)
            seconds = time.perf_counter() - start
            rows.append({"arch": arch, "resolved": clf.arch_, "seed": seed,
                         "accuracy": float(clf.score(X_te, y_te)), "fit_seconds": seconds})
            print(f"{arch:>6} seed {seed}: accuracy {rows[-1]['accuracy']:.4f}, "
                  f"fit {seconds:.1f} s", flush=True)
    print(f"\ntorch threads: {torch.get_num_threads()}\n")
    print("| arch | seeds | mean accuracy | min | mean fit s |")
    print("|---|---|---:|---:|---:|")
    for arch in args.archs:
        r = [row for row in rows if row["arch"] == arch]
        acc = np.array([row["accuracy"] for row in r])
        print(f"| {arch} ({r[0]['resolved']}) | {len(r)} | {acc.mean():.4f} | {acc.min():.4f} | "
              f"{np.mean([row['fit_seconds'] for row in r]):.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
