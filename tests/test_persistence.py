"""skmnist.save / skmnist.load: safe format, atomic writes, corrupt files."""

import json
import os
import zipfile

import numpy as np
import pytest

import skmnist
from skmnist import SkMNISTClassifier, load, save


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(60, 8, 8)).astype(np.uint8)
    y = np.array(["cat", "dog", "eel"])[np.arange(60) % 3]
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return SkMNISTClassifier(channels=(4,), hidden_units=(8,), max_epochs=2,
                             device="cpu", random_state=0).fit(X, y)


def test_round_trip_identical_predictions(fitted, data, tmp_path):
    X, _ = data
    path = save(fitted, tmp_path / "m.skmnist")
    loaded = load(path, device="cpu")
    assert type(loaded) is SkMNISTClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.input_shape_ == fitted.input_shape_
    assert loaded.n_iter_ == fitted.n_iter_
    assert len(loaded.history_) == len(fitted.history_)


def test_mlp_tabular_and_integer_labels(tmp_path):
    rng = np.random.RandomState(1)
    X = rng.randn(40, 5)
    y = np.where(X[:, 0] > 0, 7, -1)
    clf = SkMNISTClassifier(max_epochs=1, device="cpu", random_state=0).fit(X, y)
    loaded = load(save(clf, tmp_path / "t.skmnist"))
    assert loaded.arch_ == "mlp"
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_loaded_model_continues_training(fitted, data, tmp_path):
    X, y = data
    loaded = load(save(fitted, tmp_path / "m.skmnist"))
    before = loaded.n_iter_
    loaded.partial_fit(X, y)
    assert loaded.n_iter_ == before + 1


def test_no_pickle_in_the_file(fitted, tmp_path):
    path = save(fitted, tmp_path / "m.skmnist")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["SHA256", "metadata.json", "optimizer.pt",
                                              "weights.pt"]
        meta = json.loads(archive.read("metadata.json"))
    assert meta["class"] == "SkMNISTClassifier"
    assert meta["versions"]["skmnist"] == skmnist.__version__


def test_overwrite_is_atomic_and_leaves_no_temp_files(fitted, data, tmp_path, monkeypatch):
    path = tmp_path / "m.skmnist"
    save(fitted, path)
    good = path.read_bytes()

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        save(fitted, path)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.skmnist"]


def test_truncated_file(fitted, tmp_path):
    path = tmp_path / "m.skmnist"
    save(fitted, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or not a model file"):
        load(path)


def _rewrite(path, name, transform):
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members[name] = transform(members[name])
    with zipfile.ZipFile(path, "w") as archive:
        for n, blob in members.items():
            archive.writestr(n, blob)


def test_tampered_weights_fail_checksum(fitted, tmp_path):
    path = save(fitted, tmp_path / "m.skmnist")
    _rewrite(path, "weights.pt", lambda b: b[:-8] + bytes(8))
    with pytest.raises(ValueError, match="checksum"):
        load(path)


def test_tampered_metadata_fails_checksum(fitted, tmp_path):
    path = save(fitted, tmp_path / "m.skmnist")
    _rewrite(path, "metadata.json", lambda b: b.replace(b'"cat"', b'"cow"'))
    with pytest.raises(ValueError, match="checksum"):
        load(path)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(ValueError, match="not a readable skmnist model"):
        load(path)
    with pytest.raises(FileNotFoundError, match="No saved model"):
        load(tmp_path / "missing.skmnist")


def test_zip_without_members(tmp_path):
    path = tmp_path / "empty.skmnist"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme", "x")
    with pytest.raises(ValueError, match="lacks"):
        load(path)


def test_unfitted_and_unsupported(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        save(SkMNISTClassifier(), tmp_path / "x.skmnist")
    with pytest.raises(ValueError, match="joblib"):
        save(object(), tmp_path / "x.skmnist")
    with pytest.raises(ValueError, match="does not exist"):
        X = np.random.rand(20, 4)
        clf = SkMNISTClassifier(max_epochs=1, device="cpu").fit(X, np.arange(20) % 2)
        save(clf, tmp_path / "no" / "such" / "dir.skmnist")


def test_unsaveable_parameter(tmp_path):
    import torch

    X = np.random.rand(20, 4)
    clf = SkMNISTClassifier(optimizer=torch.optim.Adam, max_epochs=1, device="cpu")
    clf.fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match="optimizer=.*cannot be stored"):
        save(clf, tmp_path / "x.skmnist")
    assert not list(tmp_path.iterdir())
