"""The optional dependencies of :mod:`skmnist.deploy` (the ``onnx`` extra).

Imported only when an export or an ONNX model is used, so that skmnist
itself never needs them. A missing one is an ``ImportError`` that names the
extra to install.
"""

import importlib

#: What ``pip install "skmnist[onnx]"`` brings: import name -> distribution name.
ONNX_EXTRA = {
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    "onnxscript": "onnxscript",
    "skl2onnx": "skl2onnx",
}

INSTALL_HINT = 'pip install "skmnist[onnx]"'


def require(name, purpose):
    """Import and return the module ``name``, or raise an ImportError saying how to get it.

    Parameters
    ----------
    name : str
        An import name of :data:`ONNX_EXTRA` (``"onnxruntime"``, ...).
    purpose : str
        What needs it, for the message (``"skmnist.export_onnx"``).

    Returns
    -------
    module : module
        The imported module.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(
            f"{purpose} needs the {ONNX_EXTRA.get(name, name)!r} package, which is not "
            f"installed (or failed to import: {exc}). Install skmnist's ONNX extra: "
            f"{INSTALL_HINT}"
        ) from exc
