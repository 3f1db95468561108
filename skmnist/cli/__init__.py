"""The ``skmnist`` command: train, evaluate, predict, finetune, export, search, info.

A thin layer over the public API (:class:`skmnist.SkMNISTClassifier`,
:class:`skmnist.SkMNISTFineTuner`, :func:`skmnist.save`/:func:`skmnist.load`,
:mod:`skmnist.datasets`, :func:`skmnist.reports.write_report`).

Exit codes: 0 success, 1 a runtime or data error (one line ``skmnist: error:
...`` on stderr, no traceback; set ``SKMNIST_DEBUG=1`` to see it), 2 a usage
error, 130 interrupted (Ctrl-C).
"""

import argparse
import os
import sys

from ._common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CLIError
from ._evaluate import add_evaluate_parser
from ._export import add_export_parser
from ._predict import add_predict_parser
from ._train import add_finetune_parser, add_train_parser

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

_DEBUG_ENV = "SKMNIST_DEBUG"


def _cmd_info(args):
    import sklearn
    import skorch
    import torch

    from .._version import __version__
    from ..datasets import get_data_home
    from ..models import list_models

    print(f"skmnist {__version__}")
    print(f"torch {torch.__version__}, skorch {skorch.__version__}, "
          f"scikit-learn {sklearn.__version__}")
    cuda = torch.cuda.is_available()
    print(f"CUDA available: {cuda}" + (f" ({torch.cuda.get_device_name(0)})" if cuda else ""))
    print(f"Architectures: {', '.join(list_models())}")
    print(f"Data home: {get_data_home()}")
    for label, module, missing in (
            ("Reports (matplotlib)", "matplotlib", "not installed: no plots"),
            ("Image files (Pillow)", "PIL", "not installed: predict cannot read images"),
            ("Progress bars (tqdm)", "tqdm", "not installed: a simple counter is used"),
            ("ONNX export (onnx)", "onnx", 'not installed: pip install "skmnist[onnx]"'),
            ("ONNX serving (onnxruntime)", "onnxruntime",
             'not installed: pip install "skmnist[onnx]"'),
            ("Pipelines with scikit-learn steps (skops)", "skops",
             'not installed: pip install "skmnist[skops]"'),
            ("Dask clusters (distributed)", "distributed",
             'not installed: pip install "skmnist[dask]"')):
        try:
            version = __import__(module).__version__
        except ImportError:
            version = missing
        print(f"{label}: {version}")
    reason = getattr(args, "search_unavailable", None)
    print(f"search: {'available' if reason is None else 'not available: ' + reason}")
    return EXIT_OK


def _add_info_parser(sub):
    info = sub.add_parser("info", help="versions, devices, architectures, data home",
                          description="Print versions, whether a CUDA GPU is usable, the "
                                      "architectures, the data home and optional parts.")
    info.set_defaults(func=_cmd_info)


def _search_unavailable(args):
    print(f"skmnist: error: search is not available: {args.search_unavailable}",
          file=sys.stderr)
    return EXIT_USAGE


def _add_search_parser(sub):
    """Register ``search`` from ``skmnist.cli._search``, or a stub saying why not.

    Returns None when the real subcommand was registered, else the reason.
    """
    try:
        from ._search import add_search_parser

        add_search_parser(sub)
        return None
    except Exception as exc:  # an optional part must never break the other commands
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if not isinstance(exc, ImportError):
            reason = f"{type(exc).__name__}: {reason}"
    if "search" not in sub.choices:
        stub = sub.add_parser("search", add_help=False,
                              help=f"search architectures and hyperparameters (not available: "
                                   f"{reason})")
        stub.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        stub.set_defaults(func=_search_unavailable)
    return reason


def build_parser():
    """The ``skmnist`` argument parser with every subcommand.

    Returns
    -------
    parser : argparse.ArgumentParser
        Its ``search_unavailable`` attribute is None when ``search`` works,
        else the reason it does not.
    """
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="skmnist",
        description="Train, evaluate, fine-tune and use PyTorch image classifiers the "
                    "scikit-learn way. Without a subcommand, 'train' runs.",
        epilog="Run 'skmnist COMMAND --help' for a command's options. Exit codes: 0 ok, "
               "1 error, 2 usage error, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"skmnist {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_train_parser(sub)
    add_evaluate_parser(sub)
    add_predict_parser(sub)
    add_finetune_parser(sub)
    add_export_parser(sub)
    reason = _add_search_parser(sub)
    _add_info_parser(sub)
    parser.set_defaults(search_unavailable=reason)
    parser.search_unavailable = reason
    return parser


def _one_line(exc):
    text = " ".join(str(exc).split()) if not isinstance(exc, KeyError) else repr(exc.args[0])
    return text or type(exc).__name__


def main(argv=None):
    """Run the ``skmnist`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments (``sys.argv[1:]`` when None). Without a subcommand,
        ``train`` runs with the given options.

    Returns
    -------
    status : int
        The exit status: 0 ok, 1 runtime or data error, 2 usage error, 130
        interrupted. Usage errors found by argparse raise ``SystemExit(2)``.
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["train"] + argv
    parser = build_parser()
    if argv[0] == "search" and parser.search_unavailable is not None:
        return _search_unavailable(argparse.Namespace(
            search_unavailable=parser.search_unavailable))
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args) or EXIT_OK
    except KeyboardInterrupt:
        print("\nskmnist: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `skmnist predict ... | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_ERROR
    except Exception as exc:
        if os.environ.get(_DEBUG_ENV):
            raise
        expected = isinstance(exc, (CLIError, ValueError, OSError, RuntimeError, MemoryError,
                                    ImportError))
        hint = "" if expected else f" (an unexpected {type(exc).__name__}; set " \
                                   f"{_DEBUG_ENV}=1 to see the traceback)"
        print(f"skmnist: error: {_one_line(exc)}{hint}", file=sys.stderr)
        return EXIT_ERROR
