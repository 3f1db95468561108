"""The ``skmnist`` command (also ``python -m skmnist``).

The console script ``skmnist`` and ``python -m skmnist`` both run
:func:`main`; the subcommands live in :mod:`skmnist.cli`:

``train`` (the default) trains a classifier on the bundled MNIST sample (or
another data set), shows progress per epoch, reports held-out accuracy,
saves the model with :func:`skmnist.save` and writes a report;
``evaluate`` writes the report for a saved model; ``predict`` labels image
files; ``finetune`` adapts a saved model to new data; ``search`` tunes
architectures and hyperparameters; ``info`` prints versions and devices.
"""

import sys

from .cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, build_parser, main

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
