"""The ``--data`` option: named data sets and paths, split into training and test parts.

Every subcommand gets its data from :func:`load_data`, so ``train`` and
``evaluate`` (and ``finetune``) see the same held-out split for the same
``--data``, ``--test-size`` and ``--seed``: data without a test split of its
own is split by :func:`held_out_split`, stratified and seeded. Reading the
files is the library's (:mod:`skmnist.datasets`: ``load_npz``,
``load_idx_folder``, ``load_image_folder``); this module picks the reader,
the parts and the wording of errors.
"""

import dataclasses
import re
from pathlib import Path

import numpy as np

from ._common import CLIError

NAMED = ("sample", "mnist", "fashion")
_TRAIN_DIRS = ("train", "training")
_TEST_DIRS = ("test", "testing", "t10k")


@dataclasses.dataclass
class Data:
    """Training and test parts of a data set (either may be None)."""

    name: str
    X_train: object = None
    y_train: object = None
    X_test: object = None
    y_test: object = None
    test_description: str = ""
    label_names: dict = None

    def describe_test(self):
        return f"{self.name}: {self.test_description}, {len(self.y_test)} images"


def held_out_split(X, y, *, test_size, seed):
    """Split X, y into training and held-out parts: stratified, shuffled, seeded.

    The one split used by ``train``, ``evaluate`` and ``finetune`` for data
    without a test split of its own (with the defaults, the bundled sample
    gives 4,000 training and 1,000 held-out images).

    Parameters
    ----------
    X : ndarray
        Images.
    y : ndarray
        Labels.
    test_size : int or float
        Held-out images: a count, or a fraction of the data.
    seed : int
        ``random_state`` of the split.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
    """
    from sklearn.model_selection import train_test_split

    n = len(y)
    n_test = test_size if isinstance(test_size, int) else int(np.ceil(test_size * n))
    if not 1 <= n_test < n:
        raise CLIError(f"--test-size {test_size} leaves no training or no test images out of "
                       f"{n}")
    try:
        return train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)
    except ValueError:  # a class too small to stratify
        return train_test_split(X, y, test_size=test_size, random_state=seed)


def parse_classes(text):
    """``"0-4"`` or ``"5,6,7"`` or ``"cat,dog"`` -> the set of label strings."""
    labels = set()
    for token in (t.strip() for t in text.split(",")):
        match = re.fullmatch(r"(-?\d+)-(-?\d+)", token)
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            labels.update(str(i) for i in range(min(low, high), max(low, high) + 1))
        elif token:
            labels.add(token)
    if not labels:
        raise CLIError(f"--classes {text!r} names no label")
    return labels


def _keep_classes(X, y, keep):
    if X is None:
        return X, y
    mask = np.array([str(label) in keep for label in y.tolist()], dtype=bool)
    return X[mask], y[mask]


def load_data(spec, *, data_home=None, test_size=0.2, seed=0, classes=None, need="all",
              image_shape=(1, 28, 28), invert=None, layout="auto", show_progress=False):
    """Load ``--data``: a named data set or a path, as training and test parts.

    Parameters
    ----------
    spec : str
        ``"sample"``, ``"mnist"``, ``"fashion"`` or a path (an IDX folder, an
        ``.npz`` file or a folder of images in class subfolders).
    data_home : str, default=None
        Where ``mnist`` and ``fashion`` are kept.
    test_size : int or float, default=0.2
        Held-out images for data without a test split.
    seed : int, default=0
        Seed of the held-out split.
    classes : str, default=None
        ``--classes``: keep only these labels (applied after splitting).
    need : {"all", "test", "train"}, default="all"
        ``"test"`` may skip loading the training part (full MNIST);
        ``"train"`` holds nothing out (``search`` cross-validates on all of
        the training data) and returns no test part.
    image_shape : tuple of int, default=(1, 28, 28)
        What images of a folder are converted to.
    invert, layout
        How images of a folder are converted (see
        :func:`skmnist.datasets.convert_image`).
    show_progress : bool, default=False
        Show a progress bar while reading a folder of images.

    Returns
    -------
    data : Data
    """
    if spec in NAMED:
        data = _load_named(spec, data_home, test_size, seed, need)
    else:
        path = Path(spec)
        if not path.exists():
            raise CLIError(f"--data: {spec} is not sample, mnist or fashion, and there is no "
                           "such file or directory")
        try:
            if path.is_dir():
                data = _load_folder(path, test_size, seed, need, image_shape, invert, layout,
                                    show_progress)
            elif path.suffix.lower() == ".npz":
                data = _load_npz(path, test_size, seed, need)
            else:
                raise CLIError(f"--data: {spec} is a file but not an .npz file; give an .npz "
                               "file, a folder of IDX files or a folder of images")
        except (ValueError, OSError) as exc:
            raise CLIError(f"--data: {' '.join(str(exc).split())}") from None
    if classes:
        keep = parse_classes(classes)
        data.X_train, data.y_train = _keep_classes(data.X_train, data.y_train, keep)
        data.X_test, data.y_test = _keep_classes(data.X_test, data.y_test, keep)
        present = {str(c) for part in (data.y_train, data.y_test) if part is not None
                   for c in np.unique(part).tolist()}
        if not present:
            raise CLIError(f"--classes {classes}: no image of {data.name} has one of these "
                           "labels")
        if data.y_test is not None:
            data.test_description += f", classes {classes}"
    return data


