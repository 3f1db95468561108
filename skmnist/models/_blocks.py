"""Small building blocks shared by the architectures (torch only)."""

import numbers

from torch import nn


def check_positive_int(value, name, model):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"{model}: {name} must be a positive integer, got {value!r}."
        )
    return int(value)


def check_int_tuple(value, name, model, allow_empty=True):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    try:
        value = tuple(value)
    except TypeError:
        raise ValueError(
            f"{model}: {name} must be a sequence of positive integers, "
            f"got {value!r}."
        ) from None
    if not allow_empty and not value:
        raise ValueError(f"{model}: {name} must not be empty.")
    return tuple(check_positive_int(v, f"every entry of {name}", model) for v in value)


def check_dropout(value, model):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{model}: dropout must be a float in [0, 1), got {value!r}.")
    return float(value)


def dense_stack(in_features, hidden_units, dropout):
    """Linear -> ReLU -> Dropout for each hidden layer; returns (layers, out_features)."""
    layers = []
    for units in hidden_units:
        layers += [nn.Linear(in_features, units), nn.ReLU(inplace=True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_features = units
    return layers, in_features


def init_weights(module):
    """Kaiming-normal for conv/linear layers feeding ReLUs, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
