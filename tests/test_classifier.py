"""SkMNISTClassifier (skmnist/_classifier.py): the issue's acceptance list, point by point.

Fits are tiny (200 MNIST images or 300 8x8 digits, 1-3 epochs, 4 conv
channels, 16 hidden units), seeded and on the CPU.
"""

import copy
import doctest
import inspect
import math
import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score
from skorch import NeuralNet
from skorch.history import History
from torch import nn

from skmnist import SkMNISTClassifier
from skmnist._engine import SkorchEngineNet
from skmnist.models import _registry, list_models, register_model

FAST = dict(device="cpu", random_state=0, max_epochs=1)

# Every fitted attribute (input_mean_/input_std_ are None with input_scaling=None;
# feature_names_in_ exists only for DataFrames with string column names).
FITTED_ATTRIBUTES = ["classes_", "n_features_in_", "input_shape_", "arch_", "input_mean_",
                     "input_std_", "device_", "net_", "module_", "history_", "n_iter_"]


def small_cnn(**params):
    return SkMNISTClassifier(**{"channels": (4,), "hidden_units": (16,), **FAST, **params})


def small_mlp(**params):
    return SkMNISTClassifier(**{"arch": "mlp", "hidden_units": (16,), **FAST, **params})


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def same_weights(a, b):
    """Trainable parameters equal (batch-norm running statistics aside)."""
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def modules_of(clf, kind):
    return [m for m in clf.module_.modules() if isinstance(m, kind)]


@pytest.fixture(scope="module")
def fitted_cnn(mnist_subset):
    X, y = mnist_subset
    return small_cnn(max_epochs=2).fit(X, y)


@pytest.fixture
def isolated_registry(monkeypatch):
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))


