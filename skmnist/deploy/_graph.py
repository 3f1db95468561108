"""The torch side of deployment: what ``predict`` computes, as one exportable module.

:class:`InferenceModule` holds a copy of a fitted estimator's network in
evaluation mode on the CPU together with what ``predict`` does before and
after it: it takes the validated images ``(n, c, h, w)`` as float32 raw
values, standardises them with ``input_mean_``/``input_std_``, adapts them
to the network's input (the fine-tuner's channel and size adaptation, the
estimator's own ``_adapt_input``, so the two can never disagree) and returns
the logits. :func:`export_logits_onnx` exports it with torch's ONNX exporter
(``torch.onnx.export(dynamo=True)``, which needs ``onnxscript``);
:func:`export_torch` saves it, with a softmax, as a ``torch.export``
program for PyTorch serving.

The estimator is never changed: its module is deep-copied before it is put
in evaluation mode, moved to the CPU and to the default memory layout
(skmnist trains its convnets channels-last on the CPU).
"""

import copy
import io
import json
import re
import warnings

import torch
from torch import nn

from .._base import BaseSkMNIST
from .._version import __version__
from ._files import write_atomically
from ._metadata import encode_classes
from ._optional import require

#: Rows of the example input the module is traced with (the batch size is dynamic).
_EXAMPLE_ROWS = 2
#: The oldest ONNX opset torch's exporter writes.
MIN_OPSET = 18
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class InferenceModule(nn.Module):
    """Raw float32 images ``(n, c, h, w)`` -> the logits ``predict`` takes the argmax of.

    Parameters
    ----------
    estimator : BaseSkMNIST
        A fitted :class:`~skmnist.SkMNISTClassifier` or
        :class:`~skmnist.SkMNISTFineTuner`; its module is copied.
    softmax : bool, default=False
        Return probabilities (``predict_proba``) instead of logits.
    """

    def __init__(self, estimator, *, softmax=False):
        super().__init__()
        module = estimator.module_
        module = copy.deepcopy(getattr(module, "_orig_mod", module))  # torch.compile
        self.module = module.cpu().eval().to(memory_format=torch.contiguous_format)
        self.module.requires_grad_(False)
        mean, std = estimator.input_mean_, estimator.input_std_
        self.standardise = mean is not None
        if self.standardise:
            self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        self.softmax = softmax
        # A bound method of the estimator: the very adaptation predict applies.
        self._adapt = estimator._adapt_input
        self.eval()

    def forward(self, x):
        if self.standardise:
            x = (x - self.mean) / self.std
        logits = self.module(self._adapt(x))
        return torch.softmax(logits, dim=1) if self.softmax else logits


def check_exportable(estimator):
    """Raise unless ``estimator`` is a fitted skmnist estimator (a module to export)."""
    if not isinstance(estimator, BaseSkMNIST):
        raise TypeError(
            f"Expected a fitted SkMNISTClassifier or SkMNISTFineTuner, got "
            f"{type(estimator).__name__}.")
    if not hasattr(estimator, "net_"):
        raise ValueError(
            f"This {type(estimator).__name__} is not fitted yet: call fit before exporting it.")


def _example(estimator):
    return torch.zeros((_EXAMPLE_ROWS, *estimator.input_shape_), dtype=torch.float32)


def _dynamic_batch():
    return ({0: torch.export.Dim("batch")},)


def _reason(exc):
    """The informative part of an exporter error: its stage and the op or construct.

    torch's exporter wraps the real error (``GuardOnDataDependentSymNode``,
    ``DispatchError: No ONNX function found for <OpOverload(op=...)>``) in
    an error about the stage that failed, with colour codes and advice about
    its own report files; the message keeps the stage and the innermost
    error's first line.
    """
    def first_line(error):
        text = _ANSI.sub("", str(error)).strip()
        return text.splitlines()[0].strip() if text else type(error).__name__

    innermost = exc
    while innermost.__cause__ is not None:
        innermost = innermost.__cause__
    stage = first_line(exc).split(". ")[0].rstrip(".")
    if innermost is exc:
        return f"{type(exc).__name__}: {stage[:500]}"
    return f"{stage}: {type(innermost).__name__}: {first_line(innermost)[:500]}"


