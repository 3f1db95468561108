"""Property test: bad inputs of every kind get a clear error, never a crash from inside.

Hypothesis generates hostile inputs (issue 12) for the classifier, the
fine-tuner and every transformer: values that are NaN, infinite, beyond
float32 or tiny; dates, durations, complex numbers, strings, objects; empty,
1-D, 5-D, ragged and mis-shaped arrays; DataFrames with non-numeric columns;
labels of mixed types, one class, continuous or of the wrong length; and
bad parameter values. The property, for every call:

* it works, and then every probability is finite and every label one of
  ``classes_``; or
* it raises ``ValueError`` or ``TypeError`` (``NotFittedError`` before a
  fit) whose message names the culprit (X, y, the column, the parameter).

The run is derandomised (the same examples every time) so CI is
deterministic: about 370 examples, 10-20 seconds on two cores.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skmnist import SkMNISTClassifier, SkMNISTFineTuner
from skmnist.preprocessing import (
    ImageFlattener,
    ImageReshaper,
    ImageResizer,
    PixelScaler,
    PixelStandardizer,
)

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

N, SIDE = 12, 4
FAST = dict(max_epochs=1, device="cpu", random_state=0, n_jobs=1, batch_size=6)
SETTINGS = settings(derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def _good_X():
    return np.random.RandomState(0).rand(N, SIDE * SIDE)


def _good_y():
    return np.arange(N) % 2


@pytest.fixture(scope="module")
def pretrained():
    return SkMNISTClassifier(arch="cnn", channels=(2,), hidden_units=(4,), **FAST).fit(
        _good_X(), _good_y())


# ----------------------------------------------------------------- bad X values
SPECIALS = [np.nan, np.inf, -np.inf, 1e30, -1e30, 1e39, -1e39, 3e38, 1e-300, -0.0, 1e308]


@st.composite
def bad_X(draw):
    """(X, what is wrong with it) for a fit or a predict expecting (N, 16) rows."""
    kind = draw(st.sampled_from([
        "special", "dtype", "shape", "object", "dataframe", "list", "ragged"]))
    X = _good_X()
    if kind == "special":
        X = X.copy()
        for _ in range(draw(st.integers(1, 4))):
            X[draw(st.integers(0, N - 1)), draw(st.integers(0, SIDE * SIDE - 1))] = \
                draw(st.sampled_from(SPECIALS))
        return X
    if kind == "dtype":
        dtype = draw(st.sampled_from(["datetime64[s]", "timedelta64[ms]", "complex128",
                                      "bool", "U3", "S2", "float16", "int8", "uint64"]))
        if dtype.startswith(("datetime", "timedelta")):
            return (X * 1e6).astype("int64").astype(dtype)
        if dtype == "complex128":
            return X + 1j
        return X.astype(dtype) if not dtype.startswith(("U", "S")) else \
            (X * 100).astype(int).astype(dtype)
    if kind == "shape":
        shape = draw(st.sampled_from([(0, 16), (N, 0), (16,), (N,), (N, 1, 1, 4, 4),
                                      (N, 15), (N, 17), (N, 4, 4), (N, 2, 2, 4), (N, 1, 16),
                                      (1, 16), (N, 3, 4, 4), (4, 4), (N, 16, 1)]))
        return np.random.RandomState(1).rand(*shape) if 0 not in shape else np.zeros(shape)
    if kind == "object":
        junk = draw(st.sampled_from([None, "a", {"k": 1}, [1, 2], object(), b"x",
                                     np.datetime64("2020-01-01"), 1 + 2j]))
        X = X.astype(object)
        X[0, 0] = junk
        return X
    if kind == "dataframe":
        df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
        column = draw(st.sampled_from(["datetime", "category", "string", "object",
                                       "timedelta", "interval", "nullable"]))
        name = f"f{draw(st.integers(0, X.shape[1] - 1))}"
        if column == "datetime":
            df[name] = pd.to_datetime(np.arange(N) * 10**9)
        elif column == "category":
            df[name] = pd.Categorical(np.arange(N) % 3)
        elif column == "string":
            df[name] = pd.array(["a"] * N, dtype="string")
        elif column == "object":
            df[name] = np.array(["x"] * N, dtype=object)
        elif column == "timedelta":
            df[name] = pd.to_timedelta(np.arange(N), unit="s")
        elif column == "interval":
            df[name] = pd.arrays.IntervalArray.from_breaks(np.arange(N + 1))
        else:
            df[name] = pd.array([1, None] * (N // 2), dtype="Int64")
        return df
    if kind == "list":
        return X.tolist()
    return [list(row[: draw(st.integers(1, 16))]) for row in X]  # ragged


# ------------------------------------------------------------------ bad labels
@st.composite
def bad_y(draw):
    kind = draw(st.sampled_from(["mixed", "one", "continuous", "length", "2d", "nan",
                                 "none", "objects", "strings", "bool"]))
    y = _good_y()
    if kind == "mixed":
        return np.array(["0", 1] * (N // 2), dtype=object)
    if kind == "one":
        return np.zeros(N, dtype=int)
    if kind == "continuous":
        return np.linspace(0, 1, N)
    if kind == "length":
        return y[: draw(st.sampled_from([0, 1, N - 1]))]
    if kind == "2d":
        return np.c_[y, y]
    if kind == "nan":
        z = y.astype(float)
        z[0] = np.nan
        return z
    if kind == "none":
        return None
    if kind == "objects":
        return np.array([{"a": 1}, {"b": 2}] * (N // 2), dtype=object)
    if kind == "strings":
        return np.array(["cat", "dog"] * (N // 2))  # valid: must work
    return y.astype(bool)  # valid too


BAD_PARAMS = st.sampled_from([
    {"random_state": -1}, {"random_state": 2**32}, {"random_state": 1.5},
    {"batch_size": 0}, {"batch_size": 1.5}, {"max_epochs": 0}, {"lr": float("nan")},
    {"lr": -1.0}, {"image_shape": (0, 4)}, {"image_shape": (5, 5)}, {"image_shape": "4x4"},
    {"n_jobs": 0}, {"device": "cuda:7"}, {"device": "tpu"}, {"precision": "8"},
    {"lr_schedule": "nope"}, {"optimizer": "lbfgs"}, {"validation_fraction": 1.0},
    {"n_iter_no_change": 0}, {"tol": -1.0}, {"augment": {"shift": -1}}, {"verbose": -1},
    {"checkpoint_dir": 3}, {"resume": "yes"}, {"input_scaling": "minmax"}, {"batch_size": 1},
])


# ------------------------------------------------------------------- the property
NAMES = re.compile(r"\bX\b|\by\b|\bclasses\b|column|label|sample|feature|image|[a-z_]+=|"
                   r"[a-z_]+ must")


def _checked(call, *, culprit=NAMES):
    """Run ``call``; return its result, or None if it raised an allowed, clear error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    except NotFittedError:
        return None
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert message and "Traceback" not in message
        assert re.search(culprit, message), f"{type(exc).__name__} names no culprit: {message}"
        return None