def tiny_linear(*, in_channels, height, width, n_classes, bias=True):
    """A builder callable used as ``arch``."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * height * width, n_classes,
                                                 bias=bias))


# ==========================================================================
# Input layouts and types
# ==========================================================================


def test_flat_784_is_read_as_28x28_images(fitted_cnn):
    assert fitted_cnn.input_shape_ == (1, 28, 28)
    assert fitted_cnn.n_features_in_ == 784
    assert fitted_cnn.arch_ == "cnn"
    assert [m.in_channels for m in modules_of(fitted_cnn, nn.Conv2d)] == [1]


def test_flat_64_is_read_as_8x8_images(digits_subset):
    X, y = digits_subset
    clf = small_cnn(arch="auto").fit(X, y)
    assert clf.input_shape_ == (1, 8, 8)
    assert clf.arch_ == "cnn"
    assert clf.n_features_in_ == 64


@pytest.mark.parametrize("layout", ["hw", "chw"])
def test_image_arrays(mnist_subset, layout):
    X, y = mnist_subset
    images = X.reshape(-1, 28, 28) if layout == "hw" else X.reshape(-1, 1, 28, 28)
    clf = small_cnn(arch="auto").fit(images, y)
    assert clf.input_shape_ == (1, 28, 28)
    assert clf.n_features_in_ == 784
    assert clf.arch_ == "cnn"
    assert clf.predict(images).shape == (len(y),)


def test_multichannel_images(digits_subset):
    X, y = digits_subset
    rng = np.random.RandomState(0)
    images = np.stack([X.reshape(-1, 8, 8), rng.rand(len(X), 8, 8), 16 - X.reshape(-1, 8, 8)],
                      axis=1)
    clf = small_cnn().fit(images, y)
    assert clf.input_shape_ == (3, 8, 8)
    assert clf.n_features_in_ == 192
    assert modules_of(clf, nn.Conv2d)[0].in_channels == 3
    # Flat rows of the same images are read back as (3, 8, 8) images.
    assert_array_equal(clf.predict_proba(images.reshape(len(X), -1)), clf.predict_proba(images))


def test_uint8_and_float_pixels_give_the_same_model(mnist_subset):
    X, y = mnist_subset
    a = small_cnn().fit(X, y)
    b = small_cnn().fit(X.astype(np.float64), y)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X.astype(np.float32)))


def test_lists_give_the_same_model_as_arrays(digits_subset):
    X, y = digits_subset
    reference = small_cnn().fit(X, y).predict_proba(X)
    from_lists = small_cnn().fit(X.tolist(), y.tolist())
    assert_array_equal(from_lists.predict_proba(X.tolist()), reference)
    images = X.reshape(-1, 8, 8)
    from_nested = small_cnn().fit(images.tolist(), list(y))
    assert from_nested.input_shape_ == (1, 8, 8)
    assert_array_equal(from_nested.predict_proba(images.tolist()), reference)


def test_dataframe_input(digits_subset):
    X, y = digits_subset
    columns = [f"px{i}" for i in range(64)]
    df = pd.DataFrame(X, columns=columns)
    clf = small_cnn().fit(df, pd.Series(y))
    assert_array_equal(clf.feature_names_in_, columns)
    assert clf.input_shape_ == (1, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = clf.predict_proba(df)
    assert_array_equal(proba, small_cnn().fit(X, y).predict_proba(X))
    # A later fit on arrays forgets the column names.
    clf.fit(X.reshape(-1, 8, 8), y)
    assert not hasattr(clf, "feature_names_in_")


def test_auto_arch_tabular_is_mlp():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 10)) * [1, 10, 100, 1, 1, 1, 1, 1, 1, 1000]
    y = (X[:, 0] > 0).astype(int)
    clf = SkMNISTClassifier(hidden_units=(16,), **FAST).fit(X, y)
    assert clf.arch_ == "mlp"
    assert clf.input_shape_ == (1, 1, 10)
    assert clf.n_features_in_ == 10
    # "standard" scaling is per feature for tabular input.
    assert clf.input_mean_.shape == (1, 1, 10)
    assert_allclose(clf.input_mean_.ravel(), X.mean(axis=0), rtol=1e-5)
    assert_allclose(clf.input_std_.ravel(), X.std(axis=0), rtol=1e-5)


def test_auto_arch_small_square_feature_count_is_tabular():
    X = np.random.RandomState(0).rand(40, 4)  # 2x2 is too small to be an image
    y = np.arange(40) % 2
    clf = SkMNISTClassifier(hidden_units=(8,), **FAST).fit(X, y)
    assert clf.arch_ == "mlp"
    assert clf.input_shape_ == (1, 1, 4)


def test_images_are_standardised_per_channel():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 3, 4, 4) * [[[1]], [[2]], [[4]]] + np.array([0, 10, 20])[:, None, None]
    y = np.arange(40) % 2
    clf = small_cnn().fit(X, y)
    assert clf.input_mean_.shape == (3, 1, 1)
    assert_allclose(clf.input_mean_.ravel(), X.mean(axis=(0, 2, 3)), rtol=1e-5)
    assert_allclose(clf.input_std_.ravel(), X.std(axis=(0, 2, 3)), rtol=1e-5)


@pytest.mark.parametrize(
    ("image_shape", "expected"),
    [((3, 4, 4), (3, 4, 4)), ((4, 12), (1, 4, 12)), ([6, 8], (1, 6, 8)), ((1, 48), (1, 1, 48)),
     ((3, -1, 4), (3, 4, 4)), ((-1, 12), (1, 4, 12)), ((-1, 4, 4), (3, 4, 4))],
)
def test_image_shape_for_non_square_flat_input(image_shape, expected):
    rng = np.random.RandomState(0)
    X = rng.rand(40, 48)
    y = np.arange(40) % 3
    clf = small_cnn(arch="auto", image_shape=image_shape).fit(X, y)
    assert clf.input_shape_ == expected
    assert clf.arch_ == "cnn"
    assert clf.n_features_in_ == 48
    assert_array_equal(clf.predict_proba(X.reshape((40,) + expected)), clf.predict_proba(X))


# ==========================================================================
# Predicting on the other layout, wrong shapes
# ==========================================================================


def test_predict_accepts_the_other_layout(fitted_cnn, mnist_subset):
    X, _ = mnist_subset
    flat = fitted_cnn.predict_proba(X)
    assert_array_equal(fitted_cnn.predict_proba(X.reshape(-1, 28, 28)), flat)
    assert_array_equal(fitted_cnn.predict_proba(X.reshape(-1, 1, 28, 28)), flat)


def test_fit_on_images_predict_flat(mnist_subset):
    X, y = mnist_subset
    clf = small_cnn().fit(X.reshape(-1, 28, 28), y)
    assert_array_equal(clf.predict(X), clf.predict(X.reshape(-1, 28, 28)))
    assert_array_equal(clf.predict_proba(X), clf.predict_proba(X.reshape(-1, 1, 28, 28)))


def test_predict_wrong_feature_count(fitted_cnn, mnist_subset):
    X, _ = mnist_subset
    with pytest.raises(ValueError, match="X has 783 features, but .* expecting 784 features"):
        fitted_cnn.predict(X[:, :783])


@pytest.mark.parametrize("shape", [(27, 27), (1, 28, 27), (3, 28, 28), (28, 28, 1)], ids=str)
def test_predict_wrong_image_shape(fitted_cnn, shape):
    X = np.zeros((2,) + shape, dtype=np.uint8)
    with pytest.raises(ValueError, match=r"fitted on images of shape \(1, 28, 28\)") as exc:
        fitted_cnn.predict(X)
    assert str(shape).replace(" ", "") in str(exc.value).replace(" ", "")


def test_predict_rejects_5d_and_nan(fitted_cnn):
    with pytest.raises(ValueError, match="X must be 2-D"):
        fitted_cnn.predict(np.zeros((2, 1, 1, 28, 28)))
    X = np.zeros((2, 784))
    X[1, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fitted_cnn.predict(X)


# ==========================================================================
# Labels
# ==========================================================================


LABEL_SETS = {
    "strings": np.array(["zero", "one", "two"]),
    "minus_one_one": np.array([-1, 1]),
    "three_seven": np.array([3, 7]),
    "object": np.array(["b", "a", "c"], dtype=object),
    "whole_floats": np.array([1.0, 2.0, 3.0]),
    "bool": np.array([False, True]),
    "unsorted_ints": np.array([100, -5, 42]),
}


@pytest.mark.parametrize("labels", LABEL_SETS.values(), ids=LABEL_SETS.keys())
def test_labels_of_any_kind(digits_subset, labels):
    X, digit = digits_subset
    keep = digit < len(labels)
    X, y = X[keep], labels[digit[keep]]
    clf = small_mlp(max_epochs=5, lr=1e-2, batch_size=16).fit(X, y)
    assert_array_equal(clf.classes_, np.unique(labels))
    assert clf.classes_.dtype == np.unique(labels).dtype
    pred = clf.predict(X)
    assert pred.dtype == clf.classes_.dtype
    assert set(pred) <= set(clf.classes_)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(labels))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-10)
    assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])
    assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-6, atol=1e-9)
    # Columns follow classes_: the column of each sample's true label is the big one.
    true_col = np.searchsorted(clf.classes_, y) if labels.dtype != object else \
        np.array([list(clf.classes_).index(v) for v in y])
    assert proba[np.arange(len(y)), true_col].mean() > 0.8
    score = clf.score(X, y)
    assert score == accuracy_score(y, pred)
    assert score > 0.9


def test_column_vector_y_is_accepted_with_warning(digits_two_classes):
    X, y = digits_two_classes
    with pytest.warns(Warning, match="column-vector y"):
        clf = small_mlp().fit(X, y.reshape(-1, 1))
    assert_array_equal(clf.classes_, [0, 1])


# ==========================================================================
# partial_fit
# ==========================================================================


def test_partial_fit_is_exactly_one_epoch(digits_subset):
    X, y = digits_subset
    clf = small_mlp(max_epochs=5)
    assert clf.partial_fit(X, y, classes=np.unique(y)) is clf
    assert clf.n_iter_ == 1
    assert len(clf.history_) == 1
    before = state(clf.module_)
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 2
    assert len(clf.history_) == 2
    assert not same_state(before, state(clf.module_))


def test_partial_fit_requires_classes_first(digits_subset):
    X, y = digits_subset
    clf = small_mlp()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "net_")


def test_partial_fit_classes_may_exceed_the_first_batch(digits_subset):
    X, y = digits_subset
    clf = small_mlp().partial_fit(X[y < 2], y[y < 2], classes=np.arange(10))
    assert_array_equal(clf.classes_, np.arange(10))
    assert clf.predict_proba(X).shape == (len(X), 10)
    clf.partial_fit(X[y >= 5], y[y >= 5])
    assert clf.n_iter_ == 2


def test_partial_fit_labels_outside_classes(digits_subset):
    X, y = digits_subset
    with pytest.raises(ValueError, match=r"labels \[2, 3, .*\] that are not in classes=\[0, 1\]"):
        small_mlp().partial_fit(X, y, classes=[0, 1])
    clf = small_mlp().partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    with pytest.raises(ValueError, match=r"labels \[2, .*\] not seen in the first fit"):
        clf.partial_fit(X, y)
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] differs"):
        clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.n_iter_ == 1


def test_partial_fit_after_fit_continues(digits_subset):
    X, y = digits_subset
    clf = small_mlp(max_epochs=2, lr_schedule=None).fit(X, y)
    weights = state(clf.module_)
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 3
    assert len(clf.history_) == 3
    assert not same_state(weights, state(clf.module_))


@pytest.mark.parametrize("how", ["after_fit", "after_max_epochs_partial_fits"])
def test_partial_fit_always_trains_with_default_schedule(digits_subset, how):
    X, y = digits_subset
    clf = small_mlp(max_epochs=2)
    if how == "after_fit":
        clf.fit(X, y)
    else:
        clf.partial_fit(X, y, classes=np.unique(y))
        clf.partial_fit(X, y)
    weights = state(clf.module_)
    clf.partial_fit(X, y)
    assert not same_state(weights, state(clf.module_))


# ==========================================================================
# warm_start
# ==========================================================================


@pytest.fixture
def fit_loop_starts(monkeypatch):
    """The module's state at the start of every epoch (the engine runs one fit_loop each)."""
    starts = []
    original = SkorchEngineNet.fit_loop

    def recording_fit_loop(self, *args, **kwargs):
        starts.append(state(self.module_))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SkorchEngineNet, "fit_loop", recording_fit_loop)
    return starts


