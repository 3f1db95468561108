"""Deploying fitted models: ONNX export, int8 quantisation, inference without torch.

* :func:`export_onnx` writes a fitted skmnist estimator, search or pipeline
  as one ``.onnx`` file (input scaling, reshaping, the network, softmax and
  labels inside the graph), optionally quantised to int8;
* :class:`OnnxClassifier` predicts with such a file on ONNX Runtime, as a
  scikit-learn classifier that imports no torch;
* :func:`export_torch` saves the same graph as a ``torch.export`` program.

Importing skmnist also makes ``skl2onnx.to_onnx`` convert skmnist's
estimators and transformers: the converters are registered as soon as both
skl2onnx and the skmnist class are imported, in either order
(:mod:`skmnist.deploy._hook`). Everything here needs the ``onnx`` extra:
``pip install "skmnist[onnx]"``.

The public names are imported when first used (PEP 562), so that
``from skmnist import OnnxClassifier`` imports neither torch nor the
exporter.
"""

import importlib

# Public name -> the module that defines it.
_EXPORTS = {
    "OnnxClassifier": "._runtime",
    "export_onnx": "._export",
    "export_torch": "._graph",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'skmnist.deploy' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
