"""``skmnist train`` and ``skmnist finetune``: fit, report held-out accuracy, save."""

import argparse
import os
import sys
import time
import warnings

import numpy as np

from ._common import (
    HelpFormatter,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CLIError,
    add_data_arguments,
    add_device_argument,
    add_image_arguments,
    add_model_argument,
    label_names_for,
    positive_int,
    resolve_model_path,
    show_progress,
)
from ._data import load_data, subsample_per_class

#: Where ``train`` writes by default; the other commands write next to the model they use.
DEFAULT_OUTPUT = "skmnist_output"


def _add_output_arguments(parser, default_help):
    parser.add_argument("--output", "-o", default=None, metavar="DIR",
                        help="the folder this command writes model.skmnist and its report "
                             f"into (default: {default_help})")
    parser.add_argument("--no-report", action="store_true",
                        help="do not write the report (plots, report.md, metrics.json)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no per-epoch table")


def _fit_quietly(model, X, y):
    """``model.fit(X, y)`` without the estimator's Ctrl-C warning: _finish says it once."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Training interrupted", category=UserWarning)
        model.fit(X, y)


def _training_data(args, data):
    if data.X_train is None or len(data.y_train) == 0:
        raise CLIError(f"--data {args.data}: no training images (only a test part)")
    if data.X_test is None or len(data.y_test) == 0:
        raise CLIError(f"--data {args.data}: no test images to measure accuracy on")
    return data.X_train, data.y_train


def _write_report(model, data, args, title):
    if args.no_report:
        return
    from ..reports import write_report

    print("Writing the report...", flush=True)
    result = write_report(model, data.X_test, data.y_test, args.output, title=title,
                          target_names=label_names_for(model, data),
                          description=data.describe_test())
    files = result["files"]
    print(f"Report: {files['report']} (open {files['report_html']} in a browser to see "
          "the plots)")


def _finish(model, data, args, fit_seconds, *, saved_as, title):
    """Score, save and report a fitted model; exit status 130 after Ctrl-C.

    The estimators catch Ctrl-C themselves and keep the last completed
    epoch (``interrupted_``): that model is saved (without scoring or a
    report, the user asked to stop), and the exit status says it was
    interrupted. An interrupt during the first epoch saves nothing.
    """
    from .. import save

    if model.interrupted_ and model.n_iter_ == 0:
        print("Interrupted during the first epoch: nothing was trained, nothing saved.",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if not model.interrupted_:
        accuracy = model.score(data.X_test, data.y_test)
        print(f"Held-out accuracy: {accuracy:.4f}")
    os.makedirs(args.output, exist_ok=True)
    path = save(model, os.path.join(args.output, "model.skmnist"))
    if model.interrupted_:
        print(f"Interrupted after {model.n_iter_} of {model._resolved('max_epochs')} epochs ("
              f"{fit_seconds:.1f}s): saved the model of the last completed epoch to {path} "
              "(no report).", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"Saved {saved_as} to {path}")
    _write_report(model, data, args, title)
    return EXIT_OK


def cmd_train(args):
    """Train a classifier on --data, report held-out accuracy, save it and the report."""
    from .. import SkMNISTClassifier

    data = load_data(args.data, data_home=args.data_home, test_size=args.test_size,
                     seed=args.seed, classes=args.classes, invert=args.invert,
                     layout=args.layout, show_progress=show_progress(args))
    X, y = _training_data(args, data)
    args.output = args.output or DEFAULT_OUTPUT
    epochs = {} if args.epochs is None else {"max_epochs": args.epochs}
    clf = SkMNISTClassifier(arch=args.arch, device=args.device, random_state=args.seed,
                            verbose=0 if args.quiet else 1,
                            validation_fraction=args.validation_fraction or None, **epochs)
    print(f"Training {args.arch!r} on {len(X)} {data.name} images "
          f"({len(np.unique(y))} classes), testing on {len(data.y_test)}.", flush=True)
    start = time.perf_counter()
    _fit_quietly(clf, X, y)
    fit_seconds = time.perf_counter() - start
    print(f"arch={clf.arch_} device={clf.device_} epochs={clf.n_iter_} "
          f"fit_time={fit_seconds:.1f}s")
    return _finish(clf, data, args, fit_seconds, saved_as="the model",
                   title="Training report: held-out evaluation")


def add_train_parser(sub):
    parser = sub.add_parser(
        "train", help="train a classifier, report accuracy, save it (the default command)",
        formatter_class=HelpFormatter,
        description="Train a classifier on --data, print a row per epoch, report the "
                    "accuracy on held-out images, save the model to OUTPUT/model.skmnist and "
                    "write a report (plots, report.md, metrics.json) into OUTPUT.",
        epilog="examples:\n"
               "  skmnist train                              # CNN on the bundled sample\n"
               "  skmnist train --arch mlp --epochs 3 -o mlp_run\n"
               "  skmnist train --data fashion --device cuda\n"
               "  skmnist train --data my_digits/ --epochs 20  # my_digits/<label>/*.png")
    parser.add_argument("--arch", default="auto",
                        help="architecture: auto (a CNN for images), cnn, lenet5, mlp")
    parser.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                        help="training epochs (default: SkMNISTClassifier's max_epochs)")
    parser.add_argument("--validation-fraction", type=parse_fraction, default=0.1,
                        metavar="F",
                        help="hold out this fraction of the training images to record "
                             "validation loss and accuracy after every epoch (the report's "
                             "learning curves; default 0.1, 0 for none)")
    add_device_argument(parser)
    _add_output_arguments(parser, f"./{DEFAULT_OUTPUT}")
    add_data_arguments(parser)
    add_image_arguments(parser)
    parser.set_defaults(func=cmd_train)
    return parser


def parse_fraction(text):
    """``--validation-fraction``: a number in [0, 1); 0 means none."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction such as 0.1, got {text!r}") \
            from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {value}")
    return value


