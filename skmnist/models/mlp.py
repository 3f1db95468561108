"""The multi-layer perceptron (torch only)."""

from torch import nn

from .._validation import check_int_tuple
from ._blocks import check_dropout, check_shape_args, dense_stack, init_weights
from ._registry import register_model


class MLP(nn.Module):
    """A fully connected network on flattened images or tabular features.

    Parameters
    ----------
    in_features : int
        Number of input values per sample (``channels * height * width``).
    n_classes : int
        Number of outputs (logits).
    hidden_units : tuple of int, default=(128,)
        Width of each hidden layer; ``()`` gives a linear (softmax) model.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    """

    def __init__(self, in_features, n_classes, hidden_units=(128,), dropout=0.0):
        super().__init__()
        layers, last = dense_stack(in_features, hidden_units, dropout)
        self.features = nn.Sequential(nn.Flatten(), *layers)
        self.classifier = nn.Linear(last, n_classes)
        init_weights(self)

    def forward(self, x):
        return self.classifier(self.features(x))


@register_model("mlp")
def mlp(*, in_channels=1, height=28, width=28, n_classes=10, hidden_units=(128,), dropout=0.0):
    """Build an :class:`MLP` for inputs of shape ``(in_channels, height, width)``.

    Parameters
    ----------
    in_channels, height, width : int
        The per-sample input shape (tabular data: ``1, 1, n_features``).
    n_classes : int
        Number of classes.
    hidden_units : tuple of int, default=(128,)
        Width of each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.

    Returns
    -------
    module : MLP
    """
    name = "mlp"
    check_shape_args(name, in_channels=in_channels, height=height, width=width,
                     n_classes=n_classes)
    hidden_units = check_int_tuple(hidden_units, f"{name}: hidden_units")
    return MLP(in_channels * height * width, n_classes, hidden_units, check_dropout(dropout, name))