def _load_named(name, data_home, test_size, seed, need):
    from ..datasets import fetch_fashion_mnist, fetch_mnist, load_mnist_sample

    if name == "sample":
        X, y = load_mnist_sample(return_X_y=True)
        if need == "train":
            return Data("sample", X, y)
        X_train, X_test, y_train, y_test = held_out_split(X, y, test_size=test_size, seed=seed)
        return Data("sample", X_train, y_train, X_test, y_test,
                    f"held-out split with seed {seed}")
    from ..datasets._fetch import FASHION_MNIST_CLASSES

    fetch = {"mnist": fetch_mnist, "fashion": fetch_fashion_mnist}[name]
    names = dict(enumerate(FASHION_MNIST_CLASSES)) if name == "fashion" else None
    X_train = y_train = X_test = y_test = None
    if need != "test":
        X_train, y_train = fetch(subset="train", data_home=data_home, return_X_y=True)
    if need != "train":
        X_test, y_test = fetch(subset="test", data_home=data_home, return_X_y=True)
    return Data(name, X_train, y_train, X_test, y_test,
                "official test set" if need != "train" else "", names)


def _split_or_keep(name, parts, test_size, seed, need, own_split):
    X, y, X_test, y_test = parts
    if need == "train":
        return Data(name, X if X is not None else X_test, y if y is not None else y_test)
    if X_test is not None and X is not None:
        return Data(name, X, y, X_test, y_test, own_split)
    if X is None:
        return Data(name, None, None, X_test, y_test, own_split)
    X_train, X_test, y_train, y_test = held_out_split(X, y, test_size=test_size, seed=seed)
    return Data(name, X_train, y_train, X_test, y_test, f"held-out split with seed {seed}")


def _load_npz(path, test_size, seed, need):
    from ..datasets import load_npz

    train = load_npz(path, subset="train")
    test = load_npz(path, subset="test") if train.has_test else None
    parts = (train.data, train.target, None if test is None else test.data,
             None if test is None else test.target)
    return _split_or_keep(path.name, parts, test_size, seed, need, "its test arrays")


def _load_folder(folder, test_size, seed, need, image_shape, invert, layout, show_progress):
    from ..datasets import load_idx_folder
    from ..datasets._files import _idx_files

    idx = _idx_files(folder)
    if idx:
        parts = [None] * 4
        for i, part in enumerate(("train", "test")):
            if f"{part}-images" in idx or f"{part}-labels" in idx:
                parts[2 * i:2 * i + 2] = load_idx_folder(folder, subset=part, as_images=True,
                                                         return_X_y=True)
        return _split_or_keep(folder.name, parts, test_size, seed, need, "its t10k IDX files")
    subdirs = {p.name.lower(): p for p in folder.iterdir() if p.is_dir()
               and not p.name.startswith(".")}
    train_dir = next((subdirs[n] for n in _TRAIN_DIRS if n in subdirs), None)
    test_dir = next((subdirs[n] for n in _TEST_DIRS if n in subdirs), None)
    options = dict(image_shape=image_shape, invert=invert, layout=layout,
                   show_progress=show_progress)
    if train_dir is not None and test_dir is not None:
        X, y = _read_image_folder(train_dir, **options)
        if need == "train":
            return Data(folder.name, X, y)
        X_test, y_test = _read_image_folder(test_dir, **options)
        return Data(folder.name, X, y, X_test, y_test, f"its {test_dir.name} folder")
    X, y = _read_image_folder(folder, **options)
    return _split_or_keep(folder.name, (X, y, None, None), test_size, seed, need, "")


def _read_image_folder(folder, *, image_shape, invert, layout, show_progress):
    """Images of ``folder/<label>/**`` for a classifier: at least two classes."""
    from ..datasets import load_image_folder

    try:
        images = load_image_folder(folder, image_shape=image_shape, invert=invert,
                                   layout=layout, verbose=int(show_progress))
    except ValueError as exc:
        if "holds no images" in str(exc):
            raise CLIError(
                f"--data: {folder} holds no IDX files and no images in class subfolders "
                f"({folder}/<label>/*.png)") from None
        raise
    if len(images.target_names) < 2:
        raise CLIError(f"--data: {folder} has images of one class only "
                       f"({images.target_names[0]}); a classifier needs at least two class "
                       "subfolders")
    return images.data, images.target


def subsample_per_class(X, y, k, seed):
    """At most ``k`` images of each class (``finetune --labels-per-class``), seeded."""
    rng = np.random.RandomState(seed)
    keep = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        keep.append(rng.choice(idx, min(k, len(idx)), replace=False))
    keep = np.sort(np.concatenate(keep))
    return X[keep], y[keep]
