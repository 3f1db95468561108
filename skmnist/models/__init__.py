"""Architectures as plain ``torch.nn.Module`` objects, registered by name.

This sub-package imports torch only: no scikit-learn, skorch, data or
device code lives here.
"""

from . import cnn as _cnn  # noqa: F401  (registers "cnn")
from . import lenet as _lenet  # noqa: F401  (registers "lenet5")
from . import mlp as _mlp  # noqa: F401  (registers "mlp")
from ._registry import get_model, list_models, model_hyperparameters, register_model
from .cnn import SmallCNN
from .lenet import LeNet5
from .mlp import MLP

__all__ = [
    "LeNet5",
    "MLP",
    "SmallCNN",
    "get_model",
    "list_models",
    "model_hyperparameters",
    "register_model",
]
