"""What both estimators share (skmnist/_base.py): range warnings, progress, typos."""

import io
import warnings

import numpy as np
import pytest

from skmnist import SkMNISTClassifier, SkMNISTFineTuner, _engine
from skmnist.datasets import load_mnist_sample

FAST = dict(max_epochs=1, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_mnist_sample(return_X_y=True)
    return X[::20], y[::20]


def test_input_range_is_recorded_and_widened_by_partial_fit(digits):
    X, y = digits
    clf = SkMNISTClassifier(**FAST).fit(X / 255.0, y)
    assert clf.input_range_ == (0.0, 1.0)
    clf.partial_fit(X / 127.5, y)
    assert clf.input_range_ == (0.0, 2.0)


def test_predicting_on_another_scale_warns_once_naming_X(digits):
    X, y = digits
    on_floats = SkMNISTClassifier(**FAST).fit(X / 255.0, y)
    with pytest.warns(UserWarning, match=r"X lies far outside .* \[0, 255\], the training "
                                         r"data's \[0, 1\].*divide by 255"):
        on_floats.predict(X)
    on_pixels = SkMNISTClassifier(**FAST).fit(X, y)
    with pytest.warns(UserWarning, match=r"span \[0, 1\], the training data's \[0, 255\]"):
        on_pixels.predict_proba(X / 255.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right scale, one image, a blank image: silent
        on_pixels.predict(X[:7])
        on_pixels.predict(X[:1])
        on_pixels.predict(np.zeros((2, 784)))
        on_floats.predict(X[:7] / 255.0)
    tuner = SkMNISTFineTuner(on_floats, **FAST).fit(X / 255.0, y)
    with pytest.warns(UserWarning, match="SkMNISTFineTuner was fitted on"):
        tuner.predict(X)


def test_unknown_arch_suggests_the_close_name_or_explains_registration(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"Unknown arch='cnnn'\. Known architectures: 'auto', "
                                         r"'cnn'.*Did you mean 'cnn'\?$"):
        SkMNISTClassifier(arch="cnnn", **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"Did you mean 'mlp'\?"):
        SkMNISTClassifier(arch="MPL", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="Known architectures.*registered with skmnist.models"
                                         ".register_model: registrations exist only"):
        SkMNISTClassifier(arch="resnet50", **FAST).fit(X, y)


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_verbose_shows_a_progress_bar_on_a_terminal(digits, monkeypatch, capsys):
    X, y = digits
    tty = _Tty()
    monkeypatch.setattr(_engine.sys, "stderr", tty)
    SkMNISTClassifier(max_epochs=2, verbose=1, batch_size=8, device="cpu",
                      random_state=0).fit(X, y)
    drawn = tty.getvalue()
    assert "epoch 1/2" in drawn and "epoch 2/2" in drawn and "batch" in drawn
    assert "left" in drawn  # the time left for the fit, from the second epoch on
    assert "train_loss" in capsys.readouterr().out  # and the epoch table on stdout
    tty.truncate(0)
    SkMNISTClassifier(max_epochs=1, batch_size=8, device="cpu", random_state=0).fit(X, y)
    assert tty.getvalue() == ""  # verbose=0: silent
