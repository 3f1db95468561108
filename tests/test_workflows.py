"""End-to-end workflows: SkMNISTClassifier inside scikit-learn's own tools.

Each test puts the classifier where a scikit-learn user would: after every
transformer of :mod:`skmnist.preprocessing` and after sklearn's numeric
transformers in a pipeline (also with pandas output), under
``cross_val_score``/``cross_validate`` in one process and in joblib's loky
worker processes, inside grid, randomized and successive-halving searches,
inside calibration, voting, stacking and one-vs-rest ensembles, through
pickle/joblib/clone, and with string labels.

Everything is seeded and runs on the CPU with small data (300 training and 100
test images of sklearn's 8x8 digits or of the bundled MNIST sample), small
architectures and a few epochs. Accuracy is only checked to be well above
chance (10 balanced classes): these are workflow tests, not benchmarks.
"""

import ast
import functools
import io
import os
import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    RandomizedSearchCV,
    cross_val_score,
    cross_validate,
    train_test_split,
)
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample
from skmnist.preprocessing import (
    ImageFlattener,
    ImageReshaper,
    ImageResizer,
    PixelScaler,
    PixelStandardizer,
)

N_CLASSES = 10
# Five times chance for ten balanced classes. The seeded models below reach
# 0.78-0.92 on this machine; the margin absorbs other platforms' float kernels.
MIN_ACCURACY = 5 / N_CLASSES

# Small, quick architectures (digits: 8x8, MNIST: 28x28).
SMALL_MLP = dict(arch="mlp", hidden_units=(32,))
SMALL_CNN = dict(arch="cnn", channels=(8, 16), hidden_units=(32,), dropout=0.0)
LENET = dict(arch="lenet5", lr=3e-3)

# torch's intra-op thread count when this module was imported (all cores).
DEFAULT_TORCH_THREADS = torch.get_num_threads()

DIGIT_NAMES = np.array(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Train with one torch thread, then restore the thread count.

    The models here are tiny, so extra threads buy nothing; and when other
    jobs keep the cores busy, torch's threads wait on each other and a
    0.1 s fit can take 10 s. (scikit-learn's conftest limits threads under
    pytest-xdist for the same reason.) Tests that are about thread counts
    request ``default_torch_threads``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def default_torch_threads(one_torch_thread):
    """Run the test with torch's default thread count (overrides the above)."""
    torch.set_num_threads(DEFAULT_TORCH_THREADS)
    yield


def _clf(**params):
    """A seeded, CPU-only, quick SkMNISTClassifier; ``params`` override.

    Five epochs without augmentation: the image default (augmentation over
    30 epochs) learns too little in five for the accuracy checks here.
    """
    defaults = dict(device="cpu", random_state=0, max_epochs=5, lr=1e-2, augment=None)
    return SkMNISTClassifier(**{**defaults, **params})


def _read_only(*arrays):
    out = []
    for array in arrays:
        array = np.array(array)
        array.flags.writeable = False  # a step that writes into its input fails
        out.append(array)
    return tuple(out)


@functools.cache
def _digits():
    """300 train / 100 test of sklearn's digits: flat (n, 64) float64 in 0..16."""
    X, y = load_digits(return_X_y=True)
    return _read_only(
        *train_test_split(X, y, train_size=300, test_size=100, stratify=y, random_state=0)
    )


@functools.cache
def _mnist():
    """300 train / 100 test of the bundled MNIST sample: flat (n, 784) uint8."""
    X, y = load_mnist_sample(return_X_y=True)
    return _read_only(
        *train_test_split(X, y, train_size=300, test_size=100, stratify=y, random_state=0)
    )


def _check_classifier_output(model, X_test, y_test, *, classes=np.arange(N_CLASSES)):
    """Predictions have the right shape and labels; probabilities are sound."""
    y_pred = model.predict(X_test)
    assert y_pred.shape == (len(y_test),)
    assert set(np.unique(y_pred)) <= set(classes)
    assert_array_equal(model.classes_, classes)
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(y_test), len(classes))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert_array_equal(model.classes_[proba.argmax(axis=1)], y_pred)
    accuracy = np.mean(y_pred == y_test)
    assert accuracy > MIN_ACCURACY, f"accuracy {accuracy:.2f} is near chance"
    return accuracy


