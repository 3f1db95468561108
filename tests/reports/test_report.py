"""skmnist.reports: write_report and its figures."""

import json
import re

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from skmnist import SkMNISTClassifier
from skmnist.reports import (
    REPORT_FILES,
    plot_confusion_matrix,
    plot_learning_curves,
    plot_misclassified,
    write_report,
)


@pytest.fixture(scope="module")
def fitted(mnist_subset):
    X, y = mnist_subset
    clf = SkMNISTClassifier(arch="mlp", max_epochs=2, device="cpu", random_state=0,
                            validation_fraction=0.2)
    return clf.fit(X[:150], y[:150]), X[150:], y[150:]


def test_write_report_files_metrics_and_links(fitted, tmp_path):
    clf, X, y = fitted
    result = write_report(clf, X, y, tmp_path / "r", description="the last 50 images")
    files = result["files"]
    assert set(files) == set(REPORT_FILES)
    for key, path in files.items():
        assert path.endswith(REPORT_FILES[key])
        with open(path, "rb") as fh:
            head = fh.read(8)
        if path.endswith(".png"):
            assert head == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(clf.score(X, y)) == result["accuracy"]
    assert metrics["n_samples"] == 50
    assert metrics["n_errors"] == int(round(50 * (1 - result["accuracy"])))
    assert np.array(metrics["confusion_matrix"]).sum() == 50
    assert metrics["model"]["arch"] == "mlp" and metrics["model"]["input_shape"] == [1, 28, 28]
    assert [row["epoch"] for row in metrics["history"]] == [1, 2]
    assert "valid_acc" in metrics["history"][0]
    markdown = (tmp_path / "r" / "report.md").read_text()
    assert "Data: the last 50 images." in markdown
    assert f"**Accuracy: {result['accuracy']:.4f}" in markdown
    assert "| class | precision | recall | F1 | support |" in markdown
    for link in re.findall(r"\]\(([^)]+)\)", markdown):
        assert not link.startswith("/") and (tmp_path / "r" / link).exists()


def test_target_names_and_history_off(fitted, tmp_path):
    clf, X, y = fitted
    names = [f"digit {c}" for c in clf.classes_]
    result = write_report(clf, X, y, tmp_path, target_names=names, history=False)
    assert "learning_curves" not in result["files"]
    assert "digit 3" in result["metrics"]["per_class"]
    assert "| digit 3 |" in (tmp_path / "report.md").read_text()
    with pytest.raises(ValueError, match="target_names has 2 names"):
        write_report(clf, X, y, tmp_path, target_names=["a", "b"])


def test_stale_files_are_removed_and_perfect_scores(tmp_path):
    X = np.r_[np.zeros((10, 4)), np.ones((10, 4))]
    y = np.r_[np.zeros(10, int), np.ones(10, int)]
    (tmp_path / "misclassified.png").write_bytes(b"old")
    (tmp_path / "learning_curves.png").write_bytes(b"old")
    result = write_report(LogisticRegression().fit(X, y), X, y, tmp_path)
    assert result["accuracy"] == 1.0
    assert not (tmp_path / "misclassified.png").exists()
    assert not (tmp_path / "learning_curves.png").exists()
    assert "None: every image is correct." in (tmp_path / "report.md").read_text()


def test_any_classifier_without_predict_proba_and_unknown_labels(tmp_path):
    rng = np.random.RandomState(0)
    X, y = rng.rand(30, 64), np.arange(30) % 3
    clf = LinearSVC().fit(X, y)
    y_eval = y.copy()
    y_eval[:2] = 7  # a label the model never saw: counted as an error, not a crash
    result = write_report(clf, X, y_eval, tmp_path)
    assert "7" in result["metrics"]["per_class"]
    assert "misclassified" in result["files"]  # 64 values are drawn as 8x8 images
    assert "learning_curves" not in result["files"]
    tabular = write_report(LinearSVC().fit(X[:, :5], y), X[:, :5], y_eval, tmp_path)
    assert "misclassified" not in tabular["files"]
    with pytest.raises(ValueError, match="empty"):
        write_report(clf, X[:0], y[:0], tmp_path)


def test_plot_learning_curves():
    assert plot_learning_curves([]) is None
    assert plot_learning_curves([{"epoch": 1, "dur": 0.1}]) is None
    fig = plot_learning_curves([{"epoch": 1, "train_loss": 1.0, "valid_acc": 0.5},
                                {"epoch": 2, "train_loss": 0.5, "valid_acc": 0.7}])
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]


def test_plot_confusion_matrix_and_misclassified():
    display = plot_confusion_matrix(["a", "b", "b"], ["a", "a", "b"], labels=["a", "b"],
                                    target_names=["Ankle boot", "Bag"], title="t")
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == ["Ankle boot", "Bag"]
    assert plot_misclassified(np.zeros((0, 4)), [], [], input_shape=(1, 2, 2)) is None
    rgb = np.random.RandomState(0).rand(7, 3, 5, 5)
    fig = plot_misclassified(rgb, list(range(7)), [9] * 7, input_shape=(3, 5, 5),
                             confidence=np.full(7, 0.5), max_images=6)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titled) == 6 and titled[0] == "pred 9 (0.50)\ntrue 0"
