"""Your own data on disk: a folder of images, an ``.npz`` file, a folder of IDX files.

These are the data sources of the ``skmnist`` command's ``--data PATH``, as
library functions: :func:`load_image_folder` reads ``ROOT/<label>/*.png`` the
way torchvision's ``ImageFolder`` and scikit-learn's ``load_files`` read
class subfolders, :func:`load_npz` reads arrays saved with
:func:`numpy.savez` (Keras' ``mnist.npz`` layout included) and
:func:`load_idx_folder` reads MNIST-style IDX files. Each returns a
scikit-learn :class:`~sklearn.utils.Bunch` (or ``(X, y)`` with
``return_X_y=True``) and raises ``ValueError`` (``FileNotFoundError`` for a
missing path) with a message that names the file.
"""

import re
import sys
import zipfile
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._idx import read_idx
from ._images import is_image_file, read_image

_SUBSETS = ("train", "test", "all")
# (train X, train y, test X, test y) and (X, y) key sets of .npz files, lower-case.
_NPZ_SPLIT_KEYS = (("x_train", "y_train", "x_test", "y_test"),
                   ("train_images", "train_labels", "test_images", "test_labels"))
_NPZ_KEYS = (("x", "y"), ("images", "labels"), ("data", "target"))
_IDX_NAME = re.compile(r"(train|t10k|test)[-_.](images|labels)[-_.]idx(\d)[-_.]ubyte(\.gz)?$")


def _check_subset(subset):
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}.")


def _check_arrays(X, y, where):
    X, y = np.asarray(X), np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{where}: the labels must be a 1-D array, got shape {y.shape}")
    if X.ndim not in (2, 3, 4):
        raise ValueError(f"{where}: the images must have shape (n, h, w), (n, c, h, w) or "
                         f"flat (n, h*w), got {X.shape}")
    if len(X) != len(y):
        raise ValueError(f"{where}: {len(X)} images but {len(y)} labels")
    if X.dtype.kind not in "uif" or y.dtype.kind not in "uiUSb":
        raise ValueError(f"{where}: images must be numbers and labels numbers or strings, "
                         f"got {X.dtype} and {y.dtype}")
    if len(y) == 0:
        raise ValueError(f"{where}: no images")
    return X, y


def _pick(parts, subset, where):
    """``parts``: {"train": (X, y), "test": (X, y) or None}; the arrays of ``subset``."""
    if subset == "test":
        if parts["test"] is None:
            raise ValueError(f"{where} has no test part; use subset='train' or 'all'")
        return parts["test"]
    if subset == "train" or parts["test"] is None:
        return parts["train"]
    (X, y), (X_test, y_test) = parts["train"], parts["test"]
    if X.shape[1:] != X_test.shape[1:]:
        raise ValueError(f"{where}: the training and test images have different shapes "
                         f"{X.shape[1:]} and {X_test.shape[1:]}")
    return np.concatenate([X, X_test]), np.concatenate([y, y_test])


def _path(path):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    return path