# --------------------------------------------------------------------------
# Pipelines: after every skmnist transformer, and after sklearn's
# --------------------------------------------------------------------------

# id -> (data, input layout, pipeline steps before the classifier,
#        classifier params, input_shape_ the classifier should see)
TRANSFORMER_CASES = {
    "ImageFlattener": (
        "mnist", "images", lambda: [ImageFlattener()], SMALL_MLP, (1, 28, 28)),
    "ImageReshaper": (
        "digits", "flat", lambda: [ImageReshaper()], SMALL_CNN, (1, 8, 8)),
    "PixelScaler": (
        "mnist", "flat", lambda: [PixelScaler()], LENET, (1, 28, 28)),
    "PixelStandardizer": (
        "digits", "flat", lambda: [PixelStandardizer()],
        {**SMALL_CNN, "input_scaling": None}, (1, 8, 8)),
    "PixelScaler+PixelStandardizer(mnist)": (
        "mnist", "images", lambda: [PixelScaler(), PixelStandardizer(preset="mnist")],
        {**LENET, "input_scaling": None}, (1, 28, 28)),
    "ImageResizer(8->16)": (
        "digits", "flat", lambda: [ImageResizer(size=16)], SMALL_CNN, (1, 16, 16)),
    "ImageResizer(8->16, images)": (
        "digits", "images", lambda: [ImageResizer(size=(16, 16))], SMALL_CNN, (1, 16, 16)),
    "ImageResizer(8->28)+PixelScaler": (
        "digits", "flat", lambda: [ImageResizer(size=28), PixelScaler(max_value=16)],
        LENET, (1, 28, 28)),
}


def _data(name, layout):
    X_train, X_test, y_train, y_test = _digits() if name == "digits" else _mnist()
    if layout == "images":
        side = int(np.sqrt(X_train.shape[1]))
        X_train = X_train.reshape(-1, side, side)
        X_test = X_test.reshape(-1, side, side)
    return X_train, X_test, y_train, y_test


@pytest.mark.filterwarnings("error::UserWarning")
@pytest.mark.parametrize("case", list(TRANSFORMER_CASES))
def test_pipeline_after_skmnist_transformer(case):
    data, layout, steps, params, input_shape = TRANSFORMER_CASES[case]
    X_train, X_test, y_train, y_test = _data(data, layout)
    pipe = make_pipeline(*steps(), _clf(**params)).fit(X_train, y_train)

    clf = pipe[-1]
    assert clf.input_shape_ == input_shape
    assert clf.arch_ == params["arch"]
    assert clf.n_features_in_ == int(np.prod(input_shape))
    _check_classifier_output(pipe, X_test, y_test)


def test_pixel_scaler_auto_detects_8_bit_pixels_in_pipeline():
    X_train, _, y_train, _ = _mnist()
    pipe = make_pipeline(PixelScaler(), _clf(**SMALL_MLP, max_epochs=1)).fit(X_train, y_train)
    assert pipe[0].scale_ == 255.0


SKLEARN_CASES = {
    "StandardScaler": (
        lambda: StandardScaler(), {**SMALL_MLP, "input_scaling": None}, "mlp", (1, 8, 8)),
    "PCA(20)+mlp": (
        lambda: PCA(n_components=20, random_state=0), SMALL_MLP, "mlp", (1, 1, 20)),
    # 20 features are not a square image: "auto" must pick the MLP.
    "PCA(20)+auto": (
        lambda: PCA(n_components=20, random_state=0), {"hidden_units": (32,)}, "mlp",
        (1, 1, 20)),
    "MinMaxScaler": (lambda: MinMaxScaler(), SMALL_CNN, "cnn", (1, 8, 8)),
}


@pytest.mark.filterwarnings("error::UserWarning")
@pytest.mark.parametrize("case", list(SKLEARN_CASES))
def test_pipeline_after_sklearn_transformer(case):
    transformer, params, arch, input_shape = SKLEARN_CASES[case]
    X_train, X_test, y_train, y_test = _digits()
    pipe = make_pipeline(transformer(), _clf(**params)).fit(X_train, y_train)

    assert pipe[-1].arch_ == arch
    assert pipe[-1].input_shape_ == input_shape
    _check_classifier_output(pipe, X_test, y_test)


