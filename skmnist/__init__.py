"""skmnist: PyTorch image classifiers as first-class scikit-learn estimators.

The public names are imported when first used (PEP 562), so that
``import skmnist`` and the ``skmnist`` command's ``--help`` do not pay for
torch and scikit-learn until an estimator is needed.
"""

import importlib

from ._version import __version__
from .deploy._hook import install as _install_skl2onnx_hook

# Public name -> the module that defines it.
_EXPORTS = {
    "BatchAugmenter": "._augment",
    "OnnxClassifier": ".deploy._runtime",
    "SkMNISTClassifier": "._classifier",
    "SkMNISTFineTuner": "._finetune",
    "export_onnx": ".deploy._export",
    "load": ".persistence",
    "save": ".persistence",
}

__all__ = sorted([*_EXPORTS, "__version__"])

# skl2onnx.to_onnx learns skmnist's converters as soon as both skl2onnx and the
# skmnist class are imported, in either order, without importing either here.
_install_skl2onnx_hook()


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value
    raise AttributeError(f"module 'skmnist' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
