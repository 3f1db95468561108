"""The --data option: named data sets, .npz files, IDX folders, image folders."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from skmnist.cli._common import CLIError
from skmnist.cli._data import (
    held_out_split,
    load_data,
    parse_classes,
    subsample_per_class,
)
from skmnist.datasets import load_mnist_sample, write_idx

from .conftest import draw_digit


def _arrays(n=40, side=8, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randint(0, 256, (n, side, side)).astype(np.uint8), np.arange(n) % 4


def test_sample_uses_the_shared_held_out_split():
    data = load_data("sample")
    X, y = load_mnist_sample(return_X_y=True)
    _, X_test, _, y_test = train_test_split(X, y, test_size=1000, stratify=y, random_state=0)
    np.testing.assert_array_equal(data.X_test, X_test)
    np.testing.assert_array_equal(data.y_test, y_test)
    assert len(data.y_train) == 4000
    assert "held-out split with seed 0" in data.describe_test()
    other = load_data("sample", seed=1, test_size=500)
    assert len(other.y_test) == 500 and not np.array_equal(other.y_test, data.y_test[:500])


def test_classes_are_kept_after_the_split():
    full = load_data("sample")
    data = load_data("sample", classes="5-7,9")
    assert set(np.unique(data.y_train)) == set(np.unique(data.y_test)) == {5, 6, 7, 9}
    np.testing.assert_array_equal(data.X_test, full.X_test[np.isin(full.y_test, [5, 6, 7, 9])])
    with pytest.raises(CLIError, match="no image"):
        load_data("sample", classes="cat")
    assert parse_classes("0-2, 7,cat") == {"0", "1", "2", "7", "cat"}
    with pytest.raises(CLIError):
        parse_classes(" , ")


@pytest.mark.parametrize("keys", [("X", "y"), ("images", "labels"), ("data", "target")])
def test_npz_with_one_array_pair_is_split(tmp_path, keys):
    X, y = _arrays()
    np.savez(tmp_path / "d.npz", **{keys[0]: X, keys[1]: y})
    data = load_data(str(tmp_path / "d.npz"), test_size=0.25)
    assert data.name == "d.npz"
    assert len(data.y_train) == 30 and len(data.y_test) == 10
    assert data.X_test.shape[1:] == (8, 8)


def test_npz_with_its_own_test_split(tmp_path):
    X, y = _arrays()
    np.savez(tmp_path / "keras.npz", x_train=X[:30], y_train=y[:30], x_test=X[30:],
             y_test=y[30:])
    data = load_data(str(tmp_path / "keras.npz"))
    np.testing.assert_array_equal(data.X_test, X[30:])
    assert data.test_description == "its test arrays"


def test_bad_npz_files(tmp_path):
    X, y = _arrays()
    np.savez(tmp_path / "keys.npz", a=X, b=y)
    with pytest.raises(CLIError, match="expected X and y"):
        load_data(str(tmp_path / "keys.npz"))
    np.savez(tmp_path / "shape.npz", X=X[:, 0, 0], y=y)
    with pytest.raises(CLIError, match="shape"):
        load_data(str(tmp_path / "shape.npz"))
    np.savez(tmp_path / "lengths.npz", X=X, y=y[:5])
    with pytest.raises(CLIError, match="40 images but 5 labels"):
        load_data(str(tmp_path / "lengths.npz"))
    np.savez(tmp_path / "objects.npz", X=X, y=np.array([{}] * 40, dtype=object))
    with pytest.raises(CLIError, match="cannot read"):
        load_data(str(tmp_path / "objects.npz"))
    (tmp_path / "fake.npz").write_bytes(b"not a zip")
    with pytest.raises(CLIError, match="cannot read .*fake.npz"):
        load_data(str(tmp_path / "fake.npz"))
    (tmp_path / "data.csv").write_text("1,2")
    with pytest.raises(CLIError, match="not an .npz file"):
        load_data(str(tmp_path / "data.csv"))
    with pytest.raises(CLIError, match="no such file or directory"):
        load_data(str(tmp_path / "missing"))


def _write_idx_set(folder, parts=("train", "t10k")):
    folder.mkdir(exist_ok=True)
    for prefix, n in (("train", 40), ("t10k", 12)):
        if prefix not in parts:
            continue
        X, y = _arrays(n, side=28)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", X)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", y.astype(np.uint8))


def test_idx_folder(tmp_path):
    _write_idx_set(tmp_path / "idx")
    data = load_data(str(tmp_path / "idx"))
    assert (len(data.y_train), len(data.y_test)) == (40, 12)
    assert data.X_train.shape == (40, 28, 28)
    _write_idx_set(tmp_path / "train_only", parts=("train",))
    data = load_data(str(tmp_path / "train_only"), test_size=10)
    assert (len(data.y_train), len(data.y_test)) == (30, 10)
    _write_idx_set(tmp_path / "test_only", parts=("t10k",))
    data = load_data(str(tmp_path / "test_only"), need="test")
    assert data.X_train is None and len(data.y_test) == 12
    (tmp_path / "idx" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(CLIError, match="no test-labels"):
        load_data(str(tmp_path / "idx"))


def _write_image_folder(root, labels=("3", "8"), n=4):
    for label in labels:
        (root / label).mkdir(parents=True)
        for i in range(n):
            digit = "1" if label == labels[0] else "7"
            draw_digit((30 + i, 40), digit=digit).save(root / label / f"{i}.png")


def test_image_folder_with_int_labels(tmp_path):
    _write_image_folder(tmp_path / "imgs")
    (tmp_path / "imgs" / "3" / "notes.txt").write_text("ignored")
    data = load_data(str(tmp_path / "imgs"), test_size=2)
    assert data.X_train.shape == (6, 1, 28, 28) and data.X_train.dtype == np.uint8
    assert sorted(np.unique(data.y_train).tolist()) == [3, 8]
    assert data.X_train.max() == 255  # inverted and stretched: MNIST-like
    small = load_data(str(tmp_path / "imgs"), image_shape=(1, 8, 8), test_size=2)
    assert small.X_test.shape == (2, 1, 8, 8)


def test_image_folder_with_train_and_test_subfolders_and_names(tmp_path):
    _write_image_folder(tmp_path / "set" / "training", labels=("cat", "dog"))
    _write_image_folder(tmp_path / "set" / "testing", labels=("cat", "dog"), n=2)
    data = load_data(str(tmp_path / "set"))
    assert (len(data.y_train), len(data.y_test)) == (8, 4)
    assert sorted(np.unique(data.y_test).tolist()) == ["cat", "dog"]
    assert data.test_description == "its testing folder"


def test_image_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CLIError, match="no IDX files and no images in class subfolders"):
        load_data(str(tmp_path / "empty"))
    _write_image_folder(tmp_path / "one", labels=("1",))
    with pytest.raises(CLIError, match="one class only"):
        load_data(str(tmp_path / "one"))
    _write_image_folder(tmp_path / "bad")
    (tmp_path / "bad" / "8" / "broken.png").write_bytes(b"garbage")
    with pytest.raises(CLIError, match="broken.png: cannot read the image"):
        load_data(str(tmp_path / "bad"))


def test_held_out_split_and_subsample():
    X, y = _arrays(40)
    X_train, X_test, y_train, y_test = held_out_split(X, y, test_size=8, seed=0)
    assert len(y_test) == 8 and np.bincount(y_test).tolist() == [2, 2, 2, 2]
    with pytest.raises(CLIError, match="leaves no training"):
        held_out_split(X, y, test_size=40, seed=0)
    y_odd = np.array([0] * 39 + [1])  # a class of one: falls back to an unstratified split
    assert len(held_out_split(X, y_odd, test_size=5, seed=0)[1]) == 5
    X_small, y_small = subsample_per_class(X_train, y_train, 3, seed=0)
    assert np.bincount(y_small).tolist() == [3, 3, 3, 3]
    assert len(subsample_per_class(X_train, y_train, 100, seed=0)[1]) == len(y_train)