@pytest.mark.filterwarnings("error::UserWarning")
def test_pipeline_with_pandas_output_feeds_a_dataframe_to_the_classifier():
    X_train, X_test, y_train, y_test = _digits()
    pipe = make_pipeline(StandardScaler(), _clf(**SMALL_MLP)).set_output(transform="pandas")
    assert isinstance(pipe[:-1].fit_transform(X_train), pd.DataFrame)
    pipe.fit(X_train, y_train)

    # The classifier saw the DataFrame's column names, so it got a DataFrame.
    assert_array_equal(pipe[-1].feature_names_in_, pipe[:-1].get_feature_names_out())
    assert_array_equal(pipe[-1].feature_names_in_[:2], ["x0", "x1"])
    _check_classifier_output(pipe, X_test, y_test)


@pytest.mark.filterwarnings("error::UserWarning")
def test_pipeline_with_pandas_input_and_output_of_image_transformers():
    X_train, X_test, y_train, y_test = _digits()
    columns = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    df_train = pd.DataFrame(X_train, columns=columns)
    df_test = pd.DataFrame(X_test, columns=columns)
    pipe = make_pipeline(
        PixelScaler(max_value=16), ImageResizer(size=12), _clf(**SMALL_CNN)
    ).set_output(transform="pandas")
    pipe.fit(df_train, y_train)

    clf = pipe[-1]
    assert_array_equal(pipe[0].feature_names_in_, columns)
    assert clf.feature_names_in_.shape == (144,)
    assert clf.feature_names_in_[-1] == "pixel_11_11"
    # A DataFrame of 144 pixel columns is read as a 12x12 image: "auto" is a CNN.
    assert (clf.arch_, clf.input_shape_) == ("cnn", (1, 12, 12))
    _check_classifier_output(pipe, df_test, y_test)


@pytest.mark.filterwarnings("error::UserWarning")
def test_global_pandas_output_with_an_image_reshaper_in_the_pipeline():
    # ImageReshaper has no set_output (its output is 4-D), so such a pipeline
    # takes pandas output from the global config: the scaler then returns a
    # DataFrame and the reshaper turns it into (n, 1, 8, 8) images.
    X_train, X_test, y_train, y_test = _digits()
    with sklearn.config_context(transform_output="pandas"):
        pipe = make_pipeline(StandardScaler(), ImageReshaper(), _clf(**SMALL_CNN))
        assert isinstance(pipe[:1].fit_transform(X_train), pd.DataFrame)
        pipe.fit(X_train, y_train)
        assert_array_equal(pipe[1].feature_names_in_, pipe[0].get_feature_names_out())
        assert pipe[-1].input_shape_ == (1, 8, 8)
        assert not hasattr(pipe[-1], "feature_names_in_")  # it got images
        _check_classifier_output(pipe, X_test, y_test)


# --------------------------------------------------------------------------
# Cross-validation, in one process and in loky worker processes
# --------------------------------------------------------------------------


def test_cross_val_score_is_the_same_with_one_and_two_jobs(default_torch_threads):
    X_train, _, y_train, _ = _digits()
    clf = _clf(**SMALL_CNN)
    serial = cross_val_score(clf, X_train, y_train, cv=3, n_jobs=1)
    parallel = cross_val_score(clf, X_train, y_train, cv=3, n_jobs=2)

    assert serial.shape == (3,)
    assert serial.mean() > MIN_ACCURACY
    assert_array_equal(serial, parallel)


def test_cross_validate_is_the_same_with_one_and_two_jobs(default_torch_threads):
    X_train, X_test, y_train, _ = _digits()
    kwargs = dict(cv=3, scoring=("accuracy", "neg_log_loss"), return_train_score=True,
                  return_estimator=True)
    serial = cross_validate(_clf(**SMALL_MLP), X_train, y_train, n_jobs=1, **kwargs)
    parallel = cross_validate(_clf(**SMALL_MLP), X_train, y_train, n_jobs=2, **kwargs)

    assert serial["test_accuracy"].mean() > MIN_ACCURACY
    for key in ("test_accuracy", "train_accuracy"):
        assert_array_equal(serial[key], parallel[key])
    # The fitted models that came back from the workers (pickled) predict alike.
    for a, b in zip(serial["estimator"], parallel["estimator"]):
        assert_array_equal(a.predict(X_test), b.predict(X_test))
        assert a.n_iter_ == b.n_iter_ == 5
    # Log losses agree to float32 rounding only: loky workers run torch with
    # cpu_count // n_jobs threads (OMP_NUM_THREADS), this process with all
    # cores, and float32 reductions split over a different number of threads
    # round differently. With equal thread counts they are bit-identical (next
    # test).
    for key in ("test_neg_log_loss", "train_neg_log_loss"):
        assert_allclose(serial[key], parallel[key], rtol=1e-5)


