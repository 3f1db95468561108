"""skmnist export, and .onnx models in skmnist predict and evaluate."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from skmnist.__main__ import main
from skmnist.cli._export import default_output

for _name in ("onnx", "onnxruntime", "onnxscript", "skl2onnx"):  # the onnx extra
    pytest.importorskip(_name)


@pytest.fixture(scope="module")
def onnx_path(model_path, tmp_path_factory):
    """The fixture model exported by the command (float32)."""
    out = tmp_path_factory.mktemp("export") / "model.onnx"
    assert main(["export", "-m", str(model_path), "-o", str(out)]) == 0
    return out


def one_line_error(capsys):
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("skmnist: error: ") and err.count("\n") == 1, err
    return err


def test_export_writes_an_onnx_file_that_predicts_like_the_model(onnx_path, model_path,
                                                                 capsys):
    import skmnist
    from skmnist import OnnxClassifier
    from skmnist.datasets import load_mnist_sample

    X, _ = load_mnist_sample(return_X_y=True)
    model = skmnist.load(model_path, device="cpu")
    onnx_clf = OnnxClassifier(onnx_path)
    assert np.abs(onnx_clf.predict_proba(X[:500]) - model.predict_proba(X[:500])).max() < 1e-4
    assert onnx_clf.metadata_["quantize"] is None


def test_predict_and_evaluate_accept_an_onnx_model(onnx_path, model_path, drawn, tmp_path,
                                                   capsys):
    files = sorted(str(p) for p in drawn.iterdir())
    outputs = []
    for model in (model_path, onnx_path):
        assert main(["predict", "-m", str(model), *files, "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    for torch_row, onnx_row in zip(*outputs):
        assert onnx_row["label"] == torch_row["label"]
        assert onnx_row["probability"] == pytest.approx(torch_row["probability"], abs=1e-4)
    metrics = []
    for model, folder in ((model_path, "torch"), (onnx_path, "onnx")):
        assert main(["evaluate", "-m", str(model), "--json", "-o",
                     str(tmp_path / folder)]) == 0
        metrics.append(json.loads(capsys.readouterr().out))
    assert metrics[1]["accuracy"] == metrics[0]["accuracy"]
    assert (tmp_path / "onnx" / "report.md").is_file()


def test_int8_export_with_sample_calibration(model_path, tmp_path, capsys):
    out = tmp_path / "int8.onnx"
    assert main(["export", "-m", str(model_path), "-o", str(out), "--int8", "--calibration",
                 "sample", "--calibration-size", "200", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info == {"path": str(out), "bytes": os.path.getsize(out), "format": "ONNX, int8",
                    "calibration": "sample"}
    fp32 = tmp_path / "fp32.onnx"
    assert main(["export", "-m", str(model_path), "-o", str(fp32)]) == 0
    out_text = capsys.readouterr().out
    assert out_text.startswith(f"Wrote {fp32} (ONNX, float32, ")
    assert os.path.getsize(fp32) / os.path.getsize(out) >= 3.5
    assert main(["evaluate", "-m", str(out), "--json", "-o", str(tmp_path / "r")]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] > 0.8


def test_int8_calibration_from_a_path(model_path, tmp_path, capsys):
    from skmnist.datasets import load_mnist_sample

    X, y = load_mnist_sample(return_X_y=True)
    data = tmp_path / "digits.npz"
    np.savez(data, X=X[::10], y=y[::10])
    out = tmp_path / "int8.onnx"
    assert main(["export", "-m", str(model_path), "-o", str(out), "--int8",
                 "--calibration", str(data), "--calibration-size", "100"]) == 0
    assert "(ONNX, int8, " in capsys.readouterr().out


def test_default_output_names(tmp_path):
    assert default_output("out/model.skmnist", False) == "out/model.onnx"
    assert default_output("out/model.skmnist", True) == "out/model-int8.onnx"
    assert default_output(str(tmp_path), False) == str(tmp_path / "model.onnx")


def test_export_next_to_the_model_and_as_a_torch_program(model_path, tmp_path, capsys):
    import shutil

    import torch

    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(model_path, folder / "model.skmnist")
    assert main(["export", "-m", str(folder)]) == 0
    assert (folder / "model.onnx").is_file()
    capsys.readouterr()
    assert main(["export", "-m", str(folder), "-o", str(tmp_path / "m.pt2")]) == 0
    assert "torch.export program" in capsys.readouterr().out
    program = torch.export.load(str(tmp_path / "m.pt2")).module()
    assert program(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("argv, match", [
    (["--calibration", "sample"], "--calibration only applies with --int8"),
    (["--int8", "-o", "{tmp}/m.pt2"], "--int8 applies to ONNX files"),
    (["--int8", "--calibration", "{tmp}/nothing"], "--calibration: .* no such file"),
])
def test_export_errors_are_one_line(model_path, tmp_path, capsys, argv, match):
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert main(["export", "-m", str(model_path), "-o", str(tmp_path / "m.onnx"), *argv]) == 1
    assert __import__("re").search(match, one_line_error(capsys))
    assert not (tmp_path / "m.onnx").exists()


def test_exporting_an_onnx_model_is_refused(onnx_path, tmp_path, capsys):
    assert main(["export", "-m", str(onnx_path), "-o", str(tmp_path / "again.onnx")]) == 1
    assert "is an ONNX file already" in one_line_error(capsys)


def test_an_onnx_file_skmnist_did_not_write_is_one_line(tmp_path, drawn, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"nope")
    assert main(["predict", "-m", str(bad), str(drawn)]) == 1
    assert "not an ONNX model ONNX Runtime can load" in one_line_error(capsys)


def test_a_missing_extra_names_it(model_path, tmp_path):
    code = ("import sys\nsys.modules['skl2onnx'] = None  # as if not installed\n"
            "from skmnist.cli import main\n"
            f"sys.exit(main(['export', '-m', {str(model_path)!r}, '-o', "
            f"{str(tmp_path / 'm.onnx')!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith("skmnist: error: skmnist.export_onnx needs the 'skl2onnx' "
                                  "package")
    assert 'pip install "skmnist[onnx]"' in proc.stderr and proc.stderr.count("\n") == 1


def test_export_help_imports_nothing_heavy():
    code = ("import contextlib, io, sys\nfrom skmnist.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try:\n        main(['export', '--help'])\n    except SystemExit:\n        pass\n"
            "assert '--int8' in out.getvalue()\n"
            "print(sorted(m for m in ('torch', 'sklearn', 'onnx', 'onnxruntime', 'skl2onnx') "
            "if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_export_a_saved_pipeline(tmp_path, capsys):
    from sklearn.pipeline import make_pipeline

    import skmnist
    from skmnist import OnnxClassifier, SkMNISTClassifier
    from skmnist.datasets import load_mnist_sample
    from skmnist.preprocessing import PixelScaler

    X, y = load_mnist_sample(return_X_y=True)
    pipe = make_pipeline(PixelScaler(), SkMNISTClassifier(
        arch="mlp", hidden_units=(16,), max_epochs=1, device="cpu", random_state=0))
    pipe.fit(X[::10], y[::10])
    skmnist.save(pipe, tmp_path / "pipe.skmnist")
    out = tmp_path / "pipe-int8.onnx"
    assert main(["export", "-m", str(tmp_path / "pipe.skmnist"), "--int8",
                 "--calibration-size", "100"]) == 0
    assert f"Wrote {out} (ONNX, int8" in capsys.readouterr().out
    agreement = np.mean(OnnxClassifier(out).predict(X[1::10]) == pipe.predict(X[1::10]))
    assert agreement > 0.95