# ------------------------------------------------------------------- .npz
def load_npz(path, *, subset="train", return_X_y=False):
    """Load images and labels from an ``.npz`` file.

    The file holds one pair of arrays, ``X`` and ``y`` (or ``images`` and
    ``labels``, or ``data`` and ``target``), or a training and a test pair:
    ``x_train``, ``y_train``, ``x_test``, ``y_test`` (Keras' ``mnist.npz``)
    or ``train_images``, ``train_labels``, ``test_images``, ``test_labels``.
    Key names are matched without regard to case. Nothing is unpickled
    (``allow_pickle=False``).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file.
    subset : {"train", "test", "all"}, default="train"
        Which pair to return: the training pair (or the only pair), the test
        pair, or both concatenated.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (the images, as stored), ``target`` (the labels),
        ``has_test`` (whether the file holds a test pair), ``array_names`` (the
        array names read) and ``filename``.
    (data, target) : tuple
        With ``return_X_y=True``.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not an ``.npz`` file, lacks the arrays above, holds
        arrays of the wrong shape or type, or has no test pair for
        ``subset="test"``.

    See Also
    --------
    load_image_folder : Images in class subfolders.
    load_idx_folder : MNIST-style IDX files.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skmnist.datasets import load_npz
    >>> path = os.path.join(tempfile.mkdtemp(), "digits.npz")
    >>> np.savez(path, X=np.zeros((6, 8, 8), np.uint8), y=[0, 1, 2, 0, 1, 2])
    >>> X, y = load_npz(path, return_X_y=True)
    >>> X.shape, y.tolist()
    ((6, 8, 8), [0, 1, 2, 0, 1, 2])
    """
    _check_subset(subset)
    path = _path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = {k.lower(): k for k in archive.files}
            parts = None
            for names in _NPZ_SPLIT_KEYS:
                if all(k in keys for k in names):
                    arrays = [archive[keys[k]] for k in names]
                    parts = {"train": _check_arrays(arrays[0], arrays[1], f"{path} ({names[0]})"),
                             "test": _check_arrays(arrays[2], arrays[3], f"{path} ({names[2]})")}
                    break
            else:
                for names in _NPZ_KEYS:
                    if all(k in keys for k in names):
                        parts = {"train": _check_arrays(archive[keys[names[0]]],
                                                        archive[keys[names[1]]], str(path)),
                                 "test": None}
                        break
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        reason = " ".join(str(exc).split())
        if isinstance(exc, ValueError) and reason.startswith(str(path)):
            raise
        raise ValueError(f"cannot read {path} as an .npz file: {reason}") from None
    if parts is None:
        raise ValueError(f"{path} has arrays {sorted(keys.values())}; expected X and y, "
                         "images and labels, or x_train, y_train, x_test and y_test")
    X, y = _pick(parts, subset, str(path))
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, has_test=parts["test"] is not None,
                 array_names=[keys[k] for k in names], filename=str(path))


# ------------------------------------------------------------------- IDX
def _idx_files(folder):
    """``{"train-images": path, ...}`` for the IDX files in ``folder``."""
    found = {}
    for path in sorted(folder.iterdir()):
        match = _IDX_NAME.match(path.name)
        if match and path.is_file():
            part = "train" if match.group(1) == "train" else "test"
            found.setdefault(f"{part}-{match.group(2)}", path)
    return found


def load_idx_folder(path, *, subset="train", as_images=False, return_X_y=False):
    """Load MNIST-style IDX files from a folder.

    The folder holds ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte``
    and/or ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``
    (optionally gzipped; ``test`` may replace ``t10k``, and ``-`` may be
    ``_`` or ``.``): the layout of MNIST, Fashion-MNIST, KMNIST and EMNIST.

    Parameters
    ----------
    path : str or os.PathLike
        The folder.
    subset : {"train", "test", "all"}, default="train"
        The training files, the test (``t10k``) files, or both concatenated.
    as_images : bool, default=False
        Return images ``(n, h, w)`` instead of flat rows ``(n, h * w)``.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data``, ``target``, ``subsets`` (the parts the folder holds:
        ``"train"``, ``"test"``) and ``filenames`` (the IDX files read).
    (data, target) : tuple
        With ``return_X_y=True``.

    Raises
    ------
    FileNotFoundError
        If there is no such folder.
    ValueError
        If the folder holds no IDX files, the images of a part without its
        labels (or the reverse), or not the part ``subset`` asks for.

    See Also
    --------
    skmnist.datasets.read_idx : Read one IDX file.
    skmnist.datasets.fetch_mnist : MNIST from the data home.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skmnist.datasets import load_idx_folder, write_idx
    >>> folder = tempfile.mkdtemp()
    >>> images = np.zeros((4, 5, 5), np.uint8)
    >>> _ = write_idx(os.path.join(folder, "train-images-idx3-ubyte"), images)
    >>> _ = write_idx(os.path.join(folder, "train-labels-idx1-ubyte"), np.arange(4, dtype=np.uint8))
    >>> load_idx_folder(folder).data.shape
    (4, 25)
    """
    _check_subset(subset)
    folder = _path(path)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    idx = _idx_files(folder)
    if not idx:
        raise ValueError(f"{folder} holds no IDX files (train-images-idx3-ubyte[.gz], ...)")
    parts, files = {"train": None, "test": None}, []
    for part in ("train", "test"):
        have = [f"{part}-images" in idx, f"{part}-labels" in idx]
        if all(have):
            images, labels = idx[f"{part}-images"], idx[f"{part}-labels"]
            parts[part] = _check_arrays(read_idx(images), read_idx(labels),
                                        f"{images.name} / {labels.name}")
            files += [str(images), str(labels)]
        elif any(have):
            missing = f"{part}-labels" if have[0] else f"{part}-images"
            raise ValueError(f"{folder} has {part} IDX files but no {missing} file")
    subsets = [p for p in ("train", "test") if parts[p] is not None]
    if subset != "all" and parts[subset] is None:
        raise ValueError(f"{folder} has no {subset} IDX files (it has {', '.join(subsets)})")
    if subset == "all" and len(subsets) == 1:
        X, y = parts[subsets[0]]
    else:
        X, y = _pick(parts, subset, str(folder))
    if not as_images and X.ndim > 2:
        X = X.reshape(len(X), -1)
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, subsets=subsets, filenames=files)


