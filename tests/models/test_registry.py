"""The architecture registry (skmnist/models/_registry.py)."""

import inspect

import pytest
from torch import nn

from skmnist.models import _registry, get_model, list_models, model_hyperparameters, register_model

SHAPE = dict(in_channels=1, height=8, width=8, n_classes=3)


@pytest.fixture
def isolated_registry(monkeypatch):
    """Registrations made by a test are undone afterwards."""
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))


def test_list_models_is_sorted_and_has_the_builtins():
    names = list_models()
    assert names == sorted(names)
    assert {"cnn", "lenet5", "mlp"} <= set(names)
    assert all(isinstance(n, str) and n for n in names)


def test_list_models_returns_a_copy():
    names = list_models()
    names.append("not_a_model")
    names.remove("cnn")
    assert "cnn" in list_models()
    assert "not_a_model" not in list_models()


@pytest.mark.parametrize("name", ["not_a_model", "CNN", "", None, 3])
def test_get_model_unknown_name_lists_known_names(name):
    with pytest.raises(ValueError, match="Unknown architecture") as exc:
        get_model(name, **SHAPE)
    for known in list_models():
        assert known in str(exc.value)
    assert "register_model" in str(exc.value)


@pytest.mark.parametrize("name", list_models())
def test_get_model_unknown_hyperparameter(name):
    with pytest.raises(ValueError, match=r"does not take the parameter\(s\) \['not_a_param'\]"):
        get_model(name, not_a_param=1, **SHAPE)


def test_get_model_unknown_hyperparameter_message_lists_accepted():
    with pytest.raises(ValueError) as exc:
        get_model("mlp", channels=(8,), **SHAPE)
    message = str(exc.value)
    assert "'channels'" in message
    assert "'hidden_units'" in message and "'dropout'" in message


@pytest.mark.parametrize("name", ["not_a_model", None])
def test_model_hyperparameters_unknown_name(name):
    with pytest.raises(ValueError, match="Unknown architecture"):
        model_hyperparameters(name)


def test_model_hyperparameters_of_builtins():
    assert model_hyperparameters("mlp") == {"hidden_units": (128,), "dropout": 0.0}
    assert model_hyperparameters("lenet5") == {"dropout": 0.0}
    assert model_hyperparameters("cnn") == {
        "channels": (32, 64), "hidden_units": (128,), "dropout": 0.25, "batch_norm": True,
    }


@pytest.mark.parametrize("name", list_models())
def test_model_hyperparameters_exclude_shape_and_have_defaults(name):
    params = model_hyperparameters(name)
    assert not set(params) & set(_registry.SHAPE_PARAMS)
    for key, default in params.items():
        assert default is not inspect.Parameter.empty, f"{name}: {key} has no default"
    # The defaults are valid: passing them explicitly builds the same architecture.
    explicit = get_model(name, **SHAPE, **params)
    implicit = get_model(name, **SHAPE)
    assert repr(explicit) == repr(implicit)


def test_register_custom_builder(isolated_registry):
    def tiny_linear(*, in_channels=1, height=28, width=28, n_classes=10, bias=True):
        return nn.Sequential(
            nn.Flatten(), nn.Linear(in_channels * height * width, n_classes, bias=bias))

    returned = register_model("tiny_linear")(tiny_linear)
    assert returned is tiny_linear
    assert "tiny_linear" in list_models()
    assert model_hyperparameters("tiny_linear") == {"bias": True}
    module = get_model("tiny_linear", in_channels=3, height=4, width=5, n_classes=7, bias=False)
    assert module[1].in_features == 60
    assert module[1].out_features == 7
    assert module[1].bias is None
    with pytest.raises(ValueError, match="does not take"):
        get_model("tiny_linear", dropout=0.1)


def test_registered_builder_with_var_kwargs(isolated_registry):
    @register_model("kw_model")
    def kw_model(*, in_channels=1, height=2, width=2, n_classes=2, width_mult=1, **extra):
        return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * height * width, n_classes))

    assert model_hyperparameters("kw_model") == {"width_mult": 1}


def test_register_builder_missing_shape_args_is_type_error(isolated_registry):
    def no_shape(*, n_classes=10, hidden=3):
        return nn.Linear(1, n_classes)

    with pytest.raises(TypeError, match=r"missing \['in_channels', 'height', 'width'\]"):
        register_model("no_shape")(no_shape)
    assert "no_shape" not in list_models()


@pytest.mark.parametrize("name", ["", None, 3, ("cnn",)])
def test_register_model_bad_name(name, isolated_registry):
    with pytest.raises(ValueError, match="non-empty string"):
        register_model(name)


# --------------------------------------------------------------------------
# Builders travelling to other processes (export_builders / import_builders)
# --------------------------------------------------------------------------


def _tiny(*, in_channels, height, width, n_classes, width_=4):
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * height * width, width_),
                         nn.ReLU(), nn.Linear(width_, n_classes))


def test_export_builders_skips_builtins_and_unknown_names(isolated_registry):
    register_model("exported_tiny")(_tiny)
    payloads = _registry.export_builders()
    assert set(payloads) == {"exported_tiny"}
    assert _registry.export_builders(["cnn", "mlp", "nope", None, "exported_tiny"]).keys() \
        == {"exported_tiny"}
    assert _registry.export_builders(["cnn"]) == {}


def test_import_builders_registers_missing_names(isolated_registry):
    register_model("travelling")(_tiny)
    payloads = _registry.export_builders(["travelling"])
    del _registry._REGISTRY["travelling"]
    assert "travelling" not in list_models()
    _registry.import_builders(payloads)
    assert "travelling" in list_models()
    assert get_model("travelling", **SHAPE)[3].out_features == 3


def test_import_builders_keeps_this_process_registration(isolated_registry):
    register_model("taken")(_tiny)
    payloads = _registry.export_builders(["taken"])

    def other(*, in_channels, height, width, n_classes):
        return nn.Linear(1, 1)

    _registry._REGISTRY["taken"] = other
    _registry.import_builders(payloads)
    assert _registry._REGISTRY["taken"] is other


def test_import_builders_skips_payloads_that_cannot_be_loaded(isolated_registry):
    _registry.import_builders({"broken": b"not a pickle", "none": None})
    _registry.import_builders(None)
    assert "broken" not in list_models() and "none" not in list_models()
