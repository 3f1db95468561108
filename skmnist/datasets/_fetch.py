"""MNIST and Fashion-MNIST: found on disk, or downloaded and verified.

Both data sets come as four IDX files (training and test images and labels).
The loaders look for them in ``<data_home>/mnist`` resp.
``<data_home>/fashion-mnist`` (and, for Fashion-MNIST, where the Debian
package ``dataset-fashion-mnist`` installs them), and download any missing
file into the data home, checking its MD5 checksum before it is kept.
"""

import gzip
import hashlib
import http.client
import logging
import os
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._idx import _GZIP_MAGIC, _atomic_open, read_idx
from ._sample import _pixel_feature_names

logger = logging.getLogger(__name__)

#: Environment variable naming the data home (see :func:`get_data_home`).
DATA_HOME_ENV = "SKMNIST_DATA"

#: Seconds a download may stall (connecting or between reads) before it fails.
DOWNLOAD_TIMEOUT = 60

#: Base URLs of MNIST mirrors, tried in order. The original site,
#: http://yann.lecun.com/exdb/mnist/, has not served the files reliably.
MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: Base URLs of Fashion-MNIST, tried in order: Zalando's S3 bucket, then the
#: ``data/fashion`` folder of the official GitHub repository.
FASHION_MNIST_URLS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)

#: ``file name: (MD5 of the published .gz file, MD5 of its decompressed
#: content)``. A download is kept if either matches, so a mirror that
#: recompressed the same data (as Debian did) is accepted too.
MNIST_CHECKSUMS = {
    "train-images-idx3-ubyte.gz": (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "6bbc9ace898e44ae57da46a324031adb",
    ),
    "train-labels-idx1-ubyte.gz": (
        "d53e105ee54ea40749a09fcbcd1e9432",
        "a25bea736e30d166cdddb491f175f624",
    ),
    "t10k-images-idx3-ubyte.gz": (
        "9fb629c4189551a2d022fa330f9573f3",
        "2646ac647ad5339dbf082846283269ea",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "ec29112dd5afa0611ce80d1b7f02629c",
        "27ae3e4e09519cfbb04c329615203637",
    ),
}

#: Same layout as :data:`MNIST_CHECKSUMS`. The .gz checksums are those
#: published in the Fashion-MNIST README; the decompressed ones were checked
#: against Debian's ``dataset-fashion-mnist`` files, whose gzip wrappers
#: differ (recompressed without a file name) but whose content is identical.
FASHION_MNIST_CHECKSUMS = {
    "train-images-idx3-ubyte.gz": (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    ),
    "train-labels-idx1-ubyte.gz": (
        "25c81989df183df01b3e8a0aad5dffbe",
        "9018921c3c673c538a1fc5bad174d6f9",
    ),
    "t10k-images-idx3-ubyte.gz": (
        "bef4ecab320f06d8554ea6380940ec79",
        "8181f5470baa50b63fa0f6fddb340f0a",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "bb300cfdad3c16e7a12a480ee83cd310",
        "15d484375f8d13e6eb1aabb0c3f46965",
    ),
}

#: System directories searched for Fashion-MNIST after the data home: where
#: Debian's and Ubuntu's ``dataset-fashion-mnist`` package installs it.
FASHION_MNIST_SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_SUBSETS = ("train", "test", "all")
_SUBSET_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IMAGE_SHAPE = (28, 28)
_N_CLASSES = 10

