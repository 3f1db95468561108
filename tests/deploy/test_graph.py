"""export_torch: the same graph as a torch.export program, for PyTorch serving."""

import json

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline

from skmnist import SkMNISTClassifier, SkMNISTFineTuner
from skmnist.deploy import export_torch
from skmnist.deploy._graph import InferenceModule
from skmnist.preprocessing import PixelScaler

from .conftest import max_abs


def load_program(path):
    extra = {"skmnist.json": ""}
    program = torch.export.load(str(path), extra_files=extra)
    return program.module(), json.loads(extra["skmnist.json"])


def test_the_program_matches_predict_proba(fitted, sample, tmp_path):
    X, _ = sample
    path = export_torch(fitted, tmp_path / "model.pt2")
    module, meta = load_program(path)
    assert meta["input_shape"] == [1, 28, 28] and meta["estimator"] == "SkMNISTClassifier"
    np.testing.assert_array_equal(meta["classes"]["values"], fitted.classes_)
    for rows in (1, 1000):
        images = torch.tensor(X[-rows:].astype(np.float32)).reshape(rows, 1, 28, 28)
        with torch.inference_mode():
            proba = module(images).numpy()
        assert max_abs(proba, fitted.predict_proba(X[-rows:])) < 1e-4


def test_the_fine_tuners_adaptation_is_in_the_program(cnn, tmp_path):
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, (80, 3, 32, 32)).astype(np.uint8)
    tuner = SkMNISTFineTuner(cnn, max_epochs=1, device="cpu", random_state=0)
    tuner.fit(X, np.arange(80) % 4)
    module, _ = load_program(export_torch(tuner, tmp_path / "tuner.pt2"))
    with torch.inference_mode():
        proba = module(torch.as_tensor(X, dtype=torch.float32)).numpy()
    assert max_abs(proba, tuner.predict_proba(X)) < 1e-4


def test_the_inference_module_is_a_copy_in_eval_mode(cnn):
    module = InferenceModule(cnn)
    assert not module.training and not module.module.training
    assert module.module is not cnn.module_
    assert all(not p.requires_grad for p in module.parameters())
    assert all(p.requires_grad for p in cnn.module_.parameters())  # the estimator's: unchanged


def test_what_export_torch_refuses(cnn, train_part, tmp_path):
    X, y = train_part
    with pytest.raises(ValueError, match="not fitted yet"):
        export_torch(SkMNISTClassifier(), tmp_path / "m.pt2")
    pipe = make_pipeline(PixelScaler(), SkMNISTClassifier(arch="mlp", max_epochs=1,
                                                          device="cpu", random_state=0))
    with pytest.raises(TypeError, match="got Pipeline"):
        export_torch(pipe.fit(X, y), tmp_path / "m.pt2")

    class Branchy(torch.nn.Module):
        def __init__(self, in_channels, height, width, n_classes):
            super().__init__()
            self.linear = torch.nn.Linear(in_channels * height * width, n_classes)

        def forward(self, x):
            x = x.flatten(1)
            return self.linear(x) if x.mean() > 0 else self.linear(-x)

    clf = SkMNISTClassifier(arch=Branchy, max_epochs=1, device="cpu", random_state=0)
    with pytest.raises(ValueError, match=r"Branchy\) cannot be exported to a torch.export"):
        export_torch(clf.fit(X[:100], y[:100]), tmp_path / "m.pt2")
    assert not (tmp_path / "m.pt2").exists()
