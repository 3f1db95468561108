"""Ctrl-C during fit, per-epoch checkpoints and resuming a killed fit."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from skmnist import SkMNISTClassifier, SkMNISTFineTuner


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.rand(120, 8, 8).astype(np.float32)
    y = (X[:, :4].mean(axis=(1, 2)) > X[:, 4:].mean(axis=(1, 2))).astype(int)
    return X, y


def _clf(**kwargs):
    params = dict(channels=(4,), hidden_units=(8,), batch_size=16, max_epochs=4,
                  device="cpu", random_state=0)
    params.update(kwargs)
    return SkMNISTClassifier(**params)


def _checkpoint_epochs(folder):
    with zipfile.ZipFile(os.path.join(folder, "checkpoint.skmnist")) as archive:
        return json.loads(archive.read("metadata.json"))["fitted"]["n_iter_"]


def test_ctrl_c_keeps_last_completed_epoch_and_says_so(data, monkeypatch, fail_at_batch, tmp_path):
    X, y = data
    # 120 samples / 16 per batch = 8 batches per epoch: batch 20 is in epoch 3.
    fail_at_batch(20, KeyboardInterrupt())
    clf = _clf(checkpoint_dir=tmp_path)
    with pytest.warns(UserWarning, match="interrupted.*during epoch 3.*epoch \\(2\\)"):
        clf.fit(X, y)
    assert clf.interrupted_
    assert clf.n_iter_ == 2
    assert len(clf.history_) == 2
    # The weights are exactly those of the checkpoint written after epoch 2.
    from skmnist import load

    after_two = load(tmp_path / "checkpoint.skmnist")
    np.testing.assert_array_equal(clf.predict_proba(X), after_two.predict_proba(X))
    assert clf.predict(X).shape == (len(X),)


def test_early_stopping_is_not_an_interrupt(data):
    X, y = data
    clf = _clf(lr=1e-9, n_iter_no_change=1, max_epochs=10, lr_schedule=None).fit(X, y)
    assert clf.n_iter_ < 10
    assert clf.interrupted_ is False


def test_other_errors_propagate(data, monkeypatch, fail_at_batch):
    X, y = data
    fail_at_batch(3, RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        _clf().fit(X, y)


def test_resume_after_crash_equals_uninterrupted_fit(data, monkeypatch, fail_at_batch, tmp_path):
    X, y = data
    reference = _clf().fit(X, y)
    fail_at_batch(20, RuntimeError("power cut"))
    with pytest.raises(RuntimeError, match="power cut"):
        _clf(checkpoint_dir=tmp_path).fit(X, y)
    assert _checkpoint_epochs(tmp_path) == 2
    monkeypatch.undo()
    resumed = _clf(checkpoint_dir=tmp_path, resume=True).fit(X, y)
    assert resumed.n_iter_ == 4
    assert len(resumed.history_) == 4
    np.testing.assert_array_equal(resumed.predict_proba(X), reference.predict_proba(X))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.skmnist"]


def test_resume_of_a_finished_run_trains_nothing(data, tmp_path):
    X, y = data
    done = _clf(checkpoint_dir=tmp_path).fit(X, y)
    again = _clf(checkpoint_dir=tmp_path, resume=True).fit(X, y)
    assert again.n_iter_ == 4
    np.testing.assert_array_equal(again.predict_proba(X), done.predict_proba(X))


def test_resume_without_checkpoint_starts_fresh(data, tmp_path):
    X, y = data
    clf = _clf(max_epochs=2, checkpoint_dir=tmp_path / "new", resume=True).fit(X, y)
    assert clf.n_iter_ == 2
    assert _checkpoint_epochs(tmp_path / "new") == 2


def test_resume_with_other_parameters_is_refused(data, tmp_path):
    X, y = data
    _clf(max_epochs=1, checkpoint_dir=tmp_path).fit(X, y)
    with pytest.raises(ValueError, match="other parameters \\(lr\\)"):
        _clf(max_epochs=1, lr=0.5, checkpoint_dir=tmp_path, resume=True).fit(X, y)


def test_bad_checkpoint_settings(data):
    X, y = data
    with pytest.raises(ValueError, match="resume=True needs checkpoint_dir"):
        _clf(resume=True).fit(X, y)
    with pytest.raises(ValueError, match="resume must be True or False"):
        _clf(resume="yes").fit(X, y)
    with pytest.raises(ValueError, match="checkpoint_dir must be a folder path"):
        _clf(checkpoint_dir=3).fit(X, y)

    def builder(*, in_channels, height, width, n_classes):
        import torch

        return torch.nn.Sequential(torch.nn.Flatten(),
                                   torch.nn.Linear(in_channels * height * width, n_classes))

    with pytest.raises(ValueError, match="cannot be stored"):
        SkMNISTClassifier(arch=builder, checkpoint_dir="unused").fit(X, y)


def test_fine_tuner_checkpoints_and_resumes(data, monkeypatch, fail_at_batch, tmp_path):
    X, y = data
    base = _clf(max_epochs=1).fit(X, y)
    reference = SkMNISTFineTuner(base, max_epochs=3, batch_size=16, device="cpu",
                                 random_state=0).fit(X, 1 - y)
    fail_at_batch(12, RuntimeError("crash"))
    with pytest.raises(RuntimeError):
        SkMNISTFineTuner(base, max_epochs=3, batch_size=16, device="cpu", random_state=0,
                         checkpoint_dir=tmp_path).fit(X, 1 - y)
    monkeypatch.undo()
    resumed = SkMNISTFineTuner(base, max_epochs=3, batch_size=16, device="cpu",
                               random_state=0, checkpoint_dir=tmp_path, resume=True)
    resumed.fit(X, 1 - y)
    np.testing.assert_array_equal(resumed.predict_proba(X), reference.predict_proba(X))


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_kill_9_mid_fit_then_resume(data, tmp_path):
    X, y = data
    np.savez(tmp_path / "data.npz", X=X, y=y)
    script = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        import torch
        torch.set_num_threads({__import__("torch").get_num_threads()})  # same kernels
        from skmnist import SkMNISTClassifier
        from skmnist._engine import SkorchEngineNet

        original = SkorchEngineNet.train_step
        calls = [0]
        def train_step(self, batch, **kw):
            calls[0] += 1
            if calls[0] == 21:  # in epoch 3
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, batch, **kw)
        SkorchEngineNet.train_step = train_step

        d = np.load({str(tmp_path / "data.npz")!r})
        SkMNISTClassifier(channels=(4,), hidden_units=(8,), batch_size=16, max_epochs=4,
                          device="cpu", random_state=0,
                          checkpoint_dir={str(tmp_path / "ckpt")!r}).fit(d["X"], d["y"])
    """)
    proc = subprocess.run([sys.executable, "-c", script], timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert _checkpoint_epochs(tmp_path / "ckpt") == 2
    resumed = _clf(checkpoint_dir=tmp_path / "ckpt", resume=True).fit(X, y)
    reference = _clf().fit(X, y)
    np.testing.assert_array_equal(resumed.predict_proba(X), reference.predict_proba(X))
