"""``python -m skmnist.model_selection``: the ``skmnist search`` worker on its own."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
