"""Data sets: a bundled MNIST sample, MNIST and Fashion-MNIST, and your own files.

``load_mnist_sample`` reads data shipped with skmnist; ``fetch_*`` functions
read data from the data home (see :func:`get_data_home`), downloading it the
first time; ``load_image_folder``, ``load_npz`` and ``load_idx_folder`` read
your own data, and ``read_image`` one image file, as MNIST-style arrays.
"""

from ._fetch import fetch_fashion_mnist, fetch_mnist, get_data_home
from ._files import load_idx_folder, load_image_folder, load_npz
from ._idx import read_idx, write_idx
from ._images import convert_image, read_image
from ._sample import load_mnist_sample

__all__ = [
    "convert_image",
    "fetch_fashion_mnist",
    "fetch_mnist",
    "get_data_home",
    "load_idx_folder",
    "load_image_folder",
    "load_mnist_sample",
    "load_npz",
    "read_idx",
    "read_image",
    "write_idx",
]