MNIST_DESCR = """\
.. _mnist_dataset:

MNIST handwritten digits
------------------------

**Data Set Characteristics:**

:Number of Instances: 70000 (60000 training, 10000 test)
:Number of Attributes: 784 (28 x 28 pixels)
:Attribute Information: grey levels, integers in 0..255 (0 is background)
:Classes: 10, the digits 0 to 9

The MNIST database of handwritten digits was built from NIST's Special
Databases 1 and 3: digits written by Census Bureau employees and by high
school students. Each digit was size-normalised to fit a 20 x 20 box,
keeping its aspect ratio, and centred by its centre of mass in a 28 x 28
image. The 60,000 training images and 10,000 test images were written by
disjoint sets of writers; use the official split to compare with published
results.

The data are read from the four IDX files of the original distribution
(``train-images-idx3-ubyte.gz`` and so on), downloaded from a mirror and
checked against their published MD5 checksums.

:Authors: Yann LeCun, Corinna Cortes and Christopher J.C. Burges
:Licence: Creative Commons Attribution-Share Alike 3.0 (CC BY-SA 3.0)
:Source: http://yann.lecun.com/exdb/mnist/

.. dropdown:: References

  - Y. LeCun, L. Bottou, Y. Bengio and P. Haffner. "Gradient-based learning
    applied to document recognition." Proceedings of the IEEE, 86(11):
    2278-2324, 1998.
"""

FASHION_MNIST_DESCR = """\
.. _fashion_mnist_dataset:

Fashion-MNIST
-------------

**Data Set Characteristics:**

:Number of Instances: 70000 (60000 training, 10000 test)
:Number of Attributes: 784 (28 x 28 pixels)
:Attribute Information: grey levels, integers in 0..255 (0 is background)
:Classes: 10: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt,
    Sneaker, Bag, Ankle boot

Fashion-MNIST is a data set of Zalando's article images, meant as a
drop-in replacement for MNIST: same image size, same number of classes,
same training/test split and the same IDX file format, but a harder task.
Each image is a product photo converted to grey levels, trimmed, resized
to 28 x 28 and with its colours inverted, so the article is light on a
dark background.

The data are read from the four IDX files of the official distribution,
either installed by the Debian/Ubuntu package ``dataset-fashion-mnist``
or downloaded and checked against published MD5 checksums.

:Authors: Han Xiao, Kashif Rasul and Roland Vollgraf (Zalando Research)
:Licence: MIT, Copyright (c) 2017 Zalando SE
:Source: https://github.com/zalandoresearch/fashion-mnist

.. dropdown:: References

  - H. Xiao, K. Rasul and R. Vollgraf. "Fashion-MNIST: a Novel Image
    Dataset for Benchmarking Machine Learning Algorithms."
    arXiv:1708.07747, 2017.
"""


def get_data_home(data_home=None):
    """Return the path of the skmnist data directory.

    Data sets that are too large to ship with the package are kept in this
    directory, one subdirectory per data set (``mnist``, ``fashion-mnist``),
    so they are downloaded once and shared between projects.

    By default it is ``~/skmnist_data``. Set the ``SKMNIST_DATA``
    environment variable, or pass ``data_home``, to use another one. A
    leading ``~`` is expanded to the user's home directory.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The data directory. If None, the ``SKMNIST_DATA`` environment
        variable is used if it is set and not empty, else
        ``~/skmnist_data``.

    Returns
    -------
    data_home : pathlib.Path
        The data directory. It is not created: the ``fetch_*`` functions
        create it when they first download something.

    See Also
    --------
    fetch_mnist : Load MNIST from the data home, downloading it if needed.
    fetch_fashion_mnist : Load Fashion-MNIST the same way.

    Examples
    --------
    >>> import os
    >>> from skmnist.datasets import get_data_home
    >>> get_data_home("/srv/datasets").as_posix()
    '/srv/datasets'
    >>> str(get_data_home("~/data")) == os.path.expanduser("~/data")
    True
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or os.path.join("~", "skmnist_data")
    return Path(os.fspath(data_home)).expanduser()


def fetch_mnist(
    *,
    data_home=None,
    subset="train",
    download_if_missing=True,
    return_X_y=False,
    as_images=False,
    base_url=None,
):
    """Load the MNIST handwritten digits (classification), downloading if needed.

    The four IDX files of the original distribution are read from
    ``<data_home>/mnist/``. Missing files are downloaded there from a
    mirror and kept only if their MD5 checksum matches the published one.

    =================   ====================
    Classes                               10
    Samples total       70000 (60000 + 10000)
    Dimensionality                       784
    Features                  integers 0-255
    =================   ====================

    Parameters
    ----------
    data_home : str or path-like, default=None
        The data directory; see :func:`get_data_home`. By default the
        ``SKMNIST_DATA`` environment variable, else ``~/skmnist_data``. The
        files are read from (and downloaded to) its ``mnist`` subdirectory.

    subset : {"train", "test", "all"}, default="train"
        Which part to load: the 60,000 training images, the 10,000 test
        images, or all 70,000 (training first, then test).

    download_if_missing : bool, default=True
        If False, raise an :class:`OSError` instead of downloading missing
        files.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch object.

    as_images : bool, default=False
        If True, ``data`` has shape ``(n_samples, 28, 28)`` instead of
        ``(n_samples, 784)``.

    base_url : str or list of str, default=None
        Base URL(s) to download the files from, tried in order; the file
        name is appended. By default two public mirrors
        (``ossci-datasets.s3.amazonaws.com/mnist/``, then
        ``storage.googleapis.com/cvdf-datasets/mnist/``).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of shape (n_samples, 784) or (n_samples, 28, 28), \
