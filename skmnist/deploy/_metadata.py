"""What an exported ``.onnx`` file says about itself, and the labels it can carry.

:func:`skmnist.export_onnx` writes one JSON entry, ``"skmnist"``, into the
model's ``metadata_props``; :class:`skmnist.OnnxClassifier` reads it back
through ONNX Runtime (``custom_metadata_map``), so neither torch nor the
``onnx`` package is needed to serve a model. This module imports numpy only.

The entry holds

* ``format``: :data:`FORMAT_VERSION`;
* ``classes``: ``classes_`` as ``{"dtype": ..., "values": [...]}`` (the
  encoding of skmnist's saved-model format);
* ``n_features_in``: values per sample;
* ``input_shape``: the ``(channels, height, width)`` of one input image
  (``(1, 1, n_features)`` for tabular input), or None when not known;
* ``graph_input_shape``: the per-sample shape of the graph's input ``X``;
* ``input_mean``: the exported skmnist estimator's ``input_mean_`` (None
  for pipelines): the pixel range the model was trained on;
* ``label`` and ``probabilities``: the names of the two graph outputs;
* ``estimator``: the class of what was exported; ``quantize``: None or
  ``"int8"``; ``skmnist_version``.
"""

import json
import numbers

import numpy as np

METADATA_KEY = "skmnist"
FORMAT_VERSION = 1


def label_kind(classes):
    """``"int64"`` or ``"string"``: how ONNX carries these class labels.

    Integer and boolean labels travel as int64, strings as strings, as in
    skl2onnx's own classifiers. Float labels travel as int64 when every one
    is a whole number (skl2onnx's rule); any other label type raises.

    Parameters
    ----------
    classes : array-like of shape (n_classes,)
        The estimator's ``classes_``.

    Returns
    -------
    kind : {"int64", "string"}
    """
    classes = np.asarray(classes)
    if classes.dtype == np.bool_ or np.issubdtype(classes.dtype, np.integer):
        return "int64"
    if classes.dtype.kind in "US":
        return "string"
    if np.issubdtype(classes.dtype, np.floating):
        if np.all(np.isfinite(classes)) and np.all(classes == np.round(classes)):
            return "int64"
        raise ValueError(
            f"The class labels {classes.tolist()} are floats that are not whole numbers, "
            "which ONNX classifiers cannot carry (labels travel as int64 or strings). "
            "Fit the model with integer or string labels.")
    if classes.dtype == object:
        if all(isinstance(c, str) for c in classes):
            return "string"
        if all(isinstance(c, numbers.Integral) for c in classes):
            return "int64"
    raise ValueError(
        f"Class labels of dtype {classes.dtype} ({classes.tolist()[:5]}...) cannot be carried "
        "by an ONNX classifier: only integer, boolean and string labels can. Fit the model "
        "with integer or string labels.")


def onnx_labels(classes):
    """``classes`` as the array the graph's label output is made of (int64 or str)."""
    classes = np.asarray(classes)
    if label_kind(classes) == "int64":
        return classes.astype(np.int64)
    return np.asarray([str(c) for c in classes])


def encode_classes(classes):
    """``classes_`` as JSON: ``{"dtype": ..., "values": [...]}``."""
    arr = np.asarray(classes)
    return {"dtype": "object" if arr.dtype == object else arr.dtype.str,
            "values": arr.tolist()}


def decode_classes(entry):
    """The inverse of :func:`encode_classes`."""
    dtype = object if entry["dtype"] == "object" else np.dtype(entry["dtype"])
    return np.asarray(entry["values"], dtype=dtype)


def dumps(metadata):
    """The metadata entry as the string stored in the model."""
    return json.dumps(metadata, sort_keys=True)


def loads(text, path):
    """Parse and check the metadata entry of the model at ``path``."""
    try:
        metadata = json.loads(text)
    except ValueError:
        raise ValueError(f"{path!r}: its {METADATA_KEY!r} metadata entry is not valid JSON; "
                         "export the model again with skmnist.export_onnx.") from None
    version = metadata.get("format") if isinstance(metadata, dict) else None
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path!r} was written by a newer skmnist (metadata format {version!r}; this "
            f"version reads format {FORMAT_VERSION} and older): upgrade skmnist.")
    return metadata