def _export_error(estimator, what, exc):
    module = getattr(estimator.module_, "_orig_mod", estimator.module_)
    return ValueError(
        f"The module of this {type(estimator).__name__} ({type(module).__module__}."
        f"{type(module).__qualname__}) cannot be exported to {what}: {_reason(exc)}. "
        "Exports need a module torch.export can trace (no data-dependent Python control "
        "flow) whose ops have ONNX translations; rewrite the unsupported part of forward, "
        "or use skmnist.save for Python deployments.")


def export_logits_onnx(estimator, opset):
    """The logits graph of ``estimator`` as an ONNX ``ModelProto``.

    Input ``x``: float32 ``(n, c, h, w)`` raw images, ``n`` dynamic; output:
    the float32 logits ``(n, n_classes)``. Local functions are inlined, so
    the graph uses the standard ONNX domain only.

    Parameters
    ----------
    estimator : BaseSkMNIST
        A fitted skmnist estimator.
    opset : int
        The ONNX opset to write (at least :data:`MIN_OPSET`).

    Returns
    -------
    model : onnx.ModelProto
    """
    check_exportable(estimator)
    require("onnxscript", "Exporting a skmnist model to ONNX")
    onnx = require("onnx", "Exporting a skmnist model to ONNX")
    if opset < MIN_OPSET:
        raise ValueError(
            f"target_opset={opset} is too old for torch's ONNX exporter, which writes "
            f"opset {MIN_OPSET} and newer; pass target_opset >= {MIN_OPSET}.")
    module = InferenceModule(estimator)
    try:
        with warnings.catch_warnings():
            # The exporter's progress notes and deprecation chatter are not the user's.
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module, (_example(estimator),), dynamo=True, opset_version=opset,
                input_names=["x"], output_names=["logits"], dynamic_shapes=_dynamic_batch(),
                verbose=False, report=False, optimize=True)
    except Exception as exc:  # torch raises many types; all mean "cannot export this"
        raise _export_error(estimator, "ONNX", exc) from exc
    model = program.model_proto
    if model.functions:
        model = onnx.inliner.inline_local_functions(model)
    return model


def export_torch(estimator, path):
    """Save a fitted skmnist estimator as a ``torch.export`` program (``.pt2``).

    The program is the graph :func:`skmnist.export_onnx` writes, in
    PyTorch: it takes float32 raw images ``(n, channels, height, width)``
    (any ``n``) and returns ``predict_proba``'s probabilities, input
    scaling and (for the fine-tuner) input adaptation included. Load it with
    ``torch.export.load(path).module()``; the class labels and input shape
    are in the file's extra entry ``"skmnist.json"``. The estimator is not
    changed.

    Parameters
    ----------
    estimator : SkMNISTClassifier or SkMNISTFineTuner
        A fitted skmnist estimator (not a pipeline: transformers have no
        torch program; use :func:`skmnist.export_onnx` for pipelines).
    path : str or path-like
        Where to write the program; an existing file is replaced
        atomically.

    Returns
    -------
    path : str
        The path written.

    See Also
    --------
    skmnist.export_onnx : The same graph as an ONNX file, with labels.

    Examples
    --------
    >>> import json, os, tempfile, torch
    >>> from skmnist import SkMNISTClassifier
    >>> from skmnist.datasets import load_mnist_sample
    >>> from skmnist.deploy import export_torch
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = SkMNISTClassifier(arch="mlp", max_epochs=1, device="cpu", random_state=0)
    >>> clf = clf.fit(X[::10], y[::10])
    >>> path = export_torch(clf, os.path.join(tempfile.mkdtemp(), "model.pt2"))
    >>> extra = {"skmnist.json": ""}
    >>> program = torch.export.load(path, extra_files=extra)
    >>> proba = program.module()(torch.as_tensor(X[:2], dtype=torch.float32).reshape(2, 1, 28, 28))
    >>> bool(abs(proba.numpy() - clf.predict_proba(X[:2])).max() < 1e-4)
    True
    >>> json.loads(extra["skmnist.json"])["classes"]["values"]
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    check_exportable(estimator)
    module = InferenceModule(estimator, softmax=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.export(module, (_example(estimator),),
                                          dynamic_shapes=_dynamic_batch())
    except Exception as exc:
        raise _export_error(estimator, "a torch.export program", exc) from exc
    extra = json.dumps({
        "classes": encode_classes(estimator.classes_),
        "input_shape": [int(s) for s in estimator.input_shape_],
        "estimator": type(estimator).__name__,
        "skmnist_version": __version__,
    })
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={"skmnist.json": extra})
    return write_atomically(path, buffer.getvalue())
