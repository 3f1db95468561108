"""Small building blocks shared by the architectures (torch only)."""

from torch import nn

from .._validation import check_float, check_int


def check_shape_args(model, **shape):
    """Check the data-shape arguments of a builder: positive ints, named in errors."""
    for key, value in shape.items():
        check_int(value, f"{model}: {key}", low=1)


def check_dropout(value, model):
    """A dropout probability in [0, 1)."""
    return check_float(value, f"{model}: dropout", low=0, high=1, high_open=True)


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