def finetune_output(model_path):
    """Where ``finetune`` writes by default: ``finetuned/`` next to the pretrained model."""
    return os.path.join(os.path.dirname(os.path.abspath(model_path)), "finetuned")


def parse_freeze(text):
    """``--freeze``: backbone, none or a number of leading blocks."""
    if text in ("backbone", "none"):
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected backbone, none or a number of blocks, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of blocks >= 0, got {value}")
    return value


def cmd_finetune(args):
    """Fine-tune a saved model on --data; report held-out accuracy; save it."""
    from .. import SkMNISTFineTuner
    from ._common import load_model

    model_path = resolve_model_path(args.model)
    args.output = args.output or finetune_output(model_path)
    base = load_model(model_path, "cpu")
    data = load_data(args.data, data_home=args.data_home, test_size=args.test_size,
                     seed=args.seed, classes=args.classes, image_shape=base.input_shape_,
                     invert=args.invert, layout=args.layout, show_progress=show_progress(args))
    X, y = _training_data(args, data)
    per_class = ""
    if args.labels_per_class:
        X, y = subsample_per_class(X, y, args.labels_per_class, args.seed)
        per_class = f", at most {args.labels_per_class} per class"
    tuner = SkMNISTFineTuner(
        model_path, freeze=args.freeze, unfreeze_epoch=args.unfreeze_epoch, head=args.head,
        **({} if args.lr is None else {"lr": args.lr}),
        **({} if args.epochs is None else {"max_epochs": args.epochs}),
        device=args.device, random_state=args.seed,
        verbose=0 if args.quiet else 1)
    print(f"Fine-tuning {base.arch_!r} from {model_path} on {len(X)} {data.name} images "
          f"({len(np.unique(y))} classes{per_class}), testing on {len(data.y_test)}.",
          flush=True)
    if set(np.unique(data.y_test).tolist()) <= set(np.asarray(base.classes_).tolist()):
        try:  # the base model may not take these images as they are (the tuner adapts them)
            before = base.score(data.X_test, data.y_test)
        except ValueError:
            before = None
        if before is not None:
            print(f"Held-out accuracy before fine-tuning: {before:.4f}")
    start = time.perf_counter()
    _fit_quietly(tuner, X, y)
    fit_seconds = time.perf_counter() - start
    head = "reinit" if tuner.head == "reinit" else "new" if tuner.head_replaced_ else "reused"
    print(f"frozen={','.join(tuner.frozen_) or 'none'} head={head} device={tuner.device_} "
          f"epochs={tuner.n_iter_} fit_time={fit_seconds:.1f}s")
    return _finish(tuner, data, args, fit_seconds, saved_as="the fine-tuned model",
                   title="Fine-tuning report: held-out evaluation")


def add_finetune_parser(sub):
    parser = sub.add_parser(
        "finetune", help="fine-tune a saved model on new data (few labels, new classes)",
        formatter_class=HelpFormatter,
        description="Continue training a saved model on --data with SkMNISTFineTuner: the "
                    "pretrained layers are frozen (or not) and the head is reused for the "
                    "same classes or replaced for new ones. Prints the held-out accuracy, "
                    "saves OUTPUT/model.skmnist and writes a report into OUTPUT.",
        epilog="examples:\n"
               "  skmnist train --classes 0-4 -o digits04\n"
               "  skmnist finetune -m digits04/model.skmnist --classes 5-9 "
               "--labels-per-class 20\n"
               "  skmnist finetune -m skmnist_output/model.skmnist --data my_digits/ "
               "--freeze none")
    add_model_argument(parser, "the pretrained model (saved by 'skmnist train')")
    parser.add_argument("--freeze", type=parse_freeze, default="backbone", metavar="WHAT",
                        help="backbone (the convolutional blocks; for an MLP every layer but "
                             "the output; default), none, or a number of leading blocks")
    parser.add_argument("--unfreeze-epoch", type=int, default=None, metavar="N",
                        help="unfreeze everything before this epoch (counted from 0)")
    parser.add_argument("--head", choices=("auto", "reuse", "replace", "reinit"),
                        default="auto",
                        help="auto (default): reuse the output layer for the same classes, "
                             "else replace it; reinit: new output layer and re-initialised "
                             "dense layers (for data from another domain)")
    parser.add_argument("--labels-per-class", type=positive_int, default=None, metavar="K",
                        help="train on at most K images of each class (default: all)")
    parser.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                        help="fine-tuning epochs (default: SkMNISTFineTuner's max_epochs, "
                             "20 for a CNN)")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate of the head; the backbone trains at a tenth of "
                             "it (default: SkMNISTFineTuner's, 0.01)")
    add_device_argument(parser)
    _add_output_arguments(parser, "finetuned/ next to the pretrained model")
    add_data_arguments(parser)
    add_image_arguments(parser)
    parser.set_defaults(func=cmd_finetune)
    return parser
