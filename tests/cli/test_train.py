"""skmnist train on --data paths, and skmnist finetune."""

import warnings

import numpy as np
import pytest

import skmnist
from skmnist.__main__ import main
from skmnist.datasets import load_mnist_sample, write_idx

from .conftest import draw_digit


def _sample_subset(n=300):
    X, y = load_mnist_sample(return_X_y=True, as_images=True)
    idx = np.random.RandomState(0).permutation(len(y))[:n]
    return X[idx], y[idx]


def _train(data, out, *extra):
    return main(["train", "--data", str(data), "--arch", "mlp", "--epochs", "1", "-q",
                 "--device", "cpu", "-o", str(out), *extra])


def test_train_on_npz(tmp_path, capsys):
    X, y = _sample_subset()
    np.savez(tmp_path / "digits.npz", images=X, labels=y)
    assert _train(tmp_path / "digits.npz", tmp_path / "out", "--test-size", "50",
                  "--no-report") == 0
    text = capsys.readouterr().out
    assert "on 250 digits.npz images (10 classes), testing on 50." in text
    assert (tmp_path / "out" / "model.skmnist").exists()
    assert not (tmp_path / "out" / "report.md").exists()


def test_train_on_idx_folder(tmp_path, capsys):
    X, y = _sample_subset()
    folder = tmp_path / "idx"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", X[:240])
    write_idx(folder / "train-labels-idx1-ubyte.gz", y[:240].astype(np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte.gz", X[240:])
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y[240:].astype(np.uint8))
    assert _train(folder, tmp_path / "out", "--no-report") == 0
    assert "on 240 idx images (10 classes), testing on 60." in capsys.readouterr().out


def test_train_on_image_folder_with_validation_curves(tmp_path, capsys):
    for label, digit in (("1", "1"), ("7", "7")):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(12):
            draw_digit((30 + i, 40 - i), digit=digit).save(tmp_path / "imgs" / label / f"{i}.png")
    out = tmp_path / "out"
    assert _train(tmp_path / "imgs", out, "--test-size", "6", "--validation-fraction",
                  "0.25") == 0
    text = capsys.readouterr().out
    assert "on 18 imgs images (2 classes), testing on 6." in text
    model = skmnist.load(out / "model.skmnist")
    assert model.classes_.tolist() == [1, 7] and model.input_shape_ == (1, 28, 28)
    assert "valid_loss" in model.history_[-1]
    assert (out / "learning_curves.png").exists() and (out / "report.md").exists()


def test_train_with_no_training_images_is_an_error(tmp_path, capsys):
    X, y = _sample_subset(40)
    folder = tmp_path / "idx"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte", X)
    write_idx(folder / "t10k-labels-idx1-ubyte", y.astype(np.uint8))
    assert _train(folder, tmp_path / "out") == 1
    assert "no training images" in capsys.readouterr().err


def test_finetune_on_new_classes_with_few_labels(model_path, tmp_path, capsys):
    out = tmp_path / "tuned"
    rc = main(["finetune", "--model", str(model_path), "--data", "sample", "--classes", "5-9",
               "--labels-per-class", "10", "--epochs", "2", "--freeze", "backbone",
               "--device", "cpu", "-o", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "on 50 sample images (5 classes, at most 10 per class), testing on 500." in text
    assert "Held-out accuracy before fine-tuning:" in text  # the base knows digits 5-9
    accuracy = float(text.split("Held-out accuracy: ")[1].split()[0])
    assert 0.2 < accuracy <= 1
    tuned = skmnist.load(out / "model.skmnist")
    assert isinstance(tuned, skmnist.SkMNISTFineTuner)
    assert tuned.classes_.tolist() == [5, 6, 7, 8, 9] and tuned.head_replaced_
    assert tuned.n_iter_ == 2 and tuned.frozen_
    assert (out / "report.md").exists() and (out / "confusion_matrix.png").exists()


def test_finetune_freeze_none_on_an_image_folder(model_path, tmp_path, capsys):
    for label, digit in (("1", "1"), ("7", "7")):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(6):
            draw_digit((40, 30 + i), digit=digit).save(tmp_path / "imgs" / label / f"{i}.png")
    out = tmp_path / "tuned"
    assert main(["finetune", "-m", str(model_path), "--data", str(tmp_path / "imgs"),
                 "--freeze", "none", "--epochs", "1", "--test-size", "4", "-q",
                 "--no-report", "-o", str(out)]) == 0
    assert "frozen=none" in capsys.readouterr().out
    assert skmnist.load(out / "model.skmnist").classes_.tolist() == [1, 7]


@pytest.mark.parametrize("argv", [
    ["finetune", "--data", "sample"],
    ["finetune", "-m", "x", "--freeze", "everything"],
    ["finetune", "-m", "x", "--freeze", "-1"],
    ["finetune", "-m", "x", "--labels-per-class", "0"],
    ["train", "--test-size", "0"],
    ["train", "--test-size", "lots"],
    ["train", "--epochs", "0"],
])
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_finetune_on_images_of_another_size(model_path, tmp_path, capsys):
    X, y = _sample_subset(120)
    np.savez(tmp_path / "small.npz", X=X[:, ::2, ::2], y=y)  # 14x14 images
    assert main(["finetune", "-m", str(model_path), "--data", str(tmp_path / "small.npz"),
                 "--epochs", "1", "--test-size", "20", "-q", "--no-report",
                 "-o", str(tmp_path / "tuned")]) == 0
    text = capsys.readouterr().out
    assert "before fine-tuning" not in text and "Held-out accuracy: " in text
    tuned = skmnist.load(tmp_path / "tuned" / "model.skmnist")
    assert tuned.input_shape_ == (1, 14, 14) and tuned.model_input_shape_ == (1, 28, 28)


def test_ctrl_c_during_training_saves_last_epoch_and_exits_130(tmp_path, capsys, fail_at_batch):
    X, y = _sample_subset()
    np.savez(tmp_path / "digits.npz", images=X, labels=y)
    # 250 training images / batch 32 = 8 batches per epoch: batch 12 is in epoch 2.
    fail_at_batch(12, KeyboardInterrupt())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the CLI says it once, in its own words
        rc = _train(tmp_path / "digits.npz", tmp_path / "out", "--test-size", "50",
                    "--epochs", "3")
    assert rc == 130
    captured = capsys.readouterr()
    assert "Interrupted after 1 of 3 epochs" in captured.err
    assert (captured.out + captured.err).lower().count("interrupted") == 1
    assert "Held-out accuracy" not in captured.out
    model = skmnist.load(tmp_path / "out" / "model.skmnist")
    assert model.n_iter_ == 1 and model.interrupted_
    assert not (tmp_path / "out" / "report.md").exists()


def test_ctrl_c_in_the_first_epoch_saves_nothing(tmp_path, capsys, fail_at_batch):
    X, y = _sample_subset()
    np.savez(tmp_path / "digits.npz", images=X, labels=y)
    fail_at_batch(3, KeyboardInterrupt())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rc = _train(tmp_path / "digits.npz", tmp_path / "out", "--test-size", "50")
    assert rc == 130
    assert "nothing was trained, nothing saved" in capsys.readouterr().err
    assert not (tmp_path / "out" / "model.skmnist").exists()