def test_cross_validate_is_bit_identical_with_equal_torch_thread_counts(
    default_torch_threads,
):
    X_train, _, y_train, _ = _digits()
    clf = _clf(**SMALL_CNN)
    kwargs = dict(cv=3, scoring="neg_log_loss")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        serial = cross_validate(clf, X_train, y_train, n_jobs=1, **kwargs)["test_score"]
    finally:
        torch.set_num_threads(threads)
    with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
        parallel = cross_validate(clf, X_train, y_train, n_jobs=2, **kwargs)["test_score"]

    assert_array_equal(serial, parallel)


def test_threading_backend_gives_the_serial_scores():
    X_train, _, y_train, _ = _digits()
    clf = _clf(**{**SMALL_CNN, "dropout": 0.5})
    serial = cross_val_score(clf, X_train, y_train, cv=2, scoring="neg_log_loss")
    for _ in range(3):  # concurrent fits interleave differently each time
        with joblib.parallel_config(backend="threading", n_jobs=2):
            threaded = cross_val_score(clf, X_train, y_train, cv=2, scoring="neg_log_loss")
        assert_array_equal(threaded, serial)


def test_string_labels_through_cross_val_score():
    X_train, X_test, y_train, y_test = _digits()
    y_train, y_test = DIGIT_NAMES[y_train], DIGIT_NAMES[y_test]
    scores = cross_val_score(_clf(**SMALL_MLP), X_train, y_train, cv=3)
    assert scores.mean() > MIN_ACCURACY
    assert_array_equal(
        scores, cross_val_score(_clf(**SMALL_MLP), X_train, y_train, cv=3, n_jobs=2))

    clf = _clf(**SMALL_MLP).fit(X_train, y_train)
    assert clf.predict(X_test).dtype == y_train.dtype
    _check_classifier_output(clf, X_test, y_test, classes=np.sort(DIGIT_NAMES))


# --------------------------------------------------------------------------
# Hyperparameter searches
# --------------------------------------------------------------------------

# `channels` exists only for the CNN, so each architecture gets its own grid.
ARCH_GRID = [
    {"arch": ["mlp"], "hidden_units": [(16,), (32,)]},
    {"arch": ["cnn"], "channels": [(8, 16)], "hidden_units": [(32,)], "dropout": [0.0]},
]


def test_cnn_only_parameter_with_mlp_is_an_error():
    X_train, _, y_train, _ = _digits()
    with pytest.raises(ValueError, match="channels"):
        _clf(arch="mlp", channels=(4, 8)).fit(X_train, y_train)


def _check_search(search, X_test, y_test, n_candidates):
    assert len(search.cv_results_["params"]) == n_candidates
    assert not np.isnan(search.cv_results_["mean_test_score"]).any()
    assert search.best_params_ in search.cv_results_["params"]
    best = search.best_estimator_
    assert {k: best.get_params()[k] for k in search.best_params_} == search.best_params_
    assert best.arch_ == search.best_params_["arch"]
    _check_classifier_output(best, X_test, y_test)
    assert_array_equal(search.predict(X_test), best.predict(X_test))


def test_grid_search_over_architectures():
    X_train, X_test, y_train, y_test = _digits()
    search = GridSearchCV(_clf(max_epochs=3), ARCH_GRID, cv=2, error_score="raise")
    search.fit(X_train, y_train)
    _check_search(search, X_test, y_test, n_candidates=3)
    assert {p["arch"] for p in search.cv_results_["params"]} == {"mlp", "cnn"}


def test_randomized_search_over_architectures():
    X_train, X_test, y_train, y_test = _digits()
    search = RandomizedSearchCV(
        _clf(max_epochs=3), ARCH_GRID, n_iter=2, cv=2, random_state=0, error_score="raise"
    )
    search.fit(X_train, y_train)
    _check_search(search, X_test, y_test, n_candidates=2)


