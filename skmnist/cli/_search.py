"""The ``skmnist search`` command: one search worker.

Every worker started with the same ``--storage`` and ``--study-name`` joins
the same study, on this machine or any other that reaches the storage::

    skmnist search --storage postgresql+psycopg2://user@db-host/skmnist \\
        --study-name mnist-archs --space small --epochs 4 --pruner median \\
        --output results/

Each worker runs trials until the search is done (every grid point, or
``--n-trials`` trials in the study), then writes a summary of the whole study
(``summary.md``, ``summary.csv``) and plots (``optimization_history.png``,
``param_importances.png``) into ``--output``.

The data come from the same ``--data`` sources as the other commands (the
bundled sample, MNIST, Fashion-MNIST, a folder of IDX files or images, an
``.npz`` file); the search cross-validates on all of the training part.
The library (:mod:`skmnist.model_selection`, optuna) is imported when the
command runs, not when the parser is built.
"""

import argparse
import importlib.util
import json
import os

from ._common import (
    EXIT_OK,
    add_data_arguments,
    add_device_argument,
    add_image_arguments,
    plural,
)

if importlib.util.find_spec("optuna") is None:  # checked without importing it
    raise ImportError("optuna is not installed (pip install optuna)")

#: The --space presets, as JSON specs (read with the same code as a --space file).
PRESET_SPECS = {
    # 2 architectures x 3 sizes: a grid.
    "small": [
        {"arch": ["mlp"], "hidden_units": [[64], [128], [256]]},
        {"arch": ["cnn"], "channels": [[8, 16], [16, 32], [32, 64]]},
    ],
    # The same with a log-uniform learning rate: for --sampler tpe or random.
    "lr": [
        {"arch": ["mlp"], "hidden_units": [[64], [128], [256]],
         "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
        {"arch": ["cnn"], "channels": [[8, 16], [16, 32], [32, 64]],
         "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
    ],
}
_PRESETS = {}


def _tuples(value):
    """JSON lists inside a list of choices become tuples (``[64]`` -> ``(64,)``)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _spec_from_json(name, spec):
    from ..model_selection import Categorical, Float, Int

    if isinstance(spec, list):
        return [_tuples(v) for v in spec]
    if isinstance(spec, dict):
        kind = spec.get("type")
        kwargs = {k: v for k, v in spec.items() if k != "type"}
        try:
            if kind == "float":
                return Float(kwargs.pop("low"), kwargs.pop("high"), **kwargs)
            if kind == "int":
                return Int(kwargs.pop("low"), kwargs.pop("high"), **kwargs)
            if kind == "categorical":
                return Categorical([_tuples(v) for v in kwargs.pop("choices")])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"search space entry {name!r}: {exc}") from exc
    raise ValueError(
        f"search space entry {name!r} must be a list of values or an object like "
        '{"type": "float", "low": 0.0001, "high": 0.01, "log": true}; '
        f"got {spec!r}."
    )


def load_space(value):
    """A preset name or the path of a JSON file -> a search space."""
    if value in PRESET_SPECS:
        if value not in _PRESETS:  # built once, so a preset is always the same object
            _PRESETS[value] = _space_from_json(PRESET_SPECS[value], value)
        return _PRESETS[value]
    if not os.path.exists(value):
        raise ValueError(f"--space {value!r} is neither a preset ({', '.join(PRESET_SPECS)}) "
                         "nor an existing JSON file.")
    with open(value) as f:
        raw = json.load(f)
    return _space_from_json(raw, value)


def _space_from_json(raw, value):
    spaces = raw if isinstance(raw, list) else [raw]
    out = []
    for space in spaces:
        if not isinstance(space, dict):
            raise ValueError(f"{value}: the search space must be an object or a list of "
                             "objects.")
        out.append({name: _spec_from_json(name, spec) for name, spec in space.items()})
    return out if isinstance(raw, list) else out[0]


def _load_data(args):
    """All training images of ``--data`` (no held-out part: the search cross-validates)."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    from ._common import show_progress
    from ._data import load_data

    data = load_data(args.data, data_home=args.data_home, seed=args.seed,
                     classes=args.classes, need="train", invert=args.invert,
                     layout=args.layout, show_progress=show_progress(args))
    X, y = data.X_train, data.y_train
    if args.n_samples is not None and args.n_samples < len(y):
        X, _, y, _ = train_test_split(X, y, train_size=args.n_samples, stratify=y,
                                      random_state=args.seed)
    return np.asarray(X), np.asarray(y)


def run_search(args):
    """Run one search worker for parsed ``args``; return the exit status."""
    from .. import SkMNISTClassifier
    from ..model_selection import ArchitectureSearchCV
    from ..model_selection._report import markdown_table, summary_rows, write_csv, write_plots

    if args.storage and not args.study_name:
        raise ValueError("--study-name is required with --storage: workers find their study "
                         "by its name.")
    space = load_space(args.space)
    X, y = _load_data(args)
    estimator = SkMNISTClassifier(max_epochs=args.epochs, device=args.device,
                                  random_state=args.seed)
    search = ArchitectureSearchCV(
        estimator, space, sampler=args.sampler, n_trials=args.n_trials, cv=args.cv,
        pruner=None if args.pruner == "none" else args.pruner, storage=args.storage,
        study_name=args.study_name, timeout=args.timeout, refit=False,
        random_state=args.seed, heartbeat_interval=args.heartbeat_interval,
        grace_period=args.grace_period, verbose=0 if args.quiet else 1,
    )
    where = args.storage or "memory"
    print(f"Searching {args.space} with sampler={args.sampler} on {len(y)} {args.data} images, "
          f"cv={args.cv}, {plural(args.epochs, 'epoch')}, pruner={args.pruner}; study "
          f"{args.study_name or '(new)'} in {where}.", flush=True)
    search.fit(X, y)
    rows = summary_rows(search)
    res = search.cv_results_
    epochs = int(res["epochs_trained"].sum()) * search.n_splits_
    print(f"\nStudy {search.study_.study_name}: {plural(len(rows), 'trial')} evaluated "
          f"({int((res['state'] == 'COMPLETE').sum())} complete, "
          f"{int((res['state'] == 'PRUNED').sum())} pruned), {plural(epochs, 'fold-epoch')} "
          "trained.")
    print(markdown_table(rows, limit=10))
    print(f"\nbest: {search.best_params_} (cv score {search.best_score_:.4f})")
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        with open(os.path.join(args.output, "summary.md"), "w") as f:
            f.write(f"# Study {search.study_.study_name}\n\n{markdown_table(rows)}\n")
        write_csv(rows, os.path.join(args.output, "summary.csv"))
        paths, messages = write_plots(search.study_, args.output)
        for message in messages:
            print(message)
        print(f"Wrote summary.md, summary.csv{''.join(', ' + os.path.basename(p) for p in paths)}"
              f" to {args.output}")
    return EXIT_OK


def add_search_parser(subparsers):
    """Register the ``search`` subcommand on an ``argparse`` subparsers object.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``parser.add_subparsers()`` returned.

    Returns
    -------
    parser : argparse.ArgumentParser
        The ``search`` parser; ``parser.get_default("func")`` is
        :func:`run_search`, which takes the parsed arguments and returns the
        exit status.

    Examples
    --------
    >>> import argparse
    >>> from skmnist.cli._search import add_search_parser
    >>> parser = argparse.ArgumentParser(prog="skmnist")
    >>> search = add_search_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["search", "--n-trials", "3", "--sampler", "tpe"])
    >>> args.n_trials, args.func.__name__
    (3, 'run_search')
    """
    p = subparsers.add_parser(
        "search", help="run an architecture search worker (any number may share a study)",
        description="Run one worker of an Optuna architecture search. Workers started with "
                    "the same --storage and --study-name share the study, on one machine or "
                    "many.")
    p.add_argument("--storage", default=None,
                   help="database URL (sqlite:///file.db, postgresql+psycopg2://user@host/db) "
                        "or journal file path; default: in memory (one process)")
    p.add_argument("--study-name", default=None,
                   help="the study to create or join (required with --storage)")
    p.add_argument("--n-trials", type=int, default=None,
                   help="evaluated trials the study should hold (default: the whole grid; "
                        "required for tpe/random without --timeout)")
    p.add_argument("--sampler", choices=("grid", "tpe", "random"), default="grid",
                   help="grid: every point once (default); tpe or random: --n-trials points")
    p.add_argument("--space", default="small",
                   help=f"a preset ({', '.join(PRESET_SPECS)}; default small) or a JSON file: an "
                        'object (or a list of objects) such as {"arch": ["cnn"], "channels": '
                        '[[8, 16], [16, 32]], "lr": {"type": "float", "low": 0.0001, '
                        '"high": 0.01, "log": true}}')
    p.add_argument("--n-samples", type=int, default=None,
                   help="a stratified subset of this many images (default: all)")
    p.add_argument("--epochs", type=int, default=4, help="epochs per trial (default 4)")
    p.add_argument("--cv", type=int, default=3, help="cross-validation folds (default 3)")
    p.add_argument("--pruner", choices=("none", "median", "halving", "hyperband"),
                   default="median", help="prune unpromising trials per epoch (default median)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds after which this worker starts no new trial")
    p.add_argument("--heartbeat-interval", type=int, default=30,
                   help="seconds between heartbeats of a running trial (default 30)")
    p.add_argument("--grace-period", type=int, default=None,
                   help="seconds without heartbeat before a trial is retried (default 2x the "
                        "interval)")
    p.add_argument("--output", "-o", default=None,
                   help="folder for summary.md, summary.csv and PNG plots")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_device_argument(p)
    add_data_arguments(p, test_size=False, seed_help="random seed of the subset, the folds "
                       "and training (default 0)")
    add_image_arguments(p)
    p.set_defaults(func=run_search)
    return p
