"""skmnist: PyTorch image classifiers as first-class scikit-learn estimators."""

from ._classifier import SkMNISTClassifier

__version__ = "0.1.0.dev0"

__all__ = ["SkMNISTClassifier", "__version__"]
