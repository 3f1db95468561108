"""Pieces shared by the subcommands: errors, progress, argument groups, output."""

import argparse
import os
import sys
import time

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions as usual but keeps an ``examples:`` epilog as written."""

    def _fill_text(self, text, width, indent):
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class CLIError(Exception):
    """A runtime or data error reported as one line ``skmnist: error: ...`` (exit 1)."""


def progress(iterable, *, total=None, desc="", enabled=True):
    """Wrap ``iterable`` in a progress bar on stderr: tqdm if installed, else a counter.

    Parameters
    ----------
    iterable : iterable
        The items to loop over.
    total : int, default=None
        The number of items (``len(iterable)`` when None and available).
    desc : str, default=""
        What is being done, shown before the count.
    enabled : bool, default=True
        False returns ``iterable`` unchanged (quiet and ``--json`` modes).

    Returns
    -------
    iterable
        Yields the same items.
    """
    if not enabled:
        return iterable
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    try:
        from tqdm import tqdm
    except ImportError:
        return _counter(iterable, total, desc)
    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False,
                dynamic_ncols=True)


def _counter(iterable, total, desc):
    """A minimal progress display: ``desc 12/100`` rewritten in place on stderr."""
    last = 0.0
    count = 0
    of = f"/{total}" if total else ""
    try:
        for count, item in enumerate(iterable, 1):
            now = time.monotonic()
            if now - last > 0.2:
                print(f"\r{desc} {count}{of}", end="", file=sys.stderr, flush=True)
                last = now
            yield item
    finally:
        if count:
            print(f"\r{desc} {count}{of}", file=sys.stderr, flush=True)


def show_progress(args):
    """Whether this command may draw progress bars (a terminal, not --json/--quiet)."""
    if getattr(args, "json", False) or getattr(args, "quiet", False):
        return False
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def parse_test_size(text):
    """``--test-size``: an int count (``1000``) or a fraction in (0, 1) (``0.2``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of images (1000) or a fraction (0.2), got {text!r}") from None
    if value.is_integer() and value >= 1:
        return int(value)
    if 0 < value < 1:
        return value
    raise argparse.ArgumentTypeError(
        f"expected a number of images >= 1 or a fraction between 0 and 1, got {text!r}")


def positive_int(text):
    """An integer >= 1 (``--epochs``, ``--labels-per-class``, ``--top``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def add_data_arguments(parser, *, default="sample", test_size_help=None, test_size=True,
                       seed_help=None):
    """Add ``--data``, ``--data-home``, ``--test-size``, ``--seed``, ``--classes``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    default : str, default="sample"
        The default of ``--data``.
    test_size_help : str, default=None
        Replaces the help text of ``--test-size``.
    test_size : bool, default=True
        Add ``--test-size`` (``search`` holds nothing out).
    seed_help : str, default=None
        Replaces the help text of ``--seed``.

    Returns
    -------
    group : argparse._ArgumentGroup
        The "data" argument group.
    """
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data", default=default, metavar="SOURCE",
        help="sample (the bundled 5,000 MNIST images, offline), mnist, fashion (from the "
             "data home, downloaded once), or a PATH: a folder of IDX files "
             "(train-images-idx3-ubyte[.gz], t10k-...), an .npz file with X and y (or "
             "images/labels, or x_train/y_train/x_test/y_test), or a folder of images in "
             f"class subfolders (PATH/<label>/*.png, optionally PATH/train and PATH/test) "
             f"(default: {default})")
    group.add_argument("--data-home", default=None, metavar="DIR",
                       help="where mnist and fashion are kept (default: $SKMNIST_DATA or "
                            "~/skmnist_data)")
    if test_size:
        group.add_argument(
            "--test-size", type=parse_test_size, default=0.2, metavar="N",
            help=test_size_help or "held-out images, a count or a fraction, for data without "
                                   "a test split of its own (default 0.2: 1,000 of the sample)")
    group.add_argument("--seed", type=int, default=0,
                       help=seed_help or "random seed of the held-out split and of training "
                                         "(default 0)")
    group.add_argument("--classes", default=None, metavar="LIST",
                       help="keep only these labels, e.g. 0-4 or 5,6,7 (after the split, so "
                            "the held-out images stay the same)")
    return group


def add_image_arguments(parser, *, for_data=True):
    """Add ``--invert/--no-invert`` and ``--layout``: how image files become model input.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    for_data : bool, default=True
        Word the help for ``--data FOLDER`` (True) or for predict's files.
    """
    description = ("how images of a --data folder are converted to the model's input "
                   "(as in 'skmnist predict')" if for_data
                   else "how the images are converted to the model's input")
    group = parser.add_argument_group("image files", description)
    group.add_argument(
        "--invert", action=argparse.BooleanOptionalAction, default=None,
        help="invert grey levels (MNIST is light ink on a dark background); by default "
             "greyscale images whose border is mostly light are inverted")
    group.add_argument(
        "--layout", choices=("auto", "digit", "whole"), default="auto",
        help="digit: crop to the drawing, fit it in a 20x20 box and centre it by its centre "
             "of mass in 28x28, as MNIST was made; whole: fit the whole image, keeping its "
             "aspect ratio, and pad; auto (default): digit for 1-channel models, whole for "
             "RGB ones")


def add_device_argument(parser):
    parser.add_argument("--device", default="auto",
                        help="auto (a CUDA GPU when there is one), cpu, cuda or cuda:N "
                             "(default auto)")


def add_model_argument(parser, help_text="a model saved by 'skmnist train' or skmnist.save"):
    parser.add_argument("--model", "-m", required=True, metavar="PATH", help=help_text)


def resolve_model_path(path):
    """``--model PATH``: a model file, or a folder holding ``model.skmnist``."""
    if not os.path.exists(path):
        raise CLIError(f"--model: no such file: {path}")
    if os.path.isdir(path):
        candidate = os.path.join(path, "model.skmnist")
        if not os.path.isfile(candidate):
            raise CLIError(f"--model: {path} is a folder without a model.skmnist file")
        return candidate
    return path


def load_model(path, device):
    """``skmnist.load`` with errors worded for the command line.

    An ``.onnx`` file (written by ``skmnist export`` or
    :func:`skmnist.export_onnx`) gives a :class:`skmnist.OnnxClassifier`;
    ``device`` does not apply to it.
    """
    path = resolve_model_path(path)
    if os.fspath(path).lower().endswith(".onnx"):
        from ..deploy import OnnxClassifier

        return OnnxClassifier(path).fit()
    from .. import load

    return load(path, device=device)


def label_names_for(model, data):
    """Display names for ``model.classes_`` from the data's label names, or None."""
    names = getattr(data, "label_names", None)
    if not names:
        return None
    return [names.get(c.item() if hasattr(c, "item") else c, str(c)) for c in model.classes_]


def plural(count, noun):
    """``"1 epoch"``, ``"3 epochs"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def plain(value):
    """A numpy scalar as a plain Python value (for JSON and printing)."""
    return value.item() if hasattr(value, "item") else value
