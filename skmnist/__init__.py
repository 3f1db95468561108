"""skmnist: PyTorch image classifiers as first-class scikit-learn estimators."""

__version__ = "0.1.0.dev0"

from ._augment import BatchAugmenter  # noqa: E402
from ._classifier import SkMNISTClassifier  # noqa: E402
from ._finetune import SkMNISTFineTuner  # noqa: E402
from .persistence import load, save  # noqa: E402

__all__ = [
    "BatchAugmenter",
    "SkMNISTClassifier",
    "SkMNISTFineTuner",
    "__version__",
    "load",
    "save",
]
