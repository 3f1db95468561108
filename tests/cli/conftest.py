"""Fixtures of the command-line tests: a tiny saved model and drawn image files."""

import numpy as np
import pytest

import skmnist
from skmnist.datasets import load_mnist_sample

from .._drawing import draw_digit


@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    """An MLP trained for 2 epochs on 1,500 sample images, saved (CPU, seeded)."""
    X, y = load_mnist_sample(return_X_y=True)
    idx = np.random.RandomState(0).permutation(len(y))[:1500]
    clf = skmnist.SkMNISTClassifier(arch="mlp", max_epochs=2, device="cpu", random_state=0)
    clf.fit(X[idx], y[idx])
    path = tmp_path_factory.mktemp("model") / "model.skmnist"
    skmnist.save(clf, path)
    return path


@pytest.fixture
def drawn(tmp_path):
    """Image files: dark-on-light, light-on-dark, RGB JPEG, odd sizes; in tmp/drawn."""
    folder = tmp_path / "drawn"
    folder.mkdir()
    draw_digit((50, 37)).save(folder / "one_dark_on_light.png")
    draw_digit((37, 50), ink=255, paper=0).save(folder / "one_light_on_dark.png")
    draw_digit((120, 90), digit="7", ink=(30, 30, 160), paper=(250, 248, 240),
               mode="RGB").save(folder / "seven_rgb.jpg")
    return folder
