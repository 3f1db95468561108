"""Where the commands write (one convention) and what their output looks like in a file."""

import os
import subprocess
import sys

import numpy as np
import pytest

import skmnist
from skmnist.__main__ import main
from skmnist.datasets import load_mnist_sample


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    X, y = load_mnist_sample(return_X_y=True, as_images=True)
    idx = np.random.RandomState(0).permutation(len(y))[:300]
    np.savez(tmp_path / "digits.npz", images=X[idx], labels=y[idx])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_everything_lands_under_skmnist_output_by_default(workdir, capsys):
    common = ["--data", "digits.npz", "--test-size", "50", "--device", "cpu"]
    assert main(["train", "--arch", "mlp", "--epochs", "2", "-q", *common]) == 0
    out = workdir / "skmnist_output"
    assert (out / "model.skmnist").exists() and (out / "report.md").exists()
    # the report's learning curves: a validation curve by default, and what each curve is
    model = skmnist.load(out / "model.skmnist", device="cpu")
    assert model.validation_fraction == 0.1 and "valid_loss" in model.history_[-1]
    report = (out / "report.md").read_text()
    assert "10% of the training images held out" in report and "(dashed)" in report
    assert main(["evaluate", "-m", str(out / "model.skmnist"), *common]) == 0
    assert (out / "evaluation-digits.npz" / "report.md").exists()
    assert main(["evaluate", "-m", str(out), "--split", "all", *common]) == 0
    assert (out / "evaluation-digits.npz-all" / "metrics.json").exists()
    assert main(["finetune", "-m", str(out / "model.skmnist"), "--epochs", "1", "-q",
                 "--no-report", *common]) == 0
    assert (out / "finetuned" / "model.skmnist").exists()
    assert sorted(p.name for p in workdir.iterdir()) == ["digits.npz", "skmnist_output"]
    capsys.readouterr()


def test_validation_fraction_zero_means_none(workdir, capsys):
    assert main(["train", "--arch", "mlp", "--epochs", "1", "--data", "digits.npz",
                 "--test-size", "50", "--device", "cpu", "-q", "--validation-fraction", "0",
                 "-o", "run"]) == 0
    model = skmnist.load(workdir / "run" / "model.skmnist", device="cpu")
    assert model.validation_fraction is None and "valid_loss" not in model.history_[-1]
    assert "no validation curve" in (workdir / "run" / "report.md").read_text()
    with pytest.raises(SystemExit):
        main(["train", "--validation-fraction", "1.5"])
    assert "fraction in [0, 1)" in capsys.readouterr().err


def test_output_in_a_file_has_no_colour_codes(workdir):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("NO_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "skmnist", "train", "--arch", "mlp", "--epochs", "3",
         "--data", "digits.npz", "--test-size", "50", "--device", "cpu", "--no-report"],
        capture_output=True, text=True, env=env, cwd=workdir, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "train_loss" in proc.stdout and "valid_loss" in proc.stdout
    assert "\x1b[" not in proc.stdout + proc.stderr
