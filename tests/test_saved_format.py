"""Files written by earlier versions load, and predict as they did when saved.

``tests/data/v0.1-*.skmnist`` were written by skmnist at commit c431c73,
before the estimator core was split into ``_base``/``_training``/``_archive``:
a CNN (channels (4, 8)) fit for 2 epochs on 100 sample images of digits 0-4,
a fine-tuner of it (frozen backbone) on 100 images of 5-9, and an MLP on 61
pixel columns with string labels. ``v0.1-expected.npz`` holds the 200 images
and the probabilities that version computed (on a 2-core CPU, 2 threads:
compared to 1e-6, since thread counts may change the last bits).
"""

import json
import pathlib
import zipfile

import numpy as np
import pytest

from skmnist import SkMNISTClassifier, SkMNISTFineTuner, load, save

DATA = pathlib.Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def expected():
    with np.load(DATA / "v0.1-expected.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize(("name", "cls"), [("classifier", SkMNISTClassifier),
                                           ("finetuner", SkMNISTFineTuner)])
def test_old_files_predict_as_when_saved(expected, name, cls):
    model = load(DATA / f"v0.1-{name}.skmnist", device="cpu")
    assert type(model) is cls
    proba = model.predict_proba(expected["X"])
    np.testing.assert_allclose(proba, expected[name], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(proba.argmax(1), expected[name].argmax(1))


def test_old_tabular_file_with_string_labels(expected):
    model = load(DATA / "v0.1-mlp.skmnist", device="cpu")
    X = expected["X"][:, ::13] / 255.0
    np.testing.assert_allclose(model.predict_proba(X), expected["mlp"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(model.predict(X), expected["mlp_labels"])


def test_old_fine_tuned_file_keeps_its_frozen_blocks(expected):
    model = load(DATA / "v0.1-finetuner.skmnist", device="cpu")
    assert model.frozen_ == ["features.0", "features.1"]
    frozen = [p.requires_grad for p in model.module_.features.parameters()]
    assert frozen and not any(frozen)
    assert model.n_iter_ == 2


def test_files_written_now_have_the_same_members_and_keys(tmp_path):
    old = load(DATA / "v0.1-finetuner.skmnist", device="cpu")
    path = save(old, tmp_path / "again.skmnist")
    def keys(p):
        with zipfile.ZipFile(p) as archive:
            meta = json.loads(archive.read("metadata.json"))
            return sorted(archive.namelist()), sorted(meta), sorted(meta["fitted"]), \
                sorted(meta["params"])

    members, meta, fitted, params = keys(path)
    old_members, old_meta, old_fitted, old_params = keys(DATA / "v0.1-finetuner.skmnist")
    assert (members, meta, fitted) == (old_members, old_meta, old_fitted)
    assert set(old_params) <= set(params)  # later versions may add parameters