def test_warm_start_continues_from_current_weights(mnist_subset, fit_loop_starts):
    X, y = mnist_subset
    clf = small_cnn(max_epochs=3, warm_start=True, lr_schedule=None, dropout=0.0)
    clf.fit(X, y)
    end_of_first = state(clf.module_)
    losses_first = clf.history_[:, "train_loss"]
    assert clf.n_iter_ == 3 and len(clf.history_) == 3
    clf.fit(X, y)
    assert clf.n_iter_ == 6
    assert len(clf.history_) == 6
    assert [row["epoch"] for row in clf.history_] == [1, 2, 3, 4, 5, 6]
    assert len(fit_loop_starts) == 6
    assert same_state(fit_loop_starts[3], end_of_first)
    losses = clf.history_[:, "train_loss"]
    assert losses[:3] == losses_first
    assert losses[3] < losses[0]
    assert losses[5] < losses[2]


def test_cold_start_reinitialises(mnist_subset, fit_loop_starts):
    X, y = mnist_subset
    clf = small_cnn(max_epochs=3, warm_start=False, lr_schedule=None)
    clf.fit(X, y)
    end_of_first = state(clf.module_)
    first_net = clf.net_
    clf.fit(X, y)
    assert clf.net_ is not first_net
    assert clf.n_iter_ == 3
    assert len(clf.history_) == 3
    assert len(fit_loop_starts) == 6
    assert not same_state(fit_loop_starts[3], end_of_first)
    assert same_state(fit_loop_starts[3], fit_loop_starts[0])  # same seed, same init
    assert same_state(state(clf.module_), end_of_first)  # and the same training


def test_warm_start_new_labels(digits_subset):
    X, y = digits_subset
    clf = small_mlp(warm_start=True).fit(X[y < 3], y[y < 3])
    with pytest.raises(ValueError, match=r"labels \[3, .*\] not seen in the first fit"):
        clf.fit(X, y)
    assert_array_equal(clf.classes_, [0, 1, 2])
    clf.set_params(warm_start=False).fit(X, y)
    assert_array_equal(clf.classes_, np.arange(10))


def test_warm_start_subset_of_labels_is_fine(digits_subset):
    X, y = digits_subset
    clf = small_mlp(warm_start=True).fit(X, y)
    clf.fit(X[y < 2], y[y < 2])
    assert_array_equal(clf.classes_, np.arange(10))
    assert clf.n_iter_ == 2


def test_warm_start_every_epoch_trains_with_cosine_schedule(digits_subset):
    X, y = digits_subset
    clf = small_mlp(max_epochs=3, warm_start=True, lr_schedule="cosine").fit(X, y)
    clf.fit(X, y)
    lrs = clf.history_[:, "event_lr"]
    assert len(lrs) == 6
    assert min(lrs) > 0, lrs


# ==========================================================================
# random_state
# ==========================================================================


def test_same_seed_same_model(mnist_subset):
    X, y = mnist_subset
    params = dict(max_epochs=2, dropout=0.25, validation_fraction=0.2, random_state=3)
    a = small_cnn(**params).fit(X, y)
    b = small_cnn(**params).fit(X, y)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.history_[:, "train_loss"] == b.history_[:, "train_loss"]
    assert a.history_[:, "valid_loss"] == b.history_[:, "valid_loss"]
    assert same_state(state(a.module_), state(b.module_))


def test_different_seeds_different_models(mnist_subset):
    X, y = mnist_subset
    a = small_cnn(random_state=0).fit(X, y)
    b = small_cnn(random_state=1).fit(X, y)
    assert not same_weights(a.module_, b.module_)
    assert not np.array_equal(a.predict_proba(X), b.predict_proba(X))


def test_random_state_instance(digits_two_classes):
    X, y = digits_two_classes
    a = small_mlp(random_state=np.random.RandomState(5)).fit(X, y)
    b = small_mlp(random_state=np.random.RandomState(5)).fit(X, y)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.parametrize("random_state", [0, None])
def test_fit_leaves_torch_global_rng_alone(mnist_subset, random_state):
    X, y = mnist_subset
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    clf = small_cnn(dropout=0.5, random_state=random_state, max_epochs=2,
                    validation_fraction=0.2).fit(X, y)
    clf.predict_proba(X)
    clf.partial_fit(X, y)
    assert torch.equal(torch.get_rng_state(), before)


def test_fit_leaves_numpy_global_rng_alone_with_int_seed(digits_two_classes):
    X, y = digits_two_classes
    np.random.seed(7)
    before = np.random.get_state()
    small_mlp(validation_fraction=0.2, random_state=0).fit(X, y)
    after = np.random.get_state()
    assert_array_equal(before[1], after[1])
    assert before[2] == after[2]


def test_seeded_fit_does_not_depend_on_torch_global_rng(digits_two_classes):
    X, y = digits_two_classes
    torch.manual_seed(0)
    a = small_cnn(dropout=0.5).fit(X, y).predict_proba(X)
    torch.manual_seed(99)
    b = small_cnn(dropout=0.5).fit(X, y).predict_proba(X)
    assert_array_equal(a, b)


# ==========================================================================
# Validation and early stopping
# ==========================================================================


def test_validation_fraction_records_valid_metrics(digits_subset):
    X, y = digits_subset
    clf = small_mlp(max_epochs=2, validation_fraction=0.2).fit(X, y)
    assert len(clf.history_) == 2
    for row in clf.history_:
        assert np.isfinite(row["valid_loss"]) and row["valid_loss"] > 0
        assert 0.0 <= row["valid_acc"] <= 1.0
        assert np.isfinite(row["train_loss"])
    # 20% of 300 held out: 240 samples trained in batches of 32.
    assert clf.history_[0, "train_batch_count"] == math.ceil(240 / 32)


def test_no_validation_without_validation_fraction(digits_subset):
    X, y = digits_subset
    clf = small_mlp().fit(X, y)
    assert "valid_loss" not in clf.history_[-1]
    assert "valid_acc" not in clf.history_[-1]


@pytest.mark.parametrize("validation_fraction", [None, 0.25])
def test_early_stopping_on_plateau(digits_subset, validation_fraction):
    X, y = digits_subset
    clf = small_mlp(lr=1e-9, lr_schedule=None, n_iter_no_change=2, max_epochs=20,
                    validation_fraction=validation_fraction).fit(X, y)
    # Epoch 1 improves on +inf; epochs 2 and 3 do not improve by tol.
    assert clf.n_iter_ == 3
    assert len(clf.history_) == 3


def test_no_early_stopping_while_improving(digits_subset):
    X, y = digits_subset
    clf = small_mlp(lr=1e-2, n_iter_no_change=1, tol=0.0, max_epochs=4).fit(X, y)
    losses = clf.history_[:, "train_loss"]
    assert all(b < a for a, b in zip(losses, losses[1:]))  # improving every epoch ...
    assert clf.n_iter_ == 4  # ... so patience 1 never runs out


def test_early_stopping_restores_best_weights_with_validation(digits_subset):
    X, y = digits_subset
    common = dict(lr=1e-2, lr_schedule=None, validation_fraction=0.2)
    # tol is huge: only epoch 1 counts as an improvement, training stops after epoch 2
    # and the weights of epoch 1 come back.
    stopped = small_mlp(n_iter_no_change=1, tol=100.0, max_epochs=10, **common).fit(X, y)
    assert stopped.n_iter_ == 2
    one_epoch = small_mlp(max_epochs=1, **common).fit(X, y)
    assert same_state(state(stopped.module_), state(one_epoch.module_))
    assert_array_equal(stopped.predict_proba(X), one_epoch.predict_proba(X))
    # Without a validation set nothing is restored: the weights are epoch 2's.
    no_valid = small_mlp(n_iter_no_change=1, tol=100.0, max_epochs=10, lr=1e-2,
                         lr_schedule=None).fit(X, y)
    assert no_valid.n_iter_ == 2
    two_epochs = small_mlp(max_epochs=2, lr=1e-2, lr_schedule=None).fit(X, y)
    assert same_state(state(no_valid.module_), state(two_epochs.module_))


