"""Accuracy gain of train-time augmentation, by 5-fold cross-validation.

Runs ``cross_val_score`` of ``make_pipeline(PixelScaler(), SkMNISTClassifier(...))``
on the bundled 5,000-image MNIST sample, with and without ``augment=True``,
on the same stratified folds and seeds, and prints a Markdown table plus JSON.

    python benchmarks/bench_augment.py                  # default: 5 folds, 10 epochs
    python benchmarks/bench_augment.py --epochs 3 --folds 2   # quick look
"""

import argparse
import json
import platform
import time

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample
from skmnist.preprocessing import PixelScaler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--arch", default="cnn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()

    X, y = load_mnist_sample(return_X_y=True)
    cv = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    results = {}
    for name, augment in (("no augmentation", None), ("augment=True", True)):
        pipe = make_pipeline(PixelScaler(), SkMNISTClassifier(
            arch=args.arch, augment=augment, max_epochs=args.epochs, device="cpu",
            random_state=args.seed))
        start = time.perf_counter()
        scores = cross_val_score(pipe, X, y, cv=cv)
        results[name] = {"scores": scores.tolist(), "mean": float(scores.mean()),
                         "std": float(scores.std()), "seconds": time.perf_counter() - start}
        print(f"{name}: {np.round(scores, 4).tolist()}", flush=True)

    gain = results["augment=True"]["mean"] - results["no augmentation"]["mean"]
    print(f"\n{args.folds}-fold CV on the bundled sample, arch={args.arch}, "
          f"{args.epochs} epochs, torch threads={torch.get_num_threads()}\n")
    print("| setting | mean accuracy | std | fold scores | wall s |")
    print("|---|---:|---:|---|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['mean']:.4f} | {r['std']:.4f} | "
              f"{', '.join(f'{s:.3f}' for s in r['scores'])} | {r['seconds']:.0f} |")
    print(f"\nGain from augmentation: {100 * gain:+.2f} points")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results, "gain_points": 100 * gain,
                       "machine": platform.processor() or platform.machine(),
                       "torch": torch.__version__}, f, indent=1)


if __name__ == "__main__":
    main()
