"""The ``skmnist`` command (``python -m skmnist``); subcommands in detail: ``tests/cli/``."""

import json

import numpy as np
import pytest

import skmnist
from skmnist.__main__ import main
from skmnist.datasets import _fetch, write_idx


def test_train_on_sample_reports_accuracy_and_saves(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["train", "--arch", "mlp", "--epochs", "1", "--device", "cpu",
               "--output", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "Held-out accuracy: 0." in text
    assert "train_loss" in text  # the per-epoch progress table
    model = skmnist.load(out / "model.skmnist")
    assert model.arch_ == "mlp"
    accuracy = float(text.split("Held-out accuracy: ")[1].split()[0])
    assert accuracy > 0.8
    # ... and writes the report on the held-out images
    for name in ("report.md", "report.html", "metrics.json", "confusion_matrix.png",
                 "learning_curves.png", "misclassified.png"):
        assert (out / name).exists(), name
    assert f"Report: {out / 'report.md'}" in text
    # evaluate sees the same held-out split for the same --data and --seed
    rc = main(["evaluate", "--model", str(out / "model.skmnist"), "--device", "cpu",
               "--output", str(tmp_path / "report"), "--json"])
    assert rc == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n_samples"] == 1000
    assert round(metrics["accuracy"], 4) == accuracy


def test_default_command_is_train(tmp_path, capsys):
    rc = main(["--arch", "mlp", "--epochs", "1", "--quiet", "-o", str(tmp_path)])
    assert rc == 0
    assert "train_loss" not in capsys.readouterr().out
    assert (tmp_path / "model.skmnist").exists()


def test_missing_data_path_is_a_one_line_error(tmp_path, capsys):
    rc = main(["train", "--data", str(tmp_path / "nowhere"), "-q"])
    assert rc == 1
    err = capsys.readouterr().err
    assert err.startswith("skmnist: error: --data:") and err.count("\n") == 1


def test_info(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert "skmnist" in text and "cnn" in text and "CUDA available" in text


def test_train_on_idx_files_from_data_home(tmp_path, capsys):
    rng = np.random.RandomState(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for prefix, n in (("train", 60), ("t10k", 20)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz",
                  rng.randint(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    rc = main(["train", "--data", "mnist", "--data-home", str(tmp_path), "--arch", "mlp",
               "--epochs", "1", "-q", "--no-report", "-o", str(tmp_path / "out")])
    assert rc == 0
    assert "on 60 mnist images" in capsys.readouterr().out


def test_missing_data_is_a_one_line_error_with_exit_1(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_fetch, "MNIST_URLS", ())  # nothing to download from: offline
    rc = main(["train", "--data", "mnist", "--data-home", str(tmp_path), "-q"])
    assert rc == 1
    err = capsys.readouterr().err
    assert err.startswith("skmnist: error:")
    assert str(tmp_path) in err


def test_bad_arch_is_a_clean_error(tmp_path, capsys):
    rc = main(["train", "--arch", "resnet900", "--epochs", "1", "-o", str(tmp_path)])
    assert rc == 1
    assert "Unknown arch='resnet900'" in capsys.readouterr().err


def test_usage_error_exits_2():
    with pytest.raises(SystemExit) as exc:
        main(["train", "--epochs", "many"])
    assert exc.value.code == 2
