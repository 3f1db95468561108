"""The benchmark scripts still run (smoke runs on the bundled sample; nothing is timed).

The figures come from full runs documented in benchmarks/README.md; these
tests only keep the scripts from rotting and check the shape of their JSON.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).parents[1] / "benchmarks"


def _run(script, *args, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *args, "--json", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout, json.loads(out.read_text())


def test_bench_train_comparison_over_seeds(tmp_path):
    stdout, report = _run("bench_train.py", "--data", "sample", "--n-train", "300",
                          "--arch", "both", "--epochs", "1", "--repeats", "2",
                          "--vary-seed", "--memory", "none", tmp_path=tmp_path)
    archs = [c["arch"] for c in report["comparisons"]]
    assert archs == ["cnn", "mlp"]
    for comparison in report["comparisons"]:
        assert comparison["seeds"] == [0, 1]
        assert comparison["same_initial_weights_as_torch_loop"] == {
            "skorch_default": True, "skmnist": True}
        for variant in comparison["variants"]:
            runs = comparison["runs"][variant]
            assert [r["seed"] for r in runs] == [0, 1]
            assert all(0 <= r["test_acc"] <= 1 and r["s_per_epoch"] > 0 for r in runs)
    assert "MLPClassifier" in report["comparisons"][1]["variants"]
    assert {"lean_loop", "lean_loop_plain", "lean_loop_channels_last"} <= set(
        report["comparisons"][0]["variants"])
    assert "`skmnist` / `lean_loop_plain` time per epoch" in stdout
    assert "test accuracy over seeds [0, 1]" in stdout
    assert "`skmnist` / `torch_loop` time per epoch" in stdout


def test_bench_train_time_to_accuracy(tmp_path):
    stdout, report = _run("bench_train.py", "--data", "sample", "--n-train", "300",
                          "--time-to-accuracy", "0.2", "--tta-epochs", "1,2",
                          tmp_path=tmp_path)
    tta = report["time_to_accuracy"]
    assert tta["reached"] is not None and tta["reached"]["max_epochs"] == 1
    assert tta["rows"][0]["test_acc"] >= 0.2
    assert "reached 0.2 with max_epochs=1" in stdout


def test_bench_overhead_busy_and_cold(tmp_path):
    stdout, report = _run("bench_overhead.py", "--mode", "busy", "--max-epochs", "1",
                          "--n-train", "200", "--repeats", "1", "--competitor-limit", "60",
                          tmp_path=tmp_path)
    assert set(report["busy_over_quiet"]) == {"None", "-1"}
    assert "one competing CPU-bound process" in stdout
    stdout, report = _run("bench_overhead.py", "--mode", "cold", "--repeats", "1",
                          tmp_path=tmp_path)
    assert report["ratio"] > 0 and "skmnist / plain torch" in stdout
    assert set(report["times"]) == {"skmnist", "skmnist_full_exit", "torch"}
    assert "skmnist with the full exit collection / plain torch" in stdout


def test_bench_train_lean_loop_on_digits(tmp_path):
    stdout, report = _run("bench_train.py", "--data", "digits", "--arch", "mlp",
                          "--hidden-units", "16", "--batch-size", "200", "--epochs", "2",
                          "--repeats", "1", "--memory", "none", tmp_path=tmp_path)
    assert {"lean_loop", "skmnist_autograd"} <= set(report["comparisons"][0]["variants"])
    assert "`skmnist` / `lean_loop` time per epoch" in stdout
    assert "`skmnist` / `skmnist_autograd` time per epoch" in stdout


def test_bench_deploy_smoke(tmp_path):
    pytest.importorskip("onnxruntime")
    stdout, report = _run("bench_deploy.py", "--data", "sample", "--fast", "--arch", "mlp",
                          tmp_path=tmp_path)
    assert report


def _glibc_linux():
    from skmnist import _heap
    return sys.platform.startswith("linux") and _heap._libc() is not None


@pytest.mark.skipif(not _glibc_linux(), reason="the malloc tuning needs glibc on Linux")
def test_bench_overhead_heap(tmp_path):
    stdout, report = _run("bench_overhead.py", "--mode", "heap", "--repeats", "1",
                          "--n-train", "200", "--batch-sizes", "32", "--n-jobs", "1",
                          tmp_path=tmp_path)
    assert set(report["times"]) == {"batch 32 tuned=False", "batch 32 tuned=True"}
    assert report["tuned_over_untuned"]["32"] > 0 and "tuned / left alone" in stdout


def test_bench_predict_smoke(tmp_path):
    stdout, report = _run("bench_predict.py", "--rows", "32,64", "--repeats", "1",
                          "--calls", "2", "--n-train", "100", "--n-predict", "300",
                          tmp_path=tmp_path)
    assert report["chosen"] == 64  # the default CNN on 28x28 images
    assert set(report["results"]) == {"32", "64"}
    assert "| 64 (chosen) |" in stdout