def test_grid_search_over_a_pipeline_learning_rate():
    X_train, X_test, y_train, y_test = _digits()
    pipe = make_pipeline(PixelScaler(max_value=16), _clf(**SMALL_MLP, max_epochs=3))
    search = GridSearchCV(pipe, {"skmnistclassifier__lr": [1e-3, 1e-2]}, cv=2,
                          error_score="raise")
    search.fit(X_train, y_train)

    assert set(search.best_params_) == {"skmnistclassifier__lr"}
    assert search.best_estimator_[-1].lr == search.best_params_["skmnistclassifier__lr"]
    _check_classifier_output(search.best_estimator_, X_test, y_test)


def test_halving_grid_search_with_epochs_as_the_resource():
    X_train, X_test, y_train, y_test = _digits()
    search = HalvingGridSearchCV(
        _clf(**SMALL_MLP),
        {"lr": [3e-3, 1e-2], "hidden_units": [(16,), (32,)]},
        resource="max_epochs", max_resources=4, min_resources=1, factor=2,
        cv=2, random_state=0, error_score="raise",
    )
    search.fit(X_train, y_train)

    assert search.n_resources_ == [1, 2, 4]
    assert search.n_candidates_ == [4, 2, 1]
    assert search.best_params_["max_epochs"] == 4
    best = search.best_estimator_
    assert best.max_epochs == best.n_iter_ == len(best.history_) == 4
    _check_classifier_output(best, X_test, y_test)


# --------------------------------------------------------------------------
# Meta-estimators
# --------------------------------------------------------------------------


def test_calibrated_classifier_cv():
    X_train, X_test, y_train, y_test = _digits()
    calibrated = CalibratedClassifierCV(_clf(**SMALL_MLP), cv=2).fit(X_train, y_train)
    assert len(calibrated.calibrated_classifiers_) == 2
    _check_classifier_output(calibrated, X_test, y_test)


@pytest.mark.parametrize("voting", ["soft", "hard"])
def test_voting_classifier_with_logistic_regression(voting):
    X_train, X_test, y_train, y_test = _digits()
    voter = VotingClassifier(
        [("net", _clf(**SMALL_MLP)),
         ("logreg", make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)))],
        voting=voting,
    ).fit(X_train, y_train)

    assert isinstance(voter.named_estimators_["net"], SkMNISTClassifier)
    if voting == "soft":
        _check_classifier_output(voter, X_test, y_test)
    else:
        y_pred = voter.predict(X_test)
        assert y_pred.shape == y_test.shape
        assert np.mean(y_pred == y_test) > MIN_ACCURACY


def test_stacking_classifier():
    X_train, X_test, y_train, y_test = _digits()
    stack = StackingClassifier(
        [("mlp", _clf(**SMALL_MLP)), ("cnn", _clf(**SMALL_CNN))],
        final_estimator=LogisticRegression(max_iter=1000), cv=2,
    ).fit(X_train, y_train)

    # predict_proba of both networks: 10 columns each.
    assert stack.transform(X_test).shape == (len(X_test), 2 * N_CLASSES)
    _check_classifier_output(stack, X_test, y_test)


def test_one_vs_rest_classifier():
    X_train, X_test, y_train, y_test = _digits()
    ovr = OneVsRestClassifier(_clf(**SMALL_MLP, max_epochs=3)).fit(X_train, y_train)

    assert len(ovr.estimators_) == N_CLASSES
    for binary in ovr.estimators_:
        assert_array_equal(binary.classes_, [0, 1])
    _check_classifier_output(ovr, X_test, y_test)


# --------------------------------------------------------------------------
# Pickling, joblib and clone of fitted pipelines
# --------------------------------------------------------------------------


def _fitted_pipeline():
    X_train, _, y_train, _ = _digits()
    pipe = make_pipeline(PixelScaler(max_value=16), ImageReshaper(), _clf(**SMALL_CNN))
    return pipe.fit(X_train, y_train)


def _pickle_roundtrip(obj):
    return pickle.loads(pickle.dumps(obj))


def _joblib_roundtrip(obj):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


@pytest.mark.parametrize("roundtrip", [_pickle_roundtrip, _joblib_roundtrip],
                         ids=["pickle", "joblib"])
