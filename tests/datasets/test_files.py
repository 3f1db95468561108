"""Your own data on disk (skmnist/datasets/_files.py): image folders, .npz, IDX folders."""

import numpy as np
import pytest

from skmnist.datasets import load_idx_folder, load_image_folder, load_npz, write_idx

from .._drawing import draw_digit


def _arrays(n=40, side=8, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randint(0, 256, (n, side, side)).astype(np.uint8), np.arange(n) % 4


def _image_folder(root, labels=("3", "8"), n=3):
    for label in labels:
        (root / label / "sub").mkdir(parents=True)
        for i in range(n):
            digit = "1" if label == labels[0] else "7"
            target = root / label / ("sub" if i == 0 else "") / f"{i}.png"
            draw_digit((30 + i, 40), digit=digit).save(target)
    return root


def test_image_folder_reads_class_subfolders(tmp_path):
    root = _image_folder(tmp_path / "imgs")
    (root / "3" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    images = load_image_folder(root)
    assert images.data.shape == (6, 1, 28, 28) and images.data.dtype == np.uint8
    assert images.target.tolist() == [3, 3, 3, 8, 8, 8] and images.target_names == ["3", "8"]
    assert len(images.filenames) == 6 and images.data.max() == 255
    X, y = load_image_folder(root, image_shape=(3, 16, 16), return_X_y=True)
    assert X.shape == (6, 3, 16, 16) and y.dtype.kind == "i"


def test_image_folder_with_names_keeps_strings(tmp_path):
    images = load_image_folder(_image_folder(tmp_path / "pets", labels=("cat", "dog")))
    assert images.target.tolist() == ["cat"] * 3 + ["dog"] * 3


def test_image_folder_errors(tmp_path):
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="holds no images in class subfolders"):
        load_image_folder(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        load_image_folder(tmp_path / "missing")
    root = _image_folder(tmp_path / "bad")
    (root / "8" / "broken.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="broken.png: cannot read the image"):
        load_image_folder(root)


@pytest.mark.parametrize("keys", [("X", "y"), ("images", "labels"), ("data", "target"),
                                  ("x", "Y")])
def test_npz_with_one_pair(tmp_path, keys):
    X, y = _arrays()
    np.savez(tmp_path / "d.npz", **{keys[0]: X, keys[1]: y})
    data = load_npz(tmp_path / "d.npz")
    np.testing.assert_array_equal(data.data, X)
    assert not data.has_test and data.array_names == list(keys)
    np.testing.assert_array_equal(load_npz(tmp_path / "d.npz", subset="all").target, y)
    with pytest.raises(ValueError, match="has no test part"):
        load_npz(tmp_path / "d.npz", subset="test")


def test_npz_with_a_test_pair(tmp_path):
    X, y = _arrays()
    np.savez(tmp_path / "keras.npz", x_train=X[:30], y_train=y[:30], x_test=X[30:],
             y_test=y[30:])
    train = load_npz(tmp_path / "keras.npz")
    assert train.has_test and len(train.target) == 30
    X_test, y_test = load_npz(tmp_path / "keras.npz", subset="test", return_X_y=True)
    np.testing.assert_array_equal(X_test, X[30:])
    X_all, _ = load_npz(tmp_path / "keras.npz", subset="all", return_X_y=True)
    np.testing.assert_array_equal(X_all, X)


def test_bad_npz_files(tmp_path):
    X, y = _arrays()
    cases = {
        "keys.npz": (dict(a=X, b=y), "expected X and y"),
        "shape.npz": (dict(X=X[:, 0, 0], y=y), "shape"),
        "lengths.npz": (dict(X=X, y=y[:5]), "40 images but 5 labels"),
        "objects.npz": (dict(X=X, y=np.array([{}] * 40, dtype=object)), "cannot read"),
    }
    for name, (arrays, match) in cases.items():
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(ValueError, match=match):
            load_npz(tmp_path / name)
    (tmp_path / "fake.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot read .*fake.npz"):
        load_npz(tmp_path / "fake.npz")
    with pytest.raises(ValueError, match="subset must be"):
        load_npz(tmp_path / "keys.npz", subset="valid")


def _idx_folder(folder, parts=("train", "t10k")):
    folder.mkdir(exist_ok=True)
    for prefix, n in (("train", 40), ("t10k", 12)):
        if prefix in parts:
            X, y = _arrays(n, side=28)
            write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", X)
            write_idx(folder / f"{prefix}-labels-idx1-ubyte", y.astype(np.uint8))
    return folder


def test_idx_folder(tmp_path):
    folder = _idx_folder(tmp_path / "idx")
    train = load_idx_folder(folder)
    assert train.data.shape == (40, 784) and train.subsets == ["train", "test"]
    X_test, y_test = load_idx_folder(folder, subset="test", as_images=True, return_X_y=True)
    assert X_test.shape == (12, 28, 28) and len(y_test) == 12
    assert len(load_idx_folder(folder, subset="all").target) == 52
    only_test = _idx_folder(tmp_path / "t", parts=("t10k",))
    assert len(load_idx_folder(only_test, subset="all").target) == 12
    with pytest.raises(ValueError, match="no train IDX files"):
        load_idx_folder(only_test)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(ValueError, match="test IDX files but no test-labels"):
        load_idx_folder(folder)
    (tmp_path / "none").mkdir()
    with pytest.raises(ValueError, match="holds no IDX files"):
        load_idx_folder(tmp_path / "none")
