"""Data sets: a bundled MNIST sample, MNIST and Fashion-MNIST loaders, IDX files.

``load_*`` functions read data shipped with skmnist; ``fetch_*`` functions
read data from the data home (see :func:`get_data_home`), downloading it the
first time.
"""

from ._fetch import fetch_fashion_mnist, fetch_mnist, get_data_home
from ._idx import read_idx, write_idx
from ._sample import load_mnist_sample

__all__ = [
    "fetch_fashion_mnist",
    "fetch_mnist",
    "get_data_home",
    "load_mnist_sample",
    "read_idx",
    "write_idx",
]