dtype=uint8
            The pixels, flat (row-major) or as images if ``as_images=True``.
        target : ndarray of shape (n_samples,), dtype=int64
            The digit shown in each image.
        images : ndarray of shape (n_samples, 28, 28), dtype=uint8
            The pixels as images; shares memory with ``data``.
        target_names : ndarray of shape (10,)
            The class labels, ``0`` to ``9``.
        feature_names : list of str
            The pixel names ``"pixel_0_0"`` to ``"pixel_27_27"``
            (``"pixel_<row>_<col>"``, row-major).
        DESCR : str
            The full description of the data set, its source and licence.
        subset : str
            The ``subset`` that was loaded.

    (data, target) : tuple if ``return_X_y`` is True
        The two arrays described above.

    Raises
    ------
    OSError
        If files are missing and cannot be downloaded (offline, or
        ``download_if_missing=False``: then :class:`FileNotFoundError`). The
        message names the missing files, the directory to put them in and
        the URLs they come from. A download whose checksum does not match
        is removed and reported the same way.
    ValueError
        If ``subset`` is not valid, or a file is not a valid IDX file of
        28 x 28 ``uint8`` images resp. labels 0-9 in matching numbers.

    See Also
    --------
    load_mnist_sample : A bundled 5,000-image sample, no download needed.
    fetch_fashion_mnist : Fashion-MNIST, a harder drop-in replacement.
    read_idx : Read one IDX file.

    Notes
    -----
    Files may be gzipped or not (``train-images-idx3-ubyte.gz`` or
    ``train-images-idx3-ubyte``). Checksums are verified when a file is
    downloaded; files already on disk are trusted, but their structure
    (shape, dtype, sizes) is always checked. To use MNIST offline, copy the
    four files into the directory named in the error message, or set
    ``SKMNIST_DATA`` to a directory whose ``mnist`` subdirectory holds them.

    The MNIST database is by Yann LeCun, Corinna Cortes and Christopher J.C.
    Burges, and is distributed under the CC BY-SA 3.0 licence.

    Examples
    --------
    >>> from skmnist.datasets import fetch_mnist
    >>> X, y = fetch_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((10000, 784), (10000,))
    >>> mnist = fetch_mnist(subset="all", as_images=True)  # doctest: +SKIP
    >>> mnist.data.shape  # doctest: +SKIP
    (70000, 28, 28)
    """
    return _fetch_idx_dataset(
        title="MNIST",
        subdir="mnist",
        default_urls=MNIST_URLS,
        checksums=MNIST_CHECKSUMS,
        system_dirs=(),
        target_names=np.arange(_N_CLASSES),
        descr=MNIST_DESCR,
        data_home=data_home,
        subset=subset,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
        as_images=as_images,
        base_url=base_url,
    )


def fetch_fashion_mnist(
    *,
    data_home=None,
    subset="train",
    download_if_missing=True,
    return_X_y=False,
    as_images=False,
    base_url=None,
):
    """Load Fashion-MNIST (classification), from disk or downloaded if needed.

    The four IDX files of the official distribution are read from
    ``<data_home>/fashion-mnist/`` or, if they are not all there, from
    ``/usr/share/datasets/fashion-mnist/``, where the Debian/Ubuntu package
    ``dataset-fashion-mnist`` installs them. Otherwise missing files are
    downloaded into ``<data_home>/fashion-mnist/`` and kept only if their
    MD5 checksum matches the published one.

    =================   ====================
    Classes                               10
    Samples total       70000 (60000 + 10000)
    Dimensionality                       784
    Features                  integers 0-255
    =================   ====================

    Parameters
    ----------
    data_home : str or path-like, default=None
        The data directory; see :func:`get_data_home`. By default the
        ``SKMNIST_DATA`` environment variable, else ``~/skmnist_data``. The
        files are read from (and downloaded to) its ``fashion-mnist``
        subdirectory.

    subset : {"train", "test", "all"}, default="train"
        Which part to load: the 60,000 training images, the 10,000 test
        images, or all 70,000 (training first, then test).

    download_if_missing : bool, default=True
        If False, raise an :class:`OSError` instead of downloading missing
        files.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch object.

    as_images : bool, default=False
        If True, ``data`` has shape ``(n_samples, 28, 28)`` instead of
        ``(n_samples, 784)``.

    base_url : str or list of str, default=None
        Base URL(s) to download the files from, tried in order; the file
        name is appended. By default Zalando's S3 bucket, then the
        ``data/fashion`` folder of the official GitHub repository.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of shape (n_samples, 784) or (n_samples, 28, 28), \