def _check_predictions(model, X):
    proba = _checked(lambda: model.predict_proba(X))
    if proba is not None:
        assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1)
    labels = _checked(lambda: model.predict(X))
    if labels is not None:
        assert set(np.asarray(labels).tolist()) <= set(np.asarray(model.classes_).tolist())


@settings(SETTINGS, max_examples=150)
@given(X=bad_X())
def test_classifier_fit_and_predict_on_bad_X(X):
    y = _good_y() if len(X) == N else np.arange(len(X)) % 2
    model = _checked(lambda: SkMNISTClassifier(arch="cnn", hidden_units=(4,), channels=(2,),
                                               **FAST).fit(X, y))
    if model is not None:
        _check_predictions(model, X)
    fitted = SkMNISTClassifier(arch="mlp", hidden_units=(4,), **FAST).fit(_good_X(), _good_y())
    _check_predictions(fitted, X)


@settings(SETTINGS, max_examples=60)
@given(y=bad_y())
def test_classifier_and_fine_tuner_on_bad_labels(y, pretrained):
    for estimator in (SkMNISTClassifier(arch="mlp", hidden_units=(4,), **FAST),
                      SkMNISTFineTuner(pretrained, **FAST)):
        model = _checked(lambda: clone(estimator).fit(_good_X(), y))
        if model is not None:
            _check_predictions(model, _good_X())


@settings(SETTINGS, max_examples=60)
@given(params=BAD_PARAMS)
def test_bad_parameters_name_themselves(params, pretrained):
    name = next(iter(params))
    for estimator in (SkMNISTClassifier(arch="mlp", hidden_units=(4,), **{**FAST, **params}),
                      SkMNISTFineTuner(pretrained, **{**FAST, **params})):
        model = _checked(lambda: estimator.fit(_good_X(), _good_y()),
                         culprit=rf"\b{name}\b|batch_size|batch norm")
        if model is not None:
            _check_predictions(model, _good_X())


@settings(SETTINGS, max_examples=80)
@given(X=bad_X())
def test_fine_tuner_on_bad_X(X, pretrained):
    model = _checked(lambda: SkMNISTFineTuner(pretrained, **FAST)
                     .fit(X, _good_y() if len(X) == N else np.arange(len(X)) % 2))
    if model is not None:
        _check_predictions(model, X)


TRANSFORMERS = [ImageFlattener(), ImageReshaper(), ImageReshaper(image_shape=(4, 4)),
                ImageResizer(size=3), PixelScaler(), PixelScaler(max_value=255),
                PixelStandardizer(), PixelStandardizer(preset="mnist")]


@settings(SETTINGS, max_examples=100)
@given(X=bad_X(), which=st.integers(0, len(TRANSFORMERS) - 1))
def test_transformers_on_bad_X(X, which):
    transformer = clone(TRANSFORMERS[which])
    fitted = _checked(lambda: transformer.fit(X))
    if fitted is not None:
        out = _checked(lambda: fitted.transform(X))
        if out is not None and np.asarray(out).dtype.kind == "f":
            assert np.isfinite(out).all()  # finite input was accepted: finite output
    good = clone(TRANSFORMERS[which]).fit(_good_X())
    out = _checked(lambda: good.transform(X))
    if out is not None and np.asarray(out).dtype.kind == "f":
        assert np.isfinite(out).all()
