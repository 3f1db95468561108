"""Every registered architecture (skmnist/models/cnn.py, lenet.py, mlp.py).

Tests parametrized over ``list_models()`` cover architectures registered
later without changes here.
"""

import numpy as np
import pytest
import torch
from torch import nn

from skmnist.models import LeNet5, MLP, SmallCNN, get_model, list_models, model_hyperparameters

SHAPES = [(1, 28, 28), (1, 8, 8), (3, 32, 32), (1, 2, 2), (1, 1, 5)]
N_CLASSES = 7

# Invalid values for hyperparameter names the built-in architectures share;
# an architecture taking one of these names must reject these values.
BAD_HYPERPARAMETERS = {
    "dropout": [1.5, 1.0, -0.1, "0.1", True],
    "channels": [(-1,), (8, 0), (), "abc", None],
    "hidden_units": [(-4,), (16, 0), (2.5,), None],
    "batch_norm": ["yes", 1, None],
}
BAD_SHAPES = {
    "in_channels": [0, -1, 1.0, True],
    "height": [0, -28],
    "width": [0, 2.5],
    "n_classes": [0, -3, None],
}


def _build(name, shape=(1, 8, 8), n_classes=N_CLASSES, **params):
    c, h, w = shape
    return get_model(name, in_channels=c, height=h, width=w, n_classes=n_classes, **params)


def _bad_hyperparameter_cases():
    cases = []
    for name in list_models():
        for param in model_hyperparameters(name):
            for value in BAD_HYPERPARAMETERS.get(param, []):
                cases.append(pytest.param(name, param, value, id=f"{name}-{param}={value!r}"))
    return cases


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list_models())
def test_builds_and_maps_images_to_logits(name, shape):
    torch.manual_seed(0)
    module = _build(name, shape)
    assert isinstance(module, nn.Module)
    x = torch.randn(4, *shape)
    module.eval()
    with torch.no_grad():
        out = module(x)
    assert out.shape == (4, N_CLASSES)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    # Logits, not probabilities: no softmax inside the module.
    assert not torch.allclose(out.sum(dim=1), torch.ones(4))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list_models())
def test_trains_every_parameter(name, shape):
    torch.manual_seed(0)
    module = _build(name, shape).train()
    x = torch.randn(4, *shape)
    loss = nn.functional.cross_entropy(module(x), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    for pname, p in module.named_parameters():
        assert p.grad is not None, f"{name}: {pname} gets no gradient"
        assert torch.isfinite(p.grad).all()


@pytest.mark.parametrize("name", list_models())
def test_module_is_pure(name):
    module = _build(name)
    for sub in module.modules():
        for attr, value in vars(sub).items():
            assert not isinstance(value, (torch.optim.Optimizer, torch.device)), (name, attr)
            assert not isinstance(value, nn.modules.loss._Loss), (name, attr)
        for attr in ("optimizer", "optimizer_", "device", "criterion", "loss_fn"):
            assert not hasattr(sub, attr), f"{name}: {type(sub).__name__}.{attr}"
        assert not any(isinstance(v, nn.modules.loss._Loss) for v in sub.children())
    for p in module.parameters():
        assert p.device.type == "cpu" and p.dtype == torch.float32


@pytest.mark.parametrize("name", list_models())
def test_forward_is_deterministic_in_eval_mode_and_leaves_input_alone(name):
    torch.manual_seed(0)
    params = {"dropout": 0.5} if "dropout" in model_hyperparameters(name) else {}
    module = _build(name, (1, 8, 8), **params).eval()
    x = torch.randn(6, 1, 8, 8)
    x_before = x.clone()
    with torch.no_grad():
        first = module(x)
        torch.manual_seed(123)  # the RNG must not matter in eval mode
        second = module(x)
    assert torch.equal(first, second)
    assert torch.equal(x, x_before)
    # In train mode dropout (when present) does make outputs random.
    if params:
        module.train()
        with torch.no_grad():
            assert not torch.equal(module(x), module(x))


@pytest.mark.parametrize("name", list_models())
def test_seeded_build_is_reproducible(name):
    torch.manual_seed(42)
    a = _build(name)
    torch.manual_seed(42)
    b = _build(name)
    torch.manual_seed(43)
    c = _build(name)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


@pytest.mark.parametrize("name", list_models())
def test_two_builds_share_no_parameters(name):
    a, b = _build(name), _build(name)
    pa = {id(p) for p in a.parameters()}
    assert not pa & {id(p) for p in b.parameters()}


@pytest.mark.parametrize(("name", "param", "value"), _bad_hyperparameter_cases())
def test_bad_hyperparameter_is_value_error_naming_it(name, param, value):
    with pytest.raises(ValueError, match=param):
        _build(name, **{param: value})


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize(
    ("param", "value"),
    [(p, v) for p, values in BAD_SHAPES.items() for v in values],
    ids=lambda v: repr(v),
)
def test_bad_shape_is_value_error_naming_it(name, param, value):
    shape = dict(in_channels=1, height=8, width=8, n_classes=3)
    shape[param] = value
    with pytest.raises(ValueError, match=param):
        get_model(name, **shape)


def test_cnn_rejects_empty_channels():
    with pytest.raises(ValueError, match="channels must not be empty"):
        _build("cnn", channels=())


def test_cnn_hyperparameters_reach_the_layers():
    module = _build("cnn", (3, 32, 32), channels=(8, 16), hidden_units=(24, 12),
                    dropout=0.3, batch_norm=True)
    assert isinstance(module, SmallCNN)
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    assert [m.in_channels for m in convs] == [3, 8]
    assert [m.out_channels for m in convs] == [8, 16]
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [24, 12, N_CLASSES]
    assert linears[0].in_features == 16 * 8 * 8  # two 2x2 poolings of 32x32
    drops = [m for m in module.modules() if isinstance(m, nn.Dropout)]
    assert drops and all(m.p == 0.3 for m in drops)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in module.modules()) == 2