# ------------------------------------------------------------- image folders
def _label(name, all_names):
    return int(name) if all(re.fullmatch(r"-?\d+", n) for n in all_names) else name


def load_image_folder(path, *, image_shape=(1, 28, 28), invert=None, layout="auto",
                      return_X_y=False, verbose=0):
    """Load the images of ``ROOT/<label>/...`` as MNIST-style arrays and their labels.

    Each subfolder of ``path`` is a class, named by its label; every image
    file under it (searched recursively: PNG, JPEG, BMP, GIF, TIFF, WebP) is
    read with :func:`read_image`, so drawings of any size, dark on light or
    light on dark, become ``image_shape`` uint8 arrays as MNIST digits were
    made. Labels are ints when every folder name is an integer, else the
    names. Hidden files and folders are skipped.

    Parameters
    ----------
    path : str or os.PathLike
        The root folder.
    image_shape : tuple of int, default=(1, 28, 28)
        ``(channels, height, width)`` of the arrays (1 or 3 channels), for
        instance a fitted model's ``input_shape_``.
    invert : bool, default=None
        Invert grey levels; None decides per image from its border.
    layout : {"auto", "digit", "whole"}, default="auto"
        See :func:`convert_image`.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    verbose : int, default=0
        Show a progress bar on stderr while reading (with ``tqdm``, when
        installed).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (uint8, ``(n, c, h, w)``), ``target``, ``target_names``
        (the folder names, sorted) and ``filenames``.
    (data, target) : tuple
        With ``return_X_y=True``.

    Raises
    ------
    FileNotFoundError
        If there is no such folder.
    ValueError
        If no class subfolder holds an image, or an image cannot be read.

    See Also
    --------
    read_image : Read one image file.
    sklearn.datasets.load_files : The same layout for text files.

    Examples
    --------
    >>> import os, tempfile
    >>> from PIL import Image, ImageDraw
    >>> from skmnist.datasets import load_image_folder
    >>> root = tempfile.mkdtemp()
    >>> for label in ("1", "7"):
    ...     os.mkdir(os.path.join(root, label))
    ...     drawing = Image.new("L", (40, 60), 255)
    ...     ImageDraw.Draw(drawing).line([(20, 5), (20, 55)], fill=0, width=5)
    ...     drawing.save(os.path.join(root, label, "a.png"))
    >>> images = load_image_folder(root)
    >>> images.data.shape, images.target.tolist(), images.target_names
    ((2, 1, 28, 28), [1, 7], ['1', '7'])
    """
    folder = _path(path)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    files = [(d.name, p) for d in class_dirs
             for p in sorted(d.rglob("*")) if p.is_file() and is_image_file(p)]
    if not files:
        raise ValueError(f"{folder} holds no images in class subfolders "
                         f"({folder}/<label>/*.png)")
    names = sorted({name for name, _ in files})
    shape = tuple(int(s) for s in image_shape)
    images = np.empty((len(files), *shape), dtype=np.uint8)
    labels = []
    iterable = files
    if verbose:
        try:
            from tqdm import tqdm

            iterable = tqdm(files, desc=f"Reading {folder.name}", file=sys.stderr, leave=False)
        except ImportError:
            pass
    for i, (name, path_) in enumerate(iterable):
        images[i] = read_image(path_, shape, invert=invert, layout=layout)
        labels.append(_label(name, names))
    target = np.asarray(labels)
    if return_X_y:
        return images, target
    return Bunch(data=images, target=target, target_names=names,
                 filenames=[str(p) for _, p in files])