@pytest.mark.parametrize(("n", "validation_fraction"), [(4, 0.9), (4, 0.75), (3, 0.5)])
def test_validation_fraction_too_large_for_tiny_data(digits_two_classes, n,
                                                     validation_fraction):
    X, y = digits_two_classes
    X, y = X[:n], np.arange(n) % 2
    clf = small_mlp(validation_fraction=validation_fraction)
    with pytest.raises(ValueError, match=rf"validation_fraction={validation_fraction} leaves"):
        clf.fit(X, y)


# ==========================================================================
# Learning-rate schedules and optimizers
# ==========================================================================


def test_lr_schedule_none_keeps_lr(digits_two_classes):
    X, y = digits_two_classes
    clf = small_mlp(lr=0.01, lr_schedule=None, max_epochs=3).fit(X, y)
    assert "event_lr" not in clf.history_[-1]
    assert clf.net_.optimizer_.param_groups[0]["lr"] == 0.01


def test_lr_schedule_cosine(digits_two_classes):
    X, y = digits_two_classes
    clf = small_mlp(lr=0.01, lr_schedule="cosine", max_epochs=4).fit(X, y)
    expected = [0.01 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    assert clf.history_[:, "event_lr"] == pytest.approx(expected)
    # The cosine restarts every max_epochs epochs: the next epoch (a
    # partial_fit call) trains at the full learning rate again.
    assert clf.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.01)


@pytest.mark.parametrize(("max_epochs", "expected"), [
    (3, [1, 0.1, 0.01]),
    (6, [1, 1, 0.1, 0.1, 0.01, 0.01]),
    (1, [1]),
])
def test_lr_schedule_step(digits_two_classes, max_epochs, expected):
    X, y = digits_two_classes
    clf = small_mlp(lr=0.01, lr_schedule="step", max_epochs=max_epochs).fit(X, y)
    assert clf.history_[:, "event_lr"] == pytest.approx([0.01 * f for f in expected])


OPTIMIZERS = [
    ("adam", torch.optim.Adam),
    ("adamw", torch.optim.AdamW),
    ("sgd", torch.optim.SGD),
    ("rmsprop", torch.optim.RMSprop),
    (torch.optim.Adagrad, torch.optim.Adagrad),
    (torch.optim.SGD, torch.optim.SGD),
]


@pytest.mark.parametrize(("optimizer", "cls"), OPTIMIZERS, ids=lambda o: getattr(o, "__name__", o))
def test_optimizer_choice_and_weight_decay(digits_two_classes, optimizer, cls):
    X, y = digits_two_classes
    clf = small_mlp(optimizer=optimizer, lr=0.005, weight_decay=0.125, lr_schedule=None)
    clf.fit(X, y)
    opt = clf.net_.optimizer_
    assert type(opt) is cls
    group = opt.param_groups[0]
    assert group["lr"] == 0.005
    assert group["weight_decay"] == 0.125
    if optimizer == "sgd":
        assert group["momentum"] == 0.9 and group["nesterov"] is True
    # Optimizers named by string use torch's fused update; classes are left alone.
    # (RMSprop has no fused update.)
    expected = isinstance(optimizer, str) and optimizer != "rmsprop"
    assert bool(group.get("fused")) is expected
    assert clf.n_iter_ == 1
    assert np.isfinite(clf.history_[-1, "train_loss"])


@pytest.mark.parametrize(
    "optimizer",
    [
        "adam",
        "adamw",
        "sgd",
        "rmsprop",
    ],
)
def test_zero_weight_decay_means_no_decay(digits_two_classes, optimizer):
    X, y = digits_two_classes
    clf = small_mlp(optimizer=optimizer, weight_decay=0.0).fit(X, y)
    assert clf.net_.optimizer_.param_groups[0]["weight_decay"] == 0.0


def test_fused_update_computes_what_the_default_loop_computes(digits_two_classes):
    # The fused kernel reorders no reduction: the same weights up to rounding.
    X, y = digits_two_classes
    fused = small_mlp(optimizer="adam", lr_schedule=None).fit(X, y)
    loop = small_mlp(optimizer=torch.optim.Adam, lr_schedule=None).fit(X, y)
    assert fused.net_.optimizer_.param_groups[0]["fused"] is True
    assert not loop.net_.optimizer_.param_groups[0].get("fused")
    for a, b in zip(fused.module_.parameters(), loop.module_.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_weight_decay_changes_training(digits_two_classes):
    X, y = digits_two_classes
    a = small_mlp(weight_decay=0.0, optimizer="sgd").fit(X, y)
    b = small_mlp(weight_decay=0.5, optimizer="sgd").fit(X, y)
    assert not same_weights(a.module_, b.module_)


# ==========================================================================
# Architectures and their hyperparameters
# ==========================================================================


@pytest.mark.parametrize("arch", list_models())
def test_every_registered_arch_fits(digits_subset, arch):
    X, y = digits_subset
    clf = SkMNISTClassifier(arch=arch, **FAST).fit(X, y)
    assert clf.arch_ == arch
    assert clf.predict_proba(X).shape == (len(X), 10)


def test_cnn_hyperparameters_reach_the_module(mnist_subset):
    X, y = mnist_subset
    clf = SkMNISTClassifier(arch="cnn", channels=(8, 16), hidden_units=(12,), dropout=0.3,
                            batch_norm=False, **FAST).fit(X, y)
    assert [m.out_channels for m in modules_of(clf, nn.Conv2d)] == [8, 16]
    assert [m.out_features for m in modules_of(clf, nn.Linear)] == [12, 10]
    drops = modules_of(clf, nn.Dropout)
    assert drops and all(m.p == 0.3 for m in drops)
    assert not modules_of(clf, nn.BatchNorm2d)


def test_mlp_hyperparameters_reach_the_module(digits_subset):
    X, y = digits_subset
    clf = SkMNISTClassifier(arch="mlp", hidden_units=[16, 8], dropout=0.2, **FAST).fit(X, y)
    linears = modules_of(clf, nn.Linear)
    assert [(m.in_features, m.out_features) for m in linears] == [(64, 16), (16, 8), (8, 10)]
    assert [m.p for m in modules_of(clf, nn.Dropout)] == [0.2, 0.2]


def test_lenet5_dropout_reaches_the_module(digits_subset):
    X, y = digits_subset
    clf = SkMNISTClassifier(arch="lenet5", dropout=0.15, **FAST).fit(X, y)
    assert {m.p for m in modules_of(clf, nn.Dropout)} == {0.15}


def test_module_params_reach_the_module(digits_subset):
    X, y = digits_subset
    clf = SkMNISTClassifier(arch="cnn", module_params={"channels": (6,), "batch_norm": False},
                            **FAST).fit(X, y)
    assert [m.out_channels for m in modules_of(clf, nn.Conv2d)] == [6]
    assert not modules_of(clf, nn.BatchNorm2d)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (dict(arch="lenet5", channels=(8,)), r"arch='lenet5' does not take channels"),
        (dict(arch="lenet5", hidden_units=(8,)), r"arch='lenet5' does not take hidden_units"),
        (dict(arch="mlp", channels=(8,)), r"arch='mlp' does not take channels"),
        (dict(arch="mlp", batch_norm=True), r"arch='mlp' does not take batch_norm"),
        (dict(arch="cnn", module_params={"depth": 3}), r"arch='cnn' does not take depth"),
        (dict(arch="auto", image_shape=None, channels=(8,), module_params={"foo": 1}),
         r"does not take foo"),
    ],
)
def test_hyperparameter_the_arch_does_not_take(digits_subset, params, match):
    X, y = digits_subset
    with pytest.raises(ValueError, match=match):
        SkMNISTClassifier(**params, **FAST).fit(X, y)