def test_fitted_pipeline_survives_pickling(roundtrip):
    _, X_test, _, y_test = _digits()
    pipe = _fitted_pipeline()
    loaded = roundtrip(pipe)

    assert_array_equal(loaded.predict(X_test), pipe.predict(X_test))
    assert_array_equal(loaded.predict_proba(X_test), pipe.predict_proba(X_test))
    assert loaded.score(X_test, y_test) == pipe.score(X_test, y_test)
    clf, loaded_clf = pipe[-1], loaded[-1]
    assert loaded_clf.module_ is loaded_clf.net_.module_
    assert len(loaded_clf.history_) == len(clf.history_) == clf.n_iter_

    # The copy is a working model: one more epoch on both stays identical
    # (weights, optimizer state and seeds all came through).
    X_train, _, y_train, _ = _digits()
    X_images = pipe[:-1].transform(X_train)
    clf.partial_fit(X_images, y_train)
    loaded_clf.partial_fit(X_images, y_train)
    assert loaded_clf.n_iter_ == clf.n_iter_ == 6
    assert_array_equal(loaded.predict_proba(X_test), pipe.predict_proba(X_test))


def test_fitted_model_predicts_the_same_in_worker_processes():
    _, X_test, _, _ = _digits()
    pipe = _fitted_pipeline()
    chunks = np.array_split(X_test, 4)
    parallel = joblib.Parallel(n_jobs=2)(joblib.delayed(pipe.predict)(c) for c in chunks)
    assert_array_equal(np.concatenate(parallel), pipe.predict(X_test))


def test_clone_of_fitted_pipeline_is_unfitted_with_equal_params():
    X_train, X_test, y_train, _ = _digits()
    pipe = _fitted_pipeline()
    cloned = clone(pipe)

    for step in cloned:
        with pytest.raises(NotFittedError):
            check_is_fitted(step)
    params, cloned_params = pipe.get_params(), cloned.get_params()
    assert params.keys() == cloned_params.keys()
    for name, value in params.items():
        if name in ("steps", "memory") or hasattr(value, "get_params"):
            continue  # estimator objects: compared through their own params
        assert cloned_params[name] == value, name
    assert cloned[-1] is not pipe[-1]

    # Refitting the clone (same random_state) gives the same model back.
    cloned.fit(X_train, y_train)
    assert_array_equal(cloned.predict_proba(X_test), pipe.predict_proba(X_test))


# --------------------------------------------------------------------------
# Architectures registered in a script reach joblib worker processes
# --------------------------------------------------------------------------

_REGISTERED_IN_MAIN = textwrap.dedent('''
    import numpy as np
    from sklearn.model_selection import cross_val_score
    from torch import nn

    from skmnist import SkMNISTClassifier
    from skmnist.datasets import load_mnist_sample
    from skmnist.model_selection import ArchitectureSearchCV
    from skmnist.models import register_model


    @register_model("script_net")
    def script_net(*, in_channels, height, width, n_classes, units=16):
        return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * height * width, units),
                             nn.ReLU(), nn.Linear(units, n_classes))


    if __name__ == "__main__":
        X, y = load_mnist_sample(return_X_y=True)
        idx = np.random.RandomState(0).permutation(len(y))[:300]
        X, y = X[idx], y[idx]
        clf = SkMNISTClassifier(arch="script_net", max_epochs=1, device="cpu", random_state=0)
        print("cv", cross_val_score(clf, X, y, cv=2, n_jobs=2).round(3).tolist())
        search = ArchitectureSearchCV(
            SkMNISTClassifier(max_epochs=1, device="cpu", random_state=0),
            [{"arch": ["script_net"]}, {"arch": ["mlp"], "hidden_units": [(16,)]}], cv=2,
            n_jobs=2)
        search.fit(X, y)
        print("search", sorted(p["arch"] for p in search.cv_results_["params"]),
              sorted(set(search.cv_results_["state"])))
''')


def test_arch_registered_in_a_script_works_in_worker_processes(tmp_path):
    script = tmp_path / "registered.py"
    script.write_text(_REGISTERED_IN_MAIN)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in proc.stdout.strip().splitlines())
    assert len(ast.literal_eval(lines["cv"])) == 2
    assert lines["search"] == "['mlp', 'script_net'] ['COMPLETE']"
