"""The hand-derived MLP step: autograd's loss and gradients, and where it applies."""

import numpy as np
import pytest
import torch
from torch import nn

from skmnist import SkMNISTClassifier, SkMNISTFineTuner
from skmnist import _engine
from skmnist._dense_step import dense_relu_layers, dense_relu_step
from skmnist.models import get_model
from skmnist.models.mlp import MLP


def _autograd(module, X, y, label_smoothing):
    module.zero_grad(set_to_none=True)
    logits = module(X)
    loss = nn.CrossEntropyLoss(label_smoothing=label_smoothing)(logits, y)
    loss.backward()
    return loss.detach(), logits.detach(), [p.grad.clone() for p in module.parameters()]


@pytest.mark.parametrize("hidden", [(), (7,), (5, 4)])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(16,), (1, 4, 4)])
def test_loss_logits_and_gradients_equal_autograd(hidden, label_smoothing, dtype, shape):
    torch.manual_seed(0)
    module = MLP(16, 3, hidden).to(dtype)
    X = torch.randn((11,) + shape, dtype=dtype)
    y = torch.tensor([0, 1, 2, 2, 1, 0, 0, 2, 1, 1, 0])
    loss_ref, logits_ref, grads_ref = _autograd(module, X, y, label_smoothing)
    for p in module.parameters():
        p.grad = torch.full_like(p, 99.0)  # replaced, not accumulated
    layers = dense_relu_layers(module)
    assert layers is not None and len(layers) == len(hidden) + 1
    loss, logits = dense_relu_step(layers, X, y, label_smoothing)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert loss.shape == () and loss.grad_fn is None
    torch.testing.assert_close(loss, loss_ref, rtol=tol, atol=tol)
    torch.testing.assert_close(logits, logits_ref, rtol=tol, atol=tol)
    for p, ref in zip(module.parameters(), grads_ref):
        torch.testing.assert_close(p.grad, ref, rtol=tol, atol=tol)


def test_dead_relu_units_get_no_gradient():
    torch.manual_seed(1)
    module = MLP(4, 2, (6,))
    with torch.no_grad():
        module.features[1].bias[:3] = -100.0  # units 0-2 never fire
    X, y = torch.randn(8, 4), torch.tensor([0, 1] * 4)
    _, _, grads_ref = _autograd(module, X, y, 0.0)
    dense_relu_step(dense_relu_layers(module), X, y)
    w1 = module.features[1].weight.grad
    assert torch.all(w1[:3] == 0)
    torch.testing.assert_close(w1, grads_ref[0])


def _cases():
    def dropout():
        return MLP(8, 3, (4,), dropout=0.5)

    def frozen():
        m = MLP(8, 3, (4,))
        m.features[1].weight.requires_grad_(False)
        return m

    def forward_hook():
        m = MLP(8, 3, (4,))
        m.classifier.register_forward_hook(lambda *a: None)
        return m

    def tensor_hook():
        m = MLP(8, 3, (4,))
        m.classifier.weight.register_hook(lambda g: g)
        return m

    def other_head():
        m = MLP(8, 3, (4,))
        m.classifier = nn.Sequential(nn.Linear(4, 3))
        return m

    def no_bias():
        m = MLP(8, 3, (4,))
        m.classifier = nn.Linear(4, 3, bias=False)
        return m

    def subclass():
        class MyMLP(MLP):
            def forward(self, x):
                return super().forward(x) * 2
        return MyMLP(8, 3, (4,))

    def half():
        return MLP(8, 3, (4,)).to(torch.bfloat16)

    def cnn():
        return get_model("cnn", in_channels=1, height=8, width=8, n_classes=3)

    def sequential():
        return nn.Sequential(nn.Flatten(), nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 3))

    return [dropout, frozen, forward_hook, tensor_hook, other_head, no_bias, subclass, half,
            cnn, sequential]


@pytest.mark.parametrize("make", _cases(), ids=lambda f: f.__name__)
def test_anything_else_trains_through_autograd(make):
    assert dense_relu_layers(make()) is None


def test_a_global_module_hook_rules_it_out():
    handle = nn.modules.module.register_module_forward_hook(lambda *a: None)
    try:
        assert dense_relu_layers(MLP(8, 3, (4,))) is None
    finally:
        handle.remove()
    assert dense_relu_layers(MLP(8, 3, (4,))) is not None


@pytest.fixture
def digits():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return X[:400].astype(np.float32), y[:400]


@pytest.fixture
def step_calls(monkeypatch):
    calls = []
    real = _engine.dense_relu_step

    def spy(*args, **kwargs):
        calls.append(args[3] if len(args) > 3 else kwargs.get("label_smoothing"))
        return real(*args, **kwargs)

    monkeypatch.setattr(_engine, "dense_relu_step", spy)
    return calls


def _fit(X, y, dense, monkeypatch, **params):
    monkeypatch.setattr(_engine.SkorchEngineNet, "dense_step", dense)
    clf = SkMNISTClassifier(arch="mlp", max_epochs=3, batch_size=64, random_state=0,
                            device="cpu", **params)
    return clf.fit(X, y)


@pytest.mark.parametrize("params", [{}, {"weight_decay": 1e-3, "label_smoothing": 0.1},
                                    {"optimizer": "sgd", "hidden_units": (16, 8)}])
def test_the_classifier_trains_the_mlp_with_it_as_with_autograd(digits, step_calls, monkeypatch,
                                                                 params):
    X, y = digits
    fast = _fit(X, y, True, monkeypatch, **params)
    assert len(step_calls) == 3 * int(np.ceil(len(X) / 64))  # every batch of the 3 epochs
    assert set(step_calls) == {params.get("label_smoothing", 0.0)}
    step_calls.clear()
    slow = _fit(X, y, False, monkeypatch, **params)
    assert step_calls == []
    np.testing.assert_allclose(fast.predict_proba(X), slow.predict_proba(X), atol=1e-4)
    np.testing.assert_allclose(fast.history_[:, "train_loss"], slow.history_[:, "train_loss"],
                               rtol=1e-4)


@pytest.mark.parametrize("params", [{"arch": "cnn", "augment": False},
                                    {"arch": "mlp", "dropout": 0.2},
                                    {"arch": "mlp", "precision": "bf16"},
                                    {"arch": "mlp", "optimizer": torch.optim.Adagrad},
                                    {"arch": "mlp", "optimizer": torch.optim.LBFGS}])
def test_the_classifier_keeps_autograd_elsewhere(digits, step_calls, params):
    X, y = digits
    SkMNISTClassifier(max_epochs=1, batch_size=64, random_state=0, device="cpu",
                      **params).fit(X[:128], y[:128])
    assert step_calls == []


def test_a_frozen_fine_tuned_mlp_keeps_autograd(digits, step_calls):
    X, y = digits
    base = SkMNISTClassifier(arch="mlp", max_epochs=1, random_state=0, device="cpu").fit(X, y)
    step_calls.clear()
    SkMNISTFineTuner(base, freeze="backbone", max_epochs=1, random_state=0).fit(X, y)
    assert step_calls == []
    SkMNISTFineTuner(base, freeze="none", max_epochs=1, random_state=0).fit(X, y)
    assert step_calls
