"""Bad inputs to the estimators get clear errors (issue 12, items 1-4 and 12).

Values beyond float32, dates and categories, mixed label types, seeds out of
numpy's range, batches too small for batch norm, non-finite outputs; and the
order of an epoch's printed row and its checkpoint.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from skmnist import SkMNISTClassifier, SkMNISTFineTuner, load
from skmnist._engine import EpochLog

FAST = dict(max_epochs=1, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 64)
    return X, np.arange(40) % 2


@pytest.fixture(scope="module")
def fitted(data):
    return SkMNISTClassifier(**FAST).fit(*data)


def test_huge_but_finite_values_give_finite_statistics(data):
    X, y = data
    X = X.copy()
    X[0, 0] = 1e30
    clf = SkMNISTClassifier(**FAST).fit(X, y)
    assert np.isfinite(clf.input_std_).all() and np.isfinite(clf.input_mean_).all()
    assert np.isfinite(clf.predict_proba(X)).all()


@pytest.mark.parametrize("where", ["fit", "predict"])
def test_values_beyond_float32_are_refused_naming_X(data, fitted, where):
    X, y = data
    X = X.copy()
    X[3, 5] = -1e39
    with pytest.raises(ValueError, match=r"X holds values up to 1e\+39 .* float32 .*Rescale X"):
        SkMNISTClassifier(**FAST).fit(X, y) if where == "fit" else fitted.predict(X)


def test_no_label_for_a_non_finite_output(data):
    X, y = data
    clf = SkMNISTClassifier(input_scaling=None, **FAST).fit(X, y)
    X_bad = X.copy()
    X_bad[2] = 3e38  # finite input, but the unscaled network overflows
    for method in (clf.predict, clf.predict_proba, clf.predict_log_proba):
        with pytest.raises(ValueError, match=r"not finite .* samples of X .* row 2"):
            method(X_bad)


@pytest.mark.parametrize("dtype", ["datetime64[s]", "timedelta64[ms]"])
def test_dates_and_durations_are_refused(data, fitted, dtype):
    X, y = data
    dates = (X * 1e6).astype("int64").astype(dtype)
    with pytest.raises(ValueError, match=rf"X holds {dtype.split('[')[0]}.* not numbers"):
        SkMNISTClassifier(**FAST).fit(dates, y)
    with pytest.raises(ValueError, match="not numbers"):
        fitted.predict(dates)


@pytest.mark.parametrize(("column", "match"), [
    (lambda n: pd.to_datetime(np.arange(n) * 10**9), r"column 'c' has dtype datetime64"),
    (lambda n: pd.Categorical(np.where(np.arange(n) % 2, "u", "v")),
     r"column 'c' has dtype category"),
    (lambda n: pd.array(np.arange(n) % 3, dtype="category"), r"column 'c' has dtype category"),
    (lambda n: np.array(["x"] * n, dtype=object), r"column 'c' .* not numbers, e.g. 'x'"),
])
def test_dataframe_columns_that_are_not_numbers_are_named(data, column, match):
    X, y = data
    df = pd.DataFrame(X[:, :4], columns=list("abcd"))
    df["c"] = column(len(df))
    with pytest.raises(ValueError, match=match):
        SkMNISTClassifier(**FAST).fit(df, y)


def test_mixed_label_types_are_named(data):
    X, y = data
    with pytest.raises(ValueError, match=r"y mixes label types: '0' \(str\), 1 \(number\)"):
        SkMNISTClassifier(**FAST).fit(X, np.array(["0", 1] * 20, dtype=object))
    with pytest.raises(ValueError, match="classes mixes label types"):
        SkMNISTClassifier(**FAST).partial_fit(X, y, classes=np.array([0, "1"], dtype=object))


@pytest.mark.parametrize("seed", [-1, 2**32, 2**40, True])
def test_random_state_out_of_numpys_range_names_it(data, seed):
    with pytest.raises(ValueError, match="random_state must be"):
        SkMNISTClassifier(max_epochs=1, device="cpu", random_state=seed).fit(*data)


def test_batch_of_one_with_batch_norm_names_batch_size():
    rng = np.random.RandomState(0)
    X, y = rng.rand(10, 2, 2), np.arange(10) % 2
    with pytest.raises(ValueError, match=r"batch normalisation .* batch_size >= 2 \(it is 1\)"):
        SkMNISTClassifier(arch="cnn", batch_size=1, **FAST).fit(X, y)
    # without batch norm, or with batches of two, it trains
    SkMNISTClassifier(arch="cnn", batch_size=1, batch_norm=False, **FAST).fit(X, y)
    SkMNISTClassifier(arch="cnn", batch_size=2, **FAST).fit(X, y)


def test_fine_tuner_gets_the_same_checks(data, fitted):
    X, y = data
    with pytest.raises(ValueError, match="float32"):
        SkMNISTFineTuner(fitted, **FAST).fit(np.full_like(X, 1e39), y)
    with pytest.raises(ValueError, match="y mixes label types"):
        SkMNISTFineTuner(fitted, **FAST).fit(X, np.array(["a", 2] * 20, dtype=object))


# ---------------------------------------------------------------------- checkpoints
def test_an_epochs_row_is_printed_after_its_checkpoint(data, tmp_path, monkeypatch, capsys):
    X, y = data
    seen = []
    original = EpochLog.flush

    def flush(self):
        if self.pending_:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seen.append(load(tmp_path / "checkpoint.skmnist", device="cpu").n_iter_)
        original(self)

    monkeypatch.setattr(EpochLog, "flush", flush)
    SkMNISTClassifier(max_epochs=3, verbose=1, checkpoint_dir=tmp_path, device="cpu",
                      random_state=0).fit(X, y)
    assert seen == [1, 2, 3]  # when epoch k's row is printed, the file holds k epochs
    assert capsys.readouterr().out.count("\n") >= 5


def test_resume_removes_the_temp_files_of_a_killed_write(data, tmp_path):
    X, y = data
    SkMNISTClassifier(max_epochs=1, checkpoint_dir=tmp_path, device="cpu",
                      random_state=0).fit(X, y)
    for name in (".skmnist-abc123.tmp", ".skmnist-x.tmp"):
        (tmp_path / name).write_bytes(b"half a checkpoint")
    (tmp_path / "keep.tmp").write_bytes(b"not ours")
    clf = SkMNISTClassifier(max_epochs=1, checkpoint_dir=tmp_path, resume=True, device="cpu",
                            random_state=0).fit(X, y)
    assert clf.n_iter_ == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.skmnist", "keep.tmp"]


# --------------------------------------------------------------------------- colour
@pytest.mark.parametrize("no_color", [None, "1"])
def test_epoch_table_has_no_colour_codes_when_not_a_terminal(no_color):
    code = ("import numpy as np\nfrom skmnist import SkMNISTClassifier\n"
            "X = np.random.RandomState(0).rand(60, 64); y = np.arange(60) % 2\n"
            "SkMNISTClassifier(max_epochs=3, verbose=1, device='cpu', random_state=0)"
            ".fit(X, y)\n")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = no_color
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert "train_loss" in out and "\x1b[" not in out


def test_colour_on_a_terminal_unless_no_color(monkeypatch):
    from skmnist import _engine

    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _engine.use_color(Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not _engine.use_color(Tty())