def test_invalid_hyperparameter_value_names_it(digits_subset):
    X, y = digits_subset
    with pytest.raises(ValueError, match="dropout"):
        small_cnn(dropout=1.5).fit(X, y)
    with pytest.raises(ValueError, match="channels"):
        small_cnn(channels=(4, -1)).fit(X, y)


def test_callable_arch(digits_subset):
    X, y = digits_subset
    clf = SkMNISTClassifier(arch=tiny_linear, module_params={"bias": False}, lr=0.01,
                            **{**FAST, "max_epochs": 3}).fit(X, y)
    assert clf.arch_ == "tiny_linear"
    assert isinstance(clf.module_, nn.Sequential)
    assert clf.module_[1].bias is None
    assert clf.module_[1].in_features == 64
    assert clf.score(X, y) > 0.5
    with pytest.raises(ValueError, match="does not take hidden_units"):
        SkMNISTClassifier(arch=tiny_linear, hidden_units=(4,), **FAST).fit(X, y)


def test_callable_arch_with_var_kwargs_receives_everything(digits_subset):
    X, y = digits_subset
    received = {}

    def builder(*, in_channels, height, width, n_classes, **kwargs):
        received.update(kwargs, shape=(in_channels, height, width, n_classes))
        return tiny_linear(in_channels=in_channels, height=height, width=width,
                           n_classes=n_classes)

    SkMNISTClassifier(arch=builder, hidden_units=[4], module_params={"x": 1}, **FAST).fit(X, y)
    assert received == {"hidden_units": (4,), "x": 1, "shape": (1, 8, 8, 10)}


def test_callable_arch_must_build_a_module(digits_subset):
    X, y = digits_subset

    def not_a_module(*, in_channels, height, width, n_classes):
        return "nope"

    with pytest.raises(ValueError, match="must build a torch.nn.Module"):
        SkMNISTClassifier(arch=not_a_module, **FAST).fit(X, y)


def test_newly_registered_arch_is_usable_by_name(digits_subset, isolated_registry):
    X, y = digits_subset
    register_model("tiny_linear_test")(tiny_linear)
    clf = SkMNISTClassifier(arch="tiny_linear_test", module_params={"bias": False},
                            **FAST).fit(X, y)
    assert clf.arch_ == "tiny_linear_test"
    assert clf.module_[1].bias is None


# ==========================================================================
# Bad input and bad parameters
# ==========================================================================


def _bad_data_cases():
    rng = np.random.RandomState(0)
    X = rng.rand(20, 64)
    y = np.arange(20) % 2
    with_nan = X.copy()
    with_nan[3, 7] = np.nan
    with_inf = X.reshape(20, 8, 8).copy()
    with_inf[0, 0, 0] = np.inf
    return [
        pytest.param({}, with_nan, y, r"Input X contains NaN", id="nan"),
        pytest.param({}, with_inf, y, r"Input X contains infinity", id="inf-images"),
        pytest.param({}, X[:, :0][:0], y[:0], r"0 sample\(s\)", id="empty"),
        pytest.param({}, X[:0], y[:0], r"0 sample\(s\)", id="no-samples"),
        pytest.param({}, np.zeros((0, 8, 8)), y[:0], r"0 sample\(s\)", id="no-images"),
        pytest.param({}, X, y[:-1], r"different numbers of samples: 20 and 19",
                     id="length-mismatch"),
        pytest.param({}, X, np.zeros(20), r"at least 2 classes", id="one-class"),
        pytest.param({}, X, np.c_[y, y], r"y should be a 1d array", id="2d-y"),
        pytest.param({}, X, rng.rand(20), r"Unknown label type: continuous",
                     id="continuous-y"),
        pytest.param({}, X, None, r"requires y", id="y-none"),
        pytest.param({}, X.reshape(20, 1, 1, 8, 8), y, r"X must be 2-D .*3-D .*4-D",
                     id="5d-X"),
        # (48 = 3 * 4 * 4 values would be read as an RGB image: see _shapes.py's policy.)
        pytest.param({"arch": "cnn"}, X[:, :50], y, r"Pass image_shape=\(height, width\)",
                     id="non-square-cnn"),
        pytest.param({"arch": "lenet5"}, X[:, :10], y, r"arch='lenet5' needs images.*image_shape",
                     id="non-square-lenet5"),
        pytest.param({"image_shape": (5, 5)}, X[:, :48], y,
                     r"image_shape=\(5, 5\) holds 25 values per image, but X has 48 features",
                     id="image-shape-vs-features"),
        pytest.param({"image_shape": (2, 8, 8)}, X, y,
                     r"image_shape=\(2, 8, 8\) holds 128 values per image, but X has 64 features",
                     id="image-shape-channels-vs-features"),
        pytest.param({"image_shape": (5, -1)}, X[:, :48], y,
                     r"image_shape=\(5, -1\) cannot hold 48 features .* not a multiple of 5",
                     id="image-shape-inferred-vs-features"),
        pytest.param({"image_shape": (4, 16)}, X.reshape(20, 8, 8), y,
                     r"image_shape=\(4, 16\) does not match the images in X",
                     id="image-shape-vs-images"),
    ]


