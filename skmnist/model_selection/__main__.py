"""``python -m skmnist.model_selection``: the same command as ``skmnist search``."""

import sys

from ..cli import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    sys.exit(main(argv if argv[:1] == ["search"] else ["search", *argv]))
