"""The ``skmnist`` command (also ``python -m skmnist``).

A thin layer over the public API: every subcommand calls what a user of the
library would call.

``skmnist train`` (the default) trains a classifier on the bundled MNIST
sample (or another data set), shows progress per epoch, reports held-out
accuracy and saves the model with :func:`skmnist.save`.
"""

import argparse
import os
import sys
import time

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _load_data(name, data_home):
    from .datasets import fetch_fashion_mnist, fetch_mnist, load_mnist_sample

    if name == "sample":
        X, y = load_mnist_sample(return_X_y=True)
        return X, y, None, None
    fetch = {"mnist": fetch_mnist, "fashion": fetch_fashion_mnist}[name]
    X, y = fetch(subset="train", data_home=data_home, return_X_y=True)
    X_test, y_test = fetch(subset="test", data_home=data_home, return_X_y=True)
    return X, y, X_test, y_test


def _cmd_train(args):
    import numpy as np
    from sklearn.model_selection import train_test_split

    from . import SkMNISTClassifier, save

    X, y, X_test, y_test = _load_data(args.data, args.data_home)
    if X_test is None:
        X, X_test, y, y_test = train_test_split(
            X, y, test_size=args.test_size, stratify=y, random_state=args.seed)
    clf = SkMNISTClassifier(arch=args.arch, max_epochs=args.epochs, device=args.device,
                            random_state=args.seed, verbose=0 if args.quiet else 1)
    print(f"Training {args.arch!r} on {len(X)} {args.data} images "
          f"({len(np.unique(y))} classes), testing on {len(X_test)}.", flush=True)
    start = time.perf_counter()
    clf.fit(X, y)
    fit_seconds = time.perf_counter() - start
    accuracy = clf.score(X_test, y_test)
    print(f"arch={clf.arch_} device={clf.device_} epochs={clf.n_iter_} "
          f"fit_time={fit_seconds:.1f}s")
    print(f"Held-out accuracy: {accuracy:.4f}")
    os.makedirs(args.output, exist_ok=True)
    path = save(clf, os.path.join(args.output, "model.skmnist"))
    print(f"Saved the model to {path}")
    return EXIT_OK


def _cmd_info(args):
    import sklearn
    import skorch
    import torch

    from . import __version__
    from .datasets import get_data_home
    from .models import list_models

    print(f"skmnist {__version__}")
    print(f"torch {torch.__version__}, skorch {skorch.__version__}, "
          f"scikit-learn {sklearn.__version__}")
    cuda = torch.cuda.is_available()
    print(f"CUDA available: {cuda}" + (f" ({torch.cuda.get_device_name(0)})" if cuda else ""))
    print(f"Architectures: {', '.join(list_models())}")
    print(f"Data home: {get_data_home()}")
    return EXIT_OK


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skmnist",
        description="Train PyTorch image classifiers the scikit-learn way.")
    sub = parser.add_subparsers(dest="command")

    train = sub.add_parser("train", help="train a classifier, report accuracy, save it")
    train.add_argument("--data", choices=("sample", "mnist", "fashion"), default="sample",
                       help="the bundled MNIST sample (default, offline), or full MNIST / "
                            "Fashion-MNIST from the data home")
    train.add_argument("--data-home", default=None,
                       help="folder of the IDX files (default: $SKMNIST_DATA or ~/skmnist_data)")
    train.add_argument("--arch", default="auto", help="architecture: auto, cnn, lenet5, mlp")
    train.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--test-size", type=int, default=1000,
                       help="held-out images for the sample data (default 1000)")
    train.add_argument("--output", "-o", default="skmnist_output",
                       help="output folder (default ./skmnist_output)")
    train.add_argument("--quiet", "-q", action="store_true", help="no per-epoch table")
    train.set_defaults(func=_cmd_train)

    info = sub.add_parser("info", help="versions, devices, architectures, data home")
    info.set_defaults(func=_cmd_info)
    return parser


def main(argv=None):
    """Run the ``skmnist`` command; returns the exit status."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["train"] + argv
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:
        print(f"skmnist: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("skmnist: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
