"""skmnist evaluate: metrics and the report of a saved model."""

import json
import re

import numpy as np
import pytest

import skmnist
from skmnist.__main__ import main
from skmnist.cli._data import load_data

REPORT_FILES = ("report.md", "report.html", "metrics.json", "confusion_matrix.png",
                "learning_curves.png", "misclassified.png")


def test_evaluate_writes_every_report_file(model_path, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["evaluate", "--model", str(model_path), "--data", "sample", "--device", "cpu",
                 "--output", str(out)]) == 0
    text = capsys.readouterr().out
    for name in REPORT_FILES:
        assert (out / name).stat().st_size > 0, name
    markdown = (out / "report.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", markdown)
    assert {"confusion_matrix.png", "learning_curves.png", "misclassified.png",
            "metrics.json"} <= set(links)
    for link in links:
        assert (out / link).exists(), link  # relative links that resolve
    for src in re.findall(r'(?:src|href)="([^"]+)"', (out / "report.html").read_text()):
        assert (out / src).exists(), src
    metrics = json.loads((out / "metrics.json").read_text())
    data = load_data("sample")
    model = skmnist.load(model_path)
    assert metrics["accuracy"] == pytest.approx(model.score(data.X_test, data.y_test))
    assert metrics["n_samples"] == 1000
    assert f"Accuracy: {metrics['accuracy']:.4f}" in text
    assert "precision" in text and "f1-score" in text  # the per-class table


def test_evaluate_json_on_npz_split_all(model_path, tmp_path, capsys):
    X, y = load_data("sample").X_test[:60], load_data("sample").y_test[:60]
    np.savez(tmp_path / "d.npz", X=X, y=y)
    assert main(["evaluate", "-m", str(model_path), "--data", str(tmp_path / "d.npz"),
                 "--split", "all", "--json", "-o", str(tmp_path / "r")]) == 0
    out, err = capsys.readouterr()
    metrics = json.loads(out)
    assert metrics["n_samples"] == 60
    assert set(metrics["per_class"]) == {str(c) for c in range(10)}
    assert err == ""


def test_evaluate_wrong_shape_is_a_one_line_error(model_path, tmp_path, capsys):
    np.savez(tmp_path / "small.npz", X=np.zeros((20, 8, 8)), y=np.arange(20) % 2)
    assert main(["evaluate", "-m", str(model_path), "--data", str(tmp_path / "small.npz"),
                 "-o", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("skmnist: error: ") and err.count("\n") == 1
    assert "shape" in err


def test_evaluate_needs_a_model():
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--data", "sample"])
    assert exc.value.code == 2
