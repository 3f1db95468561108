"""skmnist: PyTorch image classifiers as first-class scikit-learn estimators."""

from ._augment import BatchAugmenter
from ._classifier import SkMNISTClassifier
from ._finetune import SkMNISTFineTuner
from ._version import __version__
from .persistence import load, save

__all__ = [
    "BatchAugmenter",
    "SkMNISTClassifier",
    "SkMNISTFineTuner",
    "__version__",
    "load",
    "save",
]
