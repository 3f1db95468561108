"""export_onnx: one ``.onnx`` file from a fitted skmnist model or pipeline.

The export reads as: check the arguments, find what is exported (a search
exports its best estimator), convert it with skl2onnx and skmnist's
converters (:mod:`skmnist.deploy._converters`: the network through torch's
ONNX exporter, the transformers as ONNX operators), label the file with its
metadata (:mod:`skmnist.deploy._metadata`), quantise it if asked
(:mod:`skmnist.deploy._quantize`), check it and write it atomically.
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .. import preprocessing
from .._base import BaseSkMNIST
from .._version import __version__
from ..model_selection import ArchitectureSearchCV
from ._files import write_atomically
from ._metadata import METADATA_KEY, FORMAT_VERSION, dumps, encode_classes
from ._optional import require
from ._quantize import calibration_array, check_quantize, quantize_int8

#: The ONNX opset of exported files: torch's exporter's own (no version
#: conversion), with antialiased ``Resize``; ONNX Runtime 1.14 and later run it.
OPSET = 18
#: skmnist steps: their converters reshape their input to what they were fitted on.
_SKMNIST_STEPS = (BaseSkMNIST, preprocessing.ImageFlattener, preprocessing.ImageReshaper,
                  preprocessing.PixelScaler, preprocessing.PixelStandardizer,
                  preprocessing.ImageResizer)


def _unwrap(estimator):
    """What is converted: a search's ``best_estimator_``, a frozen estimator's estimator."""
    if isinstance(estimator, FrozenEstimator):
        return _unwrap(estimator.estimator)
    if isinstance(estimator, ArchitectureSearchCV):
        check_is_fitted(estimator)
        if not hasattr(estimator, "best_estimator_"):
            raise ValueError(
                "This ArchitectureSearchCV was fitted with refit=False, so it has no "
                "best_estimator_ to export: fit it with refit=True, or export a model "
                "refitted with best_params_.")
        return _unwrap(estimator.best_estimator_)
    if isinstance(estimator, BaseSkMNIST):
        check_is_fitted(estimator)
        return estimator
    if isinstance(estimator, Pipeline):
        final = estimator.steps[-1][1] if estimator.steps else None
        if final is None or final == "passthrough" or not is_classifier(final):
            raise TypeError(
                "export_onnx exports classifiers: the pipeline's last step must be a "
                f"fitted classifier (a SkMNISTClassifier, say), got {final!r}.")
        check_is_fitted(estimator)
        return estimator
    raise TypeError(
        "export_onnx takes a fitted SkMNISTClassifier, SkMNISTFineTuner, "
        "ArchitectureSearchCV (its best estimator is exported) or a Pipeline of skmnist "
        "(and scikit-learn) steps ending in a classifier, possibly in a FrozenEstimator; "
        f"got {type(estimator).__name__}.")


def _steps(model):
    """The steps of ``model`` in order, pipelines and searches flattened."""
    if isinstance(model, Pipeline):
        return [s for _, step in model.steps if step not in (None, "passthrough")
                for s in _steps(step)]
    if isinstance(model, ArchitectureSearchCV):
        return _steps(model.best_estimator_)
    return [model]


def _image_shape(steps, n_features):
    """``(c, h, w)`` of one input image, or None (tabular input, or not known)."""
    for step in steps:
        if isinstance(step, preprocessing.ImageReshaper):
            return list(step.image_shape_)
        if isinstance(step, preprocessing.ImageResizer):
            return list(step.input_shape_)
        if isinstance(step, BaseSkMNIST):  # (1, 1, n_features) for tabular input, as theirs
            if int(np.prod(step.input_shape_)) == n_features:
                return list(step.input_shape_)
            return None
        shape = getattr(step, "input_shape_", None)
        if isinstance(step, _SKMNIST_STEPS) and shape is not None and len(shape) > 1:
            return [1, *shape] if len(shape) == 2 else list(shape)
        if not isinstance(step, _SKMNIST_STEPS):
            return None  # a scikit-learn step: what it reads is its own business
    return None


def _metadata(estimator, model, steps, graph_input, quantize):
    final = steps[-1]
    n_features = int(model.n_features_in_)
    mean = getattr(model, "input_mean_", None) if isinstance(model, BaseSkMNIST) else None
    return {
        "format": FORMAT_VERSION,
        "classes": encode_classes(final.classes_),
        "n_features_in": n_features,
        "input_shape": _image_shape(steps, n_features),
        "graph_input_shape": graph_input,
        "input_mean": None if mean is None else np.asarray(mean, dtype=float).ravel().tolist(),
        "label": "label",
        "probabilities": "probabilities",
        "estimator": type(estimator).__name__,
        "quantize": quantize,
        "skmnist_version": __version__,
    }


def _graph_input(first, n_features):
    """The per-sample shape of the graph input: as the first step was fitted, if known.

    skmnist's pixel and layout transformers record the per-sample shape of
    what they were fitted on; the estimators (which take flat rows and images
    alike), the resizer and scikit-learn steps do not, and get flat rows.
    """
    shape = getattr(first, "input_shape_", None)
    if isinstance(first, (preprocessing.PixelScaler, preprocessing.PixelStandardizer,
                          preprocessing.ImageFlattener)) and shape is not None:
        return [int(s) for s in shape]
    return [n_features]


def _convert(model, steps, graph_input):
    """The float32 ONNX model of ``model``, whose input holds rows of ``graph_input``."""
    skl2onnx = require("skl2onnx", "skmnist.export_onnx")
    from skl2onnx.common.data_types import FloatTensorType

    from ._converters import register_all  # imports skl2onnx: the optional extra

    register_all()
    try:
        onnx_model = skl2onnx.to_onnx(
            model, initial_types=[("X", FloatTensorType([None, *graph_input]))],
            target_opset=OPSET,
            options={id(steps[-1]): {"zipmap": False}})
    except (RuntimeError, NotImplementedError) as exc:  # skl2onnx: no converter, bad types
        raise ValueError(
            f"skl2onnx cannot convert this {type(model).__name__}: {exc}. Every step needs "
            "an skl2onnx converter (skmnist registers its own; scikit-learn's are built "
            "in).") from exc
    outputs = [o.name for o in onnx_model.graph.output]
    if outputs[:2] != ["label", "probabilities"]:
        raise ValueError(f"Expected the outputs label and probabilities, got {outputs}.")
    return onnx_model


def export_onnx(estimator, path, *, quantize=None, calibration_X=None):
    """Export a fitted skmnist model or pipeline as one ONNX file.

    The graph takes the same X as ``predict``: float32 raw values (uint8
    pixels cast to float32, or whatever the model was fitted on), any number
    of rows (1 included). It returns ``label`` (the predicted
    ``classes_``, int64 or strings) and ``probabilities`` (float32,
    ``(n, n_classes)``), as skl2onnx's classifiers do with ``zipmap`` off.
    Input scaling, reshaping, the network (with the fine-tuner's input
    adaptation) and the softmax are inside the graph: serving needs ONNX
    Runtime only, e.g. through :class:`skmnist.OnnxClassifier`. The
    estimator is not changed.

    Parameters
    ----------
    estimator : SkMNISTClassifier, SkMNISTFineTuner, ArchitectureSearchCV or Pipeline
        A fitted skmnist estimator, a fitted search (its ``best_estimator_``
        is exported) or a fitted :class:`~sklearn.pipeline.Pipeline` of
        skmnist transformers and scikit-learn steps ending in a classifier;
        any of them may be wrapped in a :class:`~sklearn.frozen.FrozenEstimator`.
    path : str or path-like
        The ``.onnx`` file to write; an existing file is replaced atomically.
    quantize : {None, "int8"}, default=None
        ``"int8"``: static post-training quantisation with ONNX Runtime's
        tools, calibrated on ``calibration_X``: convolutions and dense layers
        run on int8 weights and activations (per-channel weight scales);
        input scaling and the softmax stay in float32.
    calibration_X : array-like, default=None
        Required with ``quantize="int8"``: a few hundred training images
        (raw, as for ``predict``) from which the activation ranges are
        measured.

    Returns
    -------
    path : str
        The path written.

    Raises
    ------
    ImportError
        When the ``onnx`` extra is missing (``pip install "skmnist[onnx]"``).
    TypeError
        For an estimator that cannot be exported.
    ValueError
        For an unfitted estimator, a bad ``quantize``/``calibration_X``, or
        a module or step that cannot be converted (named in the message).

    See Also
    --------
    skmnist.OnnxClassifier : Predict with the exported file, without torch.
    skmnist.deploy.export_torch : The same graph as a ``torch.export`` program.

    Notes
    -----
    The graph's input ``X`` is ``(n, n_features_in_)``: flat rows, the
    layout of skmnist's data sets; a pipeline whose first step is a
    :class:`~skmnist.preprocessing.PixelScaler`,
    :class:`~skmnist.preprocessing.PixelStandardizer` or
    :class:`~skmnist.preprocessing.ImageFlattener` takes the layout that
    step was fitted on (images ``(n, h, w)`` say). :class:`skmnist.OnnxClassifier`
    takes any layout and reshapes it. The file's ``"skmnist"`` metadata entry holds
    the class labels and input shape (:class:`skmnist.OnnxClassifier`
    reads it). Files use ONNX opset 18.

    Examples
    --------
    >>> import os, tempfile
    >>> import onnxruntime as ort
    >>> from skmnist import SkMNISTClassifier, export_onnx
    >>> from skmnist.datasets import load_mnist_sample
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = SkMNISTClassifier(arch="mlp", max_epochs=1, device="cpu", random_state=0)
    >>> clf = clf.fit(X[::10], y[::10])
    >>> path = export_onnx(clf, os.path.join(tempfile.mkdtemp(), "model.onnx"))
    >>> session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    >>> label, proba = session.run(None, {"X": X[:3].astype("float32")})
    >>> bool((label == clf.predict(X[:3])).all()), proba.shape
    (True, (3, 10))
    """
    check_quantize(quantize, calibration_X)
    onnx = require("onnx", "skmnist.export_onnx")
    model = _unwrap(estimator)
    steps = _steps(model)
    graph_input = _graph_input(steps[0], int(model.n_features_in_))
    if quantize == "int8":  # checked before the (slow) conversion
        calibration_X = calibration_array(calibration_X, int(model.n_features_in_), graph_input)
    onnx_model = _convert(model, steps, graph_input)
    if quantize == "int8":
        onnx_model = quantize_int8(onnx_model, calibration_X)
    metadata = _metadata(estimator, model, steps, graph_input, quantize)
    entry = onnx_model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, dumps(metadata)
    onnx.checker.check_model(onnx_model)
    return write_atomically(path, onnx_model.SerializeToString())

