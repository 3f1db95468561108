"""``skmnist evaluate``: metrics and a report for a saved model on a data set."""

import json
import os
import re

import numpy as np

from ._common import (
    HelpFormatter,
    EXIT_OK,
    CLIError,
    add_data_arguments,
    add_device_argument,
    add_image_arguments,
    add_model_argument,
    label_names_for,
    load_model,
    resolve_model_path,
    show_progress,
)
from ._data import load_data


def _pick_split(data, split):
    parts = {"test": [(data.X_test, data.y_test)], "train": [(data.X_train, data.y_train)]}
    parts["all"] = parts["train"] + parts["test"]
    chosen = [(X, y) for X, y in parts[split] if X is not None and len(y)]
    if not chosen:
        raise CLIError(f"--data {data.name}: no {split} images")
    if len(chosen) == 1:
        return chosen[0]
    shapes = {X.shape[1:] for X, _ in chosen}
    if len(shapes) > 1:
        raise CLIError(f"--data {data.name}: the training and test images have different "
                       f"shapes {sorted(shapes)}")
    return np.concatenate([X for X, _ in chosen]), np.concatenate([y for _, y in chosen])


def evaluation_output(model, data_name, split):
    """``evaluation-<data>[-<split>]/`` in the folder of the model evaluated."""
    path = resolve_model_path(model)
    tag = re.sub(r"[^A-Za-z0-9._-]+", "_", data_name) + ("" if split == "test" else f"-{split}")
    return os.path.join(os.path.dirname(os.path.abspath(path)), f"evaluation-{tag}")


def cmd_evaluate(args):
    """Evaluate a saved model on a split of --data and write the report."""
    from sklearn.metrics import classification_report

    from ..reports import write_report

    model = load_model(args.model, args.device)
    data = load_data(args.data, data_home=args.data_home, test_size=args.test_size,
                     seed=args.seed, classes=args.classes,
                     need="test" if args.split == "test" else "all",
                     image_shape=model.input_shape_, invert=args.invert, layout=args.layout,
                     show_progress=show_progress(args))
    X, y = _pick_split(data, args.split)
    args.output = args.output or evaluation_output(args.model, data.name, args.split)
    description = (data.describe_test() if args.split == "test"
                   else f"{data.name}: {args.split} split, {len(y)} images")
    if not args.json:
        print(f"Evaluating {args.model} on {len(y)} {data.name} images ({args.split} split).",
              flush=True)
    names = label_names_for(model, data)
    result = write_report(model, X, y, args.output, title="Evaluation report",
                          target_names=names, description=description)
    if args.json:
        print(json.dumps(result["metrics"], indent=1))
        return EXIT_OK
    y_pred = model.predict(X)
    labels = list(model.classes_) + [c for c in np.unique(y) if c not in set(
        np.asarray(model.classes_).tolist())]
    shown = (names or [str(c) for c in model.classes_]) + [str(c) for c in labels[
        len(model.classes_):]]
    print(classification_report(y, y_pred, labels=labels, target_names=shown, digits=4,
                                zero_division=0))
    print(f"Accuracy: {result['accuracy']:.4f}")
    files = result["files"]
    for key in ("confusion_matrix", "learning_curves", "misclassified", "metrics"):
        if key in files:
            print(f"  {files[key]}")
    print(f"Report: {files['report']} (open {files['report_html']} in a browser to see "
          "the plots)")
    return EXIT_OK


def add_evaluate_parser(sub):
    parser = sub.add_parser(
        "evaluate", help="evaluate a saved model: accuracy, per-class table, plots, report",
        formatter_class=HelpFormatter,
        description="Evaluate a saved model on the test split of --data (the same held-out "
                    "split 'skmnist train' used, for the same --data, --test-size and "
                    "--seed) and write a report into OUTPUT: report.md and report.html "
                    "linking confusion_matrix.png, learning_curves.png and "
                    "misclassified.png, plus metrics.json.",
        epilog="examples:\n"
               "  skmnist evaluate -m skmnist_output/model.skmnist\n"
               "  skmnist evaluate -m model.skmnist --data mnist -o mnist_report\n"
               "  skmnist evaluate -m model.skmnist --data my_digits/ --split all --json")
    add_model_argument(parser)
    parser.add_argument("--output", "-o", default=None, metavar="DIR",
                        help="the folder the report is written into (default: "
                             "evaluation-DATA/ next to the model, e.g. "
                             "skmnist_output/evaluation-sample/)")
    parser.add_argument("--split", choices=("test", "train", "all"), default="test",
                        help="which images of --data to evaluate on (default test)")
    parser.add_argument("--json", action="store_true",
                        help="print the metrics as JSON instead of tables")
    add_device_argument(parser)
    add_data_arguments(parser)
    add_image_arguments(parser)
    parser.set_defaults(func=cmd_evaluate)
    return parser