@pytest.mark.parametrize(("params", "X", "y", "match"), _bad_data_cases())
def test_bad_data_is_value_error(params, X, y, match):
    small = {} if params.get("arch") == "lenet5" else {"channels": (4,)}
    clf = SkMNISTClassifier(**small, **FAST, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_unknown_arch_lists_known_ones(digits_subset):
    X, y = digits_subset
    with pytest.raises(ValueError, match=r"Unknown arch='resnet'") as exc:
        SkMNISTClassifier(arch="resnet", **FAST).fit(X, y)
    for name in ["auto"] + list_models():
        assert f"'{name}'" in str(exc.value)


BAD_PARAMS = [
    (dict(lr=0), r"lr must be > 0, got 0"),
    (dict(lr=-1e-3), r"lr must be > 0"),
    (dict(lr=float("nan")), r"lr must be a finite number"),
    (dict(lr="0.1"), r"lr must be a finite number"),
    (dict(batch_size=0), r"batch_size must be >= 1, got 0"),
    (dict(batch_size=2.5), r"batch_size must be an integer"),
    (dict(max_epochs=0), r"max_epochs must be >= 1, got 0"),
    (dict(max_epochs=True), r"max_epochs must be an integer"),
    (dict(validation_fraction=1.5), r"validation_fraction must be < 1, got 1.5"),
    (dict(validation_fraction=1.0), r"validation_fraction must be < 1"),
    (dict(validation_fraction=0.0), r"validation_fraction must be > 0"),
    (dict(precision="64"), r"precision must be one of '32', 'bf16', '16'; got '64'"),
    (dict(precision=32), r"precision must be one of"),
    (dict(optimizer="foo"), r"optimizer must be one of 'adam', 'adamw', 'sgd', 'rmsprop'"),
    (dict(optimizer=torch.nn.Linear), r"optimizer must be one of .* torch.optim.Optimizer"),
    (dict(optimizer=torch.optim.Adam(nn.Linear(1, 1).parameters())), r"optimizer must be"),
    (dict(lr_schedule="bar"), r"lr_schedule must be one of None, 'cosine', 'step'; got 'bar'"),
    (dict(device="tpu"), r"device='tpu' is not a valid device"),
    (dict(device="cuda"), r"device='cuda' but CUDA is not available"),
    (dict(device="cuda:1"), r"CUDA is not available"),
    (dict(input_scaling="minmax"), r"input_scaling must be one of 'standard', None"),
    (dict(weight_decay=-0.1), r"weight_decay must be >= 0"),
    (dict(n_iter_no_change=0), r"n_iter_no_change must be >= 1"),
    (dict(tol=-1e-4), r"tol must be >= 0"),
    (dict(verbose=-1), r"verbose must be >= 0"),
    (dict(warm_start="yes"), r"warm_start must be True or False"),
    (dict(random_state="seed"), r"random_state must be None, an int or a numpy RandomState"),
    (dict(random_state=1.5), r"random_state must be"),
    (dict(module_params=[("channels", (4,))]), r"module_params must be a dict or None"),
    (dict(image_shape=(0, 8)), r"image_shape must be \(height, width\) or"),
    (dict(image_shape=(1, 1, 8, 8)), r"image_shape must be"),
    (dict(image_shape=8), r"image_shape must be"),
    (dict(image_shape=(-1, -1)), r"image_shape must be .* \(one may be -1"),
    (dict(image_shape=(-2, 8)), r"image_shape must be"),
    (dict(arch=3), r"arch must be 'auto', a registered name \(cnn, lenet5, mlp"),
    (dict(arch="CNN"), r"Unknown arch='CNN'"),
]


@pytest.mark.parametrize(("params", "match"), BAD_PARAMS,
                         ids=[f"{k}={v!r}"[:40] for p, _ in BAD_PARAMS for k, v in p.items()])
def test_invalid_parameter_is_value_error_at_fit(digits_two_classes, params, match):
    X, y = digits_two_classes
    clf = SkMNISTClassifier(**{**FAST, **params})  # __init__ does not validate
    for name, value in params.items():
        assert getattr(clf, name) is value
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    for attr in FITTED_ATTRIBUTES:
        assert not hasattr(clf, attr), attr
    with pytest.raises(ValueError, match=match):
        clf.partial_fit(X, y, classes=[0, 1])


def test_failed_fit_leaves_estimator_unfitted(digits_two_classes):
    X, y = digits_two_classes
    clf = SkMNISTClassifier(arch="lenet5", channels=(8,), **FAST)
    with pytest.raises(ValueError, match="does not take channels"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


# ==========================================================================
# Fitted attributes, parameters, cloning
# ==========================================================================


def test_not_fitted_before_fit(digits_two_classes):
    X, _ = digits_two_classes
    clf = SkMNISTClassifier()
    for attr in FITTED_ATTRIBUTES + ["feature_names_in_"]:
        assert not hasattr(clf, attr), attr
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with pytest.raises(NotFittedError):
            getattr(clf, method)(X)
    with pytest.raises(NotFittedError):
        clf.score(X, np.zeros(len(X)))


def test_fitted_attributes(fitted_cnn, mnist_subset):
    _, y = mnist_subset
    clf = fitted_cnn
    assert_array_equal(clf.classes_, np.arange(10))
    assert isinstance(clf.n_features_in_, int) and clf.n_features_in_ == 784
    assert isinstance(clf.net_, NeuralNet)
    assert isinstance(clf.module_, nn.Module)
    assert clf.module_ is clf.net_.module_
    assert isinstance(clf.history_, History)
    assert clf.history_ is clf.net_.history
    assert clf.input_shape_ == (1, 28, 28)
    assert all(type(s) is int for s in clf.input_shape_)
    assert clf.arch_ == "cnn"
    assert clf.n_iter_ == 2 == len(clf.history_)
    assert clf.device_ == torch.device("cpu")
    assert next(clf.module_.parameters()).device == torch.device("cpu")
    assert isinstance(clf.input_mean_, np.ndarray) and isinstance(clf.input_std_, np.ndarray)
    assert not hasattr(clf, "feature_names_in_")


def test_fit_returns_self(digits_two_classes):
    X, y = digits_two_classes
    clf = small_mlp()
    assert clf.fit(X, y) is clf


def test_get_set_params_and_clone_round_trip(fitted_cnn):
    params = fitted_cnn.get_params()
    assert set(params) == set(inspect.signature(SkMNISTClassifier).parameters)
    unfitted = clone(fitted_cnn)
    assert not hasattr(unfitted, "net_") and not hasattr(unfitted, "classes_")
    for name, value in unfitted.get_params().items():
        assert value == params[name], name
    rebuilt = SkMNISTClassifier(**params)
    assert rebuilt.get_params() == params
    assert unfitted.set_params(lr=0.5, channels=(8,)) is unfitted
    assert unfitted.lr == 0.5 and unfitted.channels == (8,)
    assert fitted_cnn.lr == params["lr"]
    with pytest.raises(ValueError, match="Invalid parameter"):
        unfitted.set_params(not_a_param=1)


def test_fit_never_mutates_parameters(mnist_subset):
    X, y = mnist_subset
    hidden, channels, module_params, image_shape = [16], [4], {"batch_norm": False}, [28, 28]
    clf = SkMNISTClassifier(hidden_units=hidden, channels=channels, module_params=module_params,
                            image_shape=image_shape, **FAST)
    before = copy.deepcopy(clf.get_params())
    clf.fit(X, y)
    clf.partial_fit(X, y)
    after = clf.get_params()
    assert after == before
    assert after["hidden_units"] is hidden and hidden == [16]
    assert after["channels"] is channels and channels == [4]
    assert after["module_params"] is module_params and module_params == {"batch_norm": False}
    assert after["image_shape"] is image_shape and image_shape == [28, 28]
    assert clone(clf).get_params() == before


def test_fit_does_not_modify_X(digits_subset):
    X, y = digits_subset
    X32 = np.ascontiguousarray(X, dtype=np.float32)  # writable, no conversion copy needed
    original = X32.copy()
    clf = small_cnn(input_scaling=None).fit(X32, y)
    clf.predict_proba(X32)
    assert_array_equal(X32, original)


def test_verbose_prints_a_table(digits_two_classes, capsys):
    X, y = digits_two_classes
    small_mlp(verbose=0).fit(X, y)
    assert capsys.readouterr().out == ""
    small_mlp(verbose=1, max_epochs=2).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out
    assert len([line for line in out.splitlines() if re.match(r"\s+\d+\s", line)]) == 2


# ==========================================================================
# Pickle and deepcopy
# ==========================================================================


def test_pickle_round_trip(fitted_cnn, mnist_subset):
    X, y = mnist_subset
    restored = pickle.loads(pickle.dumps(fitted_cnn))
    assert_array_equal(restored.predict_proba(X), fitted_cnn.predict_proba(X))
    assert_array_equal(restored.classes_, fitted_cnn.classes_)
    assert restored.module_ is restored.net_.module_
    assert restored.history_ is restored.net_.history
    assert len(restored.history_) == len(fitted_cnn.history_)
    assert restored.get_params() == fitted_cnn.get_params()
    # The restored estimator trains on, independently of the original.
    expected = fitted_cnn.predict_proba(X)
    restored.set_params(lr_schedule=None).partial_fit(X, y)
    assert restored.n_iter_ == fitted_cnn.n_iter_ + 1
    assert_array_equal(fitted_cnn.predict_proba(X), expected)


def test_pickle_unfitted():
    clf = pickle.loads(pickle.dumps(SkMNISTClassifier(arch="mlp", hidden_units=(3,))))
    assert clf.hidden_units == (3,)
    assert not hasattr(clf, "net_")


def test_deepcopy(digits_subset):
    X, y = digits_subset
    clf = small_mlp(lr_schedule=None).fit(X, y)
    expected = clf.predict_proba(X)
    duplicate = copy.deepcopy(clf)
    assert_array_equal(duplicate.predict_proba(X), expected)
    assert duplicate.module_ is duplicate.net_.module_
    assert duplicate.module_ is not clf.module_
    duplicate.partial_fit(X, y)
    assert not np.array_equal(duplicate.predict_proba(X), expected)
    assert_array_equal(clf.predict_proba(X), expected)
    assert clf.n_iter_ == 1


# ==========================================================================
# Input scaling and precision
# ==========================================================================


def test_standard_scaling_makes_pixel_range_irrelevant(mnist_subset):
    X, y = mnist_subset
    raw = small_cnn(max_epochs=2).fit(X, y)
    unit = small_cnn(max_epochs=2).fit(X / 255.0, y)
    # The standardised inputs agree up to float32 rounding, which training may
    # amplify a little: very close, not necessarily bitwise equal.
    assert np.mean(raw.predict(X) == unit.predict(X / 255.0)) >= 0.98
    assert_allclose(raw.predict_proba(X), unit.predict_proba(X / 255.0), atol=1e-3)
    assert raw.input_mean_.shape == (1, 1, 1)
    assert_allclose(raw.input_mean_ / 255.0, unit.input_mean_, rtol=1e-5)


def test_no_scaling_depends_on_pixel_range(mnist_subset):
    X, y = mnist_subset
    raw = small_cnn(max_epochs=2, input_scaling=None).fit(X, y)
    unit = small_cnn(max_epochs=2, input_scaling=None).fit(X / 255.0, y)
    assert raw.input_mean_ is None and raw.input_std_ is None
    assert np.abs(raw.predict_proba(X) - unit.predict_proba(X / 255.0)).max() > 2e-2


def test_bf16_precision_trains_on_cpu(mnist_subset):
    X, y = mnist_subset
    clf = small_cnn(precision="bf16").fit(X, y)
    assert clf.net_.precision == "bf16"
    with torch.no_grad():
        assert clf.net_.infer(torch.zeros(2, 1, 28, 28)).dtype == torch.bfloat16
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64
    assert np.isfinite(proba).all()
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.isfinite(clf.history_[-1, "train_loss"])


def test_float32_precision_does_not_autocast(fitted_cnn):
    with torch.no_grad():
        assert fitted_cnn.net_.infer(torch.zeros(2, 1, 28, 28)).dtype == torch.float32


# ==========================================================================
# The class docstring
# ==========================================================================


def _documented_attributes():
    lines = inspect.getdoc(SkMNISTClassifier).splitlines()
    start = lines.index("Attributes")
    assert set(lines[start + 1]) == {"-"}
    names = []
    for i in range(start + 2, len(lines)):
        line = lines[i]
        if i + 1 < len(lines) and line and re.fullmatch(r"-{3,}", lines[i + 1]):
            break  # the next section
        match = re.match(r"^(\w+) :", line)
        if match:
            names.append(match.group(1))
    return names


def test_docstring_attributes_match_the_fitted_ones(digits_subset):
    documented = _documented_attributes()
    assert "classes_" in documented and "n_iter_" in documented
    X, y = digits_subset
    df = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    clf = small_cnn(max_epochs=1)

    def public_trailing_underscore():
        return {a for a in dir(clf) if a.endswith("_") and not a.startswith("_")
                and hasattr(clf, a)}

    unfitted = public_trailing_underscore()
    clf.fit(df, y)
    set_by_fit = public_trailing_underscore() - unfitted
    missing = [a for a in documented if not hasattr(clf, a)]
    assert not missing, f"documented but not set by fit: {missing}"
    undocumented = sorted(set_by_fit - set(documented))
    assert not undocumented, f"set by fit but not documented: {undocumented}"


def test_docstring_example_runs():
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(SkMNISTClassifier, "SkMNISTClassifier", globs={})
    assert tests and tests[0].examples
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_fit_and_predict_never_modify_the_callers_array(dtype):
    # Inputs are standardised in place on the device: that must be a copy,
    # even when X already is a C-contiguous float32 array torch could share.
    rng = np.random.RandomState(0)
    X = (rng.rand(40, 8, 8) * 200).astype(dtype)
    y = np.arange(40) % 2
    before = X.copy()
    clf = SkMNISTClassifier(channels=(4,), hidden_units=(8,), max_epochs=1, device="cpu",
                            random_state=0).fit(X, y)
    clf.predict_proba(X)
    np.testing.assert_array_equal(X, before)


# --------------------------------------------------------------- augmentation
def _aug_data():
    rng = np.random.RandomState(0)
    X = (rng.rand(64, 12, 12) * 255).astype(np.uint8)
    return X, np.arange(64) % 2


def test_augment_is_seeded_and_changes_training():
    X, y = _aug_data()
    params = dict(channels=(4,), hidden_units=(8,), max_epochs=2, device="cpu", random_state=0)
    plain = SkMNISTClassifier(augment=None, **params).fit(X, y)
    aug_a = SkMNISTClassifier(augment=True, **params).fit(X, y)
    aug_b = SkMNISTClassifier(augment={"shift": 1, "rotation": 5}, **params).fit(X, y)
    aug_a2 = SkMNISTClassifier(augment=True, **params).fit(X, y)
    np.testing.assert_array_equal(aug_a.predict_proba(X), aug_a2.predict_proba(X))
    assert not np.array_equal(aug_a.predict_proba(X), plain.predict_proba(X))
    assert not np.array_equal(aug_a.predict_proba(X), aug_b.predict_proba(X))


def test_augment_never_applies_at_predict_time():
    X, y = _aug_data()
    clf = SkMNISTClassifier(augment={"shift": 3, "rotation": 30}, channels=(4,), max_epochs=1,
                            device="cpu", random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))


def test_augment_callable_sees_training_batches_only():
    X, y = _aug_data()
    seen = []

    def flip(batch):
        seen.append(tuple(batch.shape))
        return batch.flip(-1)

    clf = SkMNISTClassifier(augment=flip, channels=(4,), batch_size=32, max_epochs=1,
                            device="cpu", random_state=0).fit(X, y)
    assert seen == [(32, 1, 12, 12), (32, 1, 12, 12)]
    clf.predict(X)
    assert len(seen) == 2


@pytest.mark.parametrize(("augment", "match"), [
    ({"spin": 3}, "valid keys|Valid keys|unknown"),
    ({"scale": 1.5}, "scale"),
    ("lots", "augment"),
])
def test_bad_augment_values(augment, match):
    X, y = _aug_data()
    with pytest.raises(ValueError, match=match):
        SkMNISTClassifier(augment=augment, device="cpu").fit(X, y)


def test_augment_needs_images():
    rng = np.random.RandomState(0)
    with pytest.raises(ValueError, match="image"):
        SkMNISTClassifier(augment=True, device="cpu").fit(rng.rand(30, 5), np.arange(30) % 2)


def test_compile_trains_predicts_and_saves(tmp_path):
    # torch.compile on the CPU (inductor, C++): the slow part is compiling.
    import skmnist

    rng = np.random.RandomState(0)
    X = rng.rand(64, 6).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    clf = SkMNISTClassifier(arch="mlp", hidden_units=(8,), compile=True, max_epochs=1,
                            device="cpu", random_state=0).fit(X, y)
    assert hasattr(clf.module_, "_orig_mod")  # the compiled wrapper
    proba = clf.predict_proba(X)
    loaded = skmnist.load(skmnist.save(clf, tmp_path / "c.skmnist"))
    np.testing.assert_allclose(loaded.predict_proba(X), proba, atol=1e-6)
    with pytest.raises(ValueError, match="compile must be True or False"):
        SkMNISTClassifier(compile="yes").fit(X, y)


# ------------------------------------------------- the "auto" image recipe
def _recipe(clf):
    net = clf.net_
    return {
        "augments": net.augment_fn is not None,
        "epochs": clf.n_iter_,
        "smoothing": net.criterion_.label_smoothing,
        "channels": tuple(m.out_channels for m in clf.module_.modules()
                          if isinstance(m, nn.Conv2d)),
    }


def test_auto_recipe_for_images_is_three_blocks_augmented_30_epochs_smoothed():
    X, y = _aug_data()
    clf = SkMNISTClassifier(hidden_units=(8,), device="cpu", random_state=0).fit(X[:16], y[:16])
    assert clf.get_params()["max_epochs"] == "auto"  # the parameter is left as it was
    assert _recipe(clf) == {"augments": True, "epochs": 30, "smoothing": 0.1,
                            "channels": (32, 64, 128)}
    # What each part is, spelt out: the same network, bit for bit.
    spelt = SkMNISTClassifier(hidden_units=(8,), channels=(32, 64, 128), augment=True,
                              max_epochs=30, label_smoothing=0.1, device="cpu",
                              random_state=0).fit(X[:16], y[:16])
    assert_array_equal(spelt.predict_proba(X), clf.predict_proba(X))


def test_auto_recipe_off_for_the_mlp_and_for_builders():
    X, y = _aug_data()
    tabular = SkMNISTClassifier(hidden_units=(4,), device="cpu", random_state=0).fit(
        X.reshape(64, -1)[:, :20].astype(np.float32), y)
    assert tabular.arch_ == "mlp"
    assert _recipe(tabular) == {"augments": False, "epochs": 10, "smoothing": 0.0,
                                "channels": ()}
    mlp_on_images = SkMNISTClassifier(arch="mlp", hidden_units=(4,), device="cpu",
                                      random_state=0).fit(X, y)
    assert _recipe(mlp_on_images)["augments"] is False

    def builder(in_channels, height, width, n_classes):
        return nn.Sequential(nn.Conv2d(in_channels, 2, 3), nn.Flatten(),
                             nn.Linear(2 * (height - 2) * (width - 2), n_classes))

    own = SkMNISTClassifier(arch=builder, device="cpu", random_state=0).fit(X, y)
    assert _recipe(own) == {"augments": False, "epochs": 10, "smoothing": 0.0, "channels": (2,)}


def test_old_fast_behaviour_back_and_auto_parts_alone():
    X, y = _aug_data()
    old = SkMNISTClassifier(channels=None, augment=None, hidden_units=(8,), device="cpu",
                            random_state=0).fit(X, y)
    assert _recipe(old) == {"augments": False, "epochs": 10, "smoothing": 0.0,
                            "channels": (32, 64)}
    # augment=False also turns the epochs and the smoothing "auto" resolves to back.
    short = SkMNISTClassifier(augment=False, channels=(4,), hidden_units=(8,), device="cpu",
                              random_state=0).fit(X, y)
    assert _recipe(short) == {"augments": False, "epochs": 10, "smoothing": 0.0,
                              "channels": (4,)}
    # An explicit augmenter keeps the long recipe; LeNet-5 has no channels to set.
    lenet = SkMNISTClassifier(arch="lenet5", augment={"shift": 1}, max_epochs=2,
                              label_smoothing=0.2, device="cpu", random_state=0).fit(X, y)
    assert _recipe(lenet) == {"augments": True, "epochs": 2, "smoothing": 0.2,
                              "channels": (6, 16)}


@pytest.mark.parametrize("params, message", [
    ({"max_epochs": "long"}, r"max_epochs must be an integer or 'auto', got 'long'"),
    ({"max_epochs": 0}, r"max_epochs must be >= 1"),
    ({"label_smoothing": 1.0}, r"label_smoothing must be < 1"),
    ({"label_smoothing": -0.1}, r"label_smoothing must be >= 0"),
    ({"label_smoothing": "some"}, r"label_smoothing must be a finite number or 'auto'"),
    ({"channels": "wide"}, r"channels must be a sequence of integers >= 1, got 'wide'"),
])
def test_auto_parameters_refuse_other_values(params, message):
    X, y = _aug_data()
    with pytest.raises(ValueError, match=message):
        SkMNISTClassifier(device="cpu", **params).fit(X, y)


def test_auto_recipe_for_many_images_trains_without_augmentation(monkeypatch, tmp_path):
    import skmnist._base
    from skmnist import load, save

    X, y = _aug_data()
    # Large image sets (Fashion-MNIST's 60,000) train best without augmentation:
    # 20 epochs with label smoothing. The threshold is lowered to keep the test small.
    monkeypatch.setattr(skmnist._base, "_AUTO_AUGMENT_MAX_SAMPLES", 64)
    clf = SkMNISTClassifier(channels=(4,), hidden_units=(8,), device="cpu",
                            random_state=0).fit(X, y)
    assert _recipe(clf) == {"augments": False, "epochs": 20, "smoothing": 0.1,
                            "channels": (4,)}
    small = SkMNISTClassifier(channels=(4,), hidden_units=(8,), device="cpu",
                              random_state=0).fit(X[:63], y[:63])
    assert _recipe(small)["augments"] is True and small.n_iter_ == 30
    # The loaded model knows which recipe it trained with (partial_fit continues it).
    loaded = load(save(clf, tmp_path / "large.skmnist"))
    assert loaded._auto_regime() == "large" and loaded._n_fit_samples == 64


def test_an_optimizer_without_weight_decay(digits_two_classes):
    # LBFGS takes no weight_decay: trained with the default 0, refused with another value.
    X, y = digits_two_classes
    clf = small_mlp(optimizer=torch.optim.LBFGS, lr=0.1, lr_schedule=None).fit(X, y)
    assert type(clf.net_.optimizer_) is torch.optim.LBFGS
    assert np.isfinite(clf.history_[-1, "train_loss"])
    with pytest.raises(ValueError, match=r"weight_decay=0\.01 but the optimizer LBFGS"):
        small_mlp(optimizer=torch.optim.LBFGS, weight_decay=0.01).fit(X, y)