dtype=uint8
            The pixels, flat (row-major) or as images if ``as_images=True``.
        target : ndarray of shape (n_samples,), dtype=int64
            The class of each image, an integer 0-9 indexing
            ``target_names``.
        images : ndarray of shape (n_samples, 28, 28), dtype=uint8
            The pixels as images; shares memory with ``data``.
        target_names : ndarray of shape (10,), dtype=str
            The class names: ``"T-shirt/top"``, ``"Trouser"``,
            ``"Pullover"``, ``"Dress"``, ``"Coat"``, ``"Sandal"``,
            ``"Shirt"``, ``"Sneaker"``, ``"Bag"``, ``"Ankle boot"``.
        feature_names : list of str
            The pixel names ``"pixel_0_0"`` to ``"pixel_27_27"``
            (``"pixel_<row>_<col>"``, row-major).
        DESCR : str
            The full description of the data set, its source and licence.
        subset : str
            The ``subset`` that was loaded.

    (data, target) : tuple if ``return_X_y`` is True
        The two arrays described above.

    Raises
    ------
    OSError
        If files are missing and cannot be downloaded (offline, or
        ``download_if_missing=False``: then :class:`FileNotFoundError`). The
        message names the missing files, the directory to put them in and
        the URLs they come from. A download whose checksum does not match
        is removed and reported the same way.
    ValueError
        If ``subset`` is not valid, or a file is not a valid IDX file of
        28 x 28 ``uint8`` images resp. labels 0-9 in matching numbers.

    See Also
    --------
    fetch_mnist : The MNIST handwritten digits.
    load_mnist_sample : A bundled 5,000-image MNIST sample.
    read_idx : Read one IDX file.

    Notes
    -----
    A directory is used only if it holds every file the ``subset`` needs,
    gzipped or not. Checksums are verified when a file is downloaded; files
    already on disk are trusted, but their structure is always checked.

    Fashion-MNIST is Copyright (c) 2017 Zalando SE and distributed under
    the MIT licence.

    Examples
    --------
    >>> from skmnist.datasets import fetch_fashion_mnist
    >>> fashion = fetch_fashion_mnist(subset="test")  # doctest: +SKIP
    >>> fashion.data.shape  # doctest: +SKIP
    (10000, 784)
    >>> fashion.target_names[fashion.target[:3]]  # doctest: +SKIP
    array(['Ankle boot', 'Pullover', 'Trouser'], dtype='<U11')
    """
    return _fetch_idx_dataset(
        title="Fashion-MNIST",
        subdir="fashion-mnist",
        default_urls=FASHION_MNIST_URLS,
        checksums=FASHION_MNIST_CHECKSUMS,
        system_dirs=FASHION_MNIST_SYSTEM_DIRS,
        target_names=np.array(FASHION_MNIST_CLASSES),
        descr=FASHION_MNIST_DESCR,
        data_home=data_home,
        subset=subset,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
        as_images=as_images,
        base_url=base_url,
    )


def _fetch_idx_dataset(
    *,
    title,
    subdir,
    default_urls,
    checksums,
    system_dirs,
    target_names,
    descr,
    data_home,
    subset,
    download_if_missing,
    return_X_y,
    as_images,
    base_url,
):
    """Shared body of the ``fetch_*`` functions: find or download, then read."""
    if not isinstance(subset, str) or subset not in _SUBSETS:
        valid = ", ".join(repr(s) for s in _SUBSETS)
        raise ValueError(f"subset must be one of {valid}; got {subset!r}.")
    urls = _url_list(base_url, default_urls)
    parts = ("train", "test") if subset == "all" else (subset,)
    needed = [name for part in parts for name in _SUBSET_FILES[part]]
    home_dir = get_data_home(data_home) / subdir

    paths = _find_files([home_dir, *map(Path, system_dirs)], needed)
    if paths is None:
        paths = _download_missing(
            title=title,
            directory=home_dir,
            needed=needed,
            urls=urls,
            checksums=checksums,
            system_dirs=system_dirs,
            download_if_missing=download_if_missing,
        )

    images, target = [], []
    for part in parts:
        images_name, labels_name = _SUBSET_FILES[part]
        part_images, part_labels = _read_images_and_labels(
            paths[images_name], paths[labels_name]
        )
        images.append(part_images)
        target.append(part_labels)
    images = images[0] if len(images) == 1 else np.concatenate(images)
    target = np.concatenate(target).astype(np.int64)

    data = images if as_images else images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=images,
        target_names=target_names,
        feature_names=_pixel_feature_names(*_IMAGE_SHAPE),
        DESCR=descr,
        subset=subset,
    )


def _url_list(base_url, default):
    """``base_url`` (None, a string or strings) as a list of strings."""
    if base_url is None:
        return list(default)
    if isinstance(base_url, str):
        return [base_url]
    urls = list(base_url)
    if not all(isinstance(url, str) for url in urls):
        raise TypeError(
            f"base_url must be None, a string or a list of strings; got {base_url!r}."
        )
    return urls


def _locate(directory, name):
    """Path of ``name.gz`` or ``name`` in ``directory``, or None."""
    for candidate in (f"{name}.gz", name):
        path = directory / candidate
        if path.is_file():
            return path
    return None


def _find_files(directories, needed):
    """Paths of all ``needed`` files in the first directory holding them all."""
    for directory in directories:
        paths = {name: _locate(directory, name) for name in needed}
        if all(paths.values()):
            logger.debug("Reading %s from %s", ", ".join(needed), directory)
            return paths
    return None


def _download_missing(
    *, title, directory, needed, urls, checksums, system_dirs, download_if_missing
):
    """Download the ``needed`` files missing from ``directory``; return all paths."""
    missing = [name for name in needed if _locate(directory, name) is None]

    def error_message(reason):
        return _missing_message(title, directory, missing, urls, system_dirs, reason)

    if not download_if_missing:
        raise FileNotFoundError(
            error_message("Downloading is disabled (download_if_missing=False).")
        )

    created = [d for d in (directory, *directory.parents) if not d.exists()]
    failures = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        failures.append(f"cannot create {directory}: {exc}")
    else:
        for name in missing:
            failures = _download_file(f"{name}.gz", directory, urls, checksums)
            if failures:
                break
    if failures:
        missing[:] = [name for name in needed if _locate(directory, name) is None]
        for d in created:  # leave no empty directories behind, innermost first
            try:
                d.rmdir()
            except OSError:
                break
        details = "\n".join(f"  - {failure}" for failure in failures)
        raise OSError(error_message(f"Downloading them failed:\n{details}"))
    return {name: _locate(directory, name) for name in needed}


def _download_file(filename, directory, urls, checksums):
    """Download ``filename`` from the first URL that works; return the errors."""
    if filename not in checksums:
        return [f"no checksum is known for {filename}; refusing to download it"]
    if not urls:
        return [f"no download URL is configured for {filename}"]
    errors = []
    for url in _file_urls(urls, filename):
        logger.info("Downloading %s", url)
        try:
            _download_verified(url, directory / filename, checksums[filename])
        except (OSError, http.client.HTTPException, ValueError) as exc:
            errors.append(f"{url}: {exc}")
        else:
            return []
    return errors


def _download_verified(url, path, expected):
    """Download ``url`` to ``path`` atomically, keeping it only if its MD5 matches.

    ``expected`` is ``(md5 of the file, md5 of its decompressed content)``;
    either may be None.
    """
    gz_md5, raw_md5 = expected
    digest = hashlib.md5(usedforsecurity=False)
    with _atomic_open(path) as fh:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                fh.write(chunk)
        fh.flush()
        got = digest.hexdigest()
        if got not in {gz_md5, raw_md5} - {None} and (
            raw_md5 is None or _decompressed_md5(fh.name) != raw_md5
        ):
            # Raising inside _atomic_open removes the temporary file.
            raise OSError(
                f"checksum mismatch for {path.name}: got MD5 {got}, expected "
                f"{gz_md5 or raw_md5}; the downloaded file was removed"
            )


def _decompressed_md5(path):
    """MD5 of a gzip file's decompressed content, or None if it is not gzip."""
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with open(path, "rb") as fh:
            if fh.read(2) != _GZIP_MAGIC:
                return None
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error):
        return None
    return digest.hexdigest()