def test_cnn_without_batch_norm_or_dropout():
    module = _build("cnn", channels=(4,), dropout=0.0, batch_norm=False)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.Dropout)) for m in module.modules())
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    assert all(m.bias is not None for m in convs)  # no batch norm: convs need a bias


def test_cnn_accepts_an_int_for_one_block():
    module = _build("cnn", channels=8)
    assert [m.out_channels for m in module.modules() if isinstance(m, nn.Conv2d)] == [8]


def test_cnn_stops_pooling_at_one_pixel():
    module = _build("cnn", (1, 2, 2), channels=(4, 4, 4), hidden_units=())
    assert sum(isinstance(m, nn.MaxPool2d) for m in module.modules()) == 1
    assert module.classifier.in_features == 4


def test_mlp_hyperparameters_reach_the_layers():
    module = _build("mlp", (1, 1, 5), hidden_units=[16, 8], dropout=0.2)
    assert isinstance(module, MLP)
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(5, 16), (16, 8), (8, N_CLASSES)]
    assert [m.p for m in module.modules() if isinstance(m, nn.Dropout)] == [0.2, 0.2]


def test_mlp_without_hidden_layers_is_linear():
    module = _build("mlp", (3, 4, 4), hidden_units=())
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(48, N_CLASSES)]


def test_lenet5_layers():
    module = _build("lenet5", (1, 28, 28), dropout=0.1)
    assert isinstance(module, LeNet5)
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.out_channels, m.kernel_size) for m in convs] == [(6, (5, 5)), (16, (5, 5))]
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (16 * 5 * 5, 120), (120, 84), (84, N_CLASSES)]
    # Dropout before each of the two dense layers of the head.
    assert [m.p for m in module.head if isinstance(m, nn.Dropout)] == [0.1, 0.1]


def test_weights_are_initialised_for_relu():
    torch.manual_seed(0)
    module = _build("mlp", (1, 1, 400), hidden_units=(512,))
    first = module.features[1]
    assert torch.count_nonzero(first.bias) == 0
    # Kaiming-normal (fan_in, ReLU gain): std = sqrt(2 / fan_in).
    assert first.weight.std().item() == pytest.approx(np.sqrt(2 / 400), rel=0.05)


@pytest.mark.parametrize(
    "params",
    [
        {"channels": (np.int64(8),)},
        {"hidden_units": (np.int32(16),)},
        {"dropout": np.float32(0.25)},
        {"in_channels": np.int64(1)},
    ],
    ids=["channels", "hidden_units", "dropout", "in_channels"],
)
def test_numpy_scalar_hyperparameters_are_accepted(params):
    shape = dict(in_channels=1, height=8, width=8, n_classes=3)
    shape.update(params)
    module = get_model("cnn", **shape)
    assert isinstance(module, nn.Module)