def _file_urls(urls, filename):
    """The full URLs of ``filename`` under each base URL."""
    return [f"{url}{'' if url.endswith('/') else '/'}{filename}" for url in urls]


def _missing_message(title, directory, missing, urls, system_dirs, reason):
    """The error message for missing files: what, where, and from where."""
    env = DATA_HOME_ENV
    lines = [
        f"{title} data not found: {', '.join(f'{n}.gz' for n in missing)} "
        f"missing from {directory}.",
        reason,
        f"Put these files (gzipped or not) in {directory}, or set the {env} "
        f"environment variable (or pass data_home=...) to a directory whose "
        f"'{directory.name}' subdirectory holds them.",
    ]
    if system_dirs:
        searched = ", ".join(str(d) for d in system_dirs)
        lines.append(
            f"Also searched {searched} (on Debian/Ubuntu, "
            "'apt-get install dataset-fashion-mnist' installs the files there)."
        )
    if urls:
        lines.append("The files can be downloaded from:")
        lines.extend(
            f"  {url}" for name in missing for url in _file_urls(urls, f"{name}.gz")
        )
    return "\n".join(lines)


def _read_images_and_labels(images_path, labels_path):
    """Read and check one pair of image and label IDX files."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != _IMAGE_SHAPE:
        raise ValueError(
            f"{images_path}: expected uint8 images of shape (n, 28, 28), got a "
            f"{images.dtype} array of shape {images.shape}."
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: expected a 1-D uint8 array of labels, got a "
            f"{labels.dtype} array of shape {labels.shape}."
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels; the numbers must match."
        )
    if labels.size and labels.max() >= _N_CLASSES:
        raise ValueError(
            f"{labels_path}: labels must be in 0..{_N_CLASSES - 1}, found "
            f"{labels.max()}."
        )
    return images, labels
