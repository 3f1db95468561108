"""skl2onnx converters for skmnist's estimators and transformers.

With them, ``skl2onnx.to_onnx`` converts a fitted scikit-learn ``Pipeline``
that mixes skmnist and scikit-learn steps into one ONNX graph. Each
converter writes what the step's ``transform`` or ``predict`` computes:

``ImageFlattener``, ``ImageReshaper``
    A ``Reshape`` to the fitted per-sample shape; the element type is kept.
``PixelScaler``
    ``Cast`` to float32, ``Reshape`` to the fitted layout, ``Div`` by ``scale_``.
``PixelStandardizer``
    ``Cast``, ``Reshape``, ``Sub`` and ``Div`` by the float32 per-channel
    ``mean_`` and ``std_``, as :meth:`~skmnist.preprocessing.PixelStandardizer.transform`.
``ImageResizer``
    ``Resize`` (bilinear, half-pixel coordinates, ONNX's ``antialias`` with
    ``exclude_outside``, which is torch's antialiased resampling) followed by
    the clip to each image's and channel's value range. The output is flat
    for flat (or rank-unknown) input, images for image input.
``SkMNISTClassifier``, ``SkMNISTFineTuner``
    ``Cast``, ``Reshape`` to ``(n, *input_shape_)``, then the network with
    its input scaling and adaptation exported by torch's ONNX exporter
    (:mod:`skmnist.deploy._graph`) and inlined, ``Softmax`` for the
    probabilities and ``ArgMax`` of the logits gathered from ``classes_``
    for the labels (as ``predict``). Options ``zipmap`` and ``nocl`` as for
    scikit-learn's classifiers.
``ArchitectureSearchCV``
    Its ``best_estimator_``.

:func:`register_loaded` registers the converters of the skmnist classes
already imported (the import hook of :mod:`skmnist.deploy._hook` calls it,
so registering never imports torch); :func:`register_all` imports and
registers every one. This module imports skl2onnx, onnx and numpy only.
"""

import sys

import numpy as np
from onnx import AttributeProto, TensorProto, helper, numpy_helper
from skl2onnx import update_registered_converter
from skl2onnx._parse import parse_sklearn
from skl2onnx.common.data_types import (
    BooleanTensorType,
    DoubleTensorType,
    FloatTensorType,
    Int32TensorType,
    Int64TensorType,
    StringTensorType,
    UInt8TensorType,
)
from skl2onnx.common.utils import check_input_and_output_numbers, check_input_and_output_types
from skl2onnx.common.utils_classifier import get_label_classes

from ._metadata import label_kind

_NUMERIC = [FloatTensorType, DoubleTensorType, Int64TensorType, Int32TensorType,
            UInt8TensorType, BooleanTensorType]
_CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"], "nocl": [False, True]}


# --------------------------------------------------------------------------- helpers
def _first_dim(operator):
    return operator.inputs[0].get_first_dimension()


def _input_rank(operator):
    shape = operator.inputs[0].type.shape
    return len(shape) if shape else None


def _constant(scope, container, name, values):
    """An initializer holding ``values`` (numbers or strings); returns its name."""
    values = np.asarray(values)
    unique = scope.get_unique_variable_name(name)
    if values.dtype.kind in "UO":
        container.add_initializer(unique, TensorProto.STRING, list(values.shape),
                                  [str(v).encode("utf-8") for v in values.ravel()])
    else:
        tensor = numpy_helper.from_array(values, unique)
        container.add_initializer(unique, tensor.data_type, list(tensor.dims), tensor)
    return unique


def _as_float(scope, container, variable):
    """``variable``'s name, cast to float32 first unless it is float32 already."""
    if isinstance(variable.type, FloatTensorType):
        return variable.full_name
    out = scope.get_unique_variable_name(f"{variable.onnx_name}_float")
    container.add_node("Cast", [variable.full_name], [out], to=TensorProto.FLOAT,
                       name=scope.get_unique_operator_name("Cast"))
    return out


def _reshape(scope, container, name, sample_shape, out=None):
    """``Reshape`` of ``name`` to ``(-1, *sample_shape)``; returns the output name."""
    shape = _constant(scope, container, "shape", np.array([-1, *sample_shape], dtype=np.int64))
    out = out or scope.get_unique_variable_name(f"{name}_reshaped")
    container.add_node("Reshape", [name, shape], [out],
                       name=scope.get_unique_operator_name("Reshape"))
    return out


def _no_roi_no_scales(scope, container):
    """Empty ``roi`` and ``scales`` inputs of ``Resize`` (resizing to ``sizes``).

    ONNX lets them be omitted with an empty name, but skl2onnx's
    topological sort cannot place a node with an empty input name; empty
    tensors mean the same to ``Resize``.
    """
    empty = np.zeros((0,), dtype=np.float32)
    return [_constant(scope, container, name, empty) for name in ("roi", "scales")]


def _inputs_of(scope, container, node, names):
    """``node``'s renamed inputs without empty names (see :func:`_no_roi_no_scales`)."""
    inputs = list(node.input)
    while inputs and not inputs[-1]:
        inputs.pop()  # omitted trailing optional inputs: just leave them out
    if all(inputs):
        return [names(i) for i in inputs]
    if node.op_type == "Resize" and all(inputs[i] for i in range(len(inputs)) if i not in (1, 2)):
        roi, scales = _no_roi_no_scales(scope, container)
        return [names(i) if i else (roi if k == 1 else scales) for k, i in enumerate(inputs)]
    raise ValueError(
        f"The exported network holds a {node.op_type} node with an omitted optional input, "
        "which skmnist cannot place in a pipeline graph; please report this with the "
        "module's code.")


def _same_type(operator, shape):
    return type(operator.inputs[0].type)(shape)


# ------------------------------------------------------------------ layout transformers
def _shape_flattener(operator):
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    check_input_and_output_types(operator, good_input_types=_NUMERIC)
    op = operator.raw_operator
    operator.outputs[0].type = _same_type(operator, [_first_dim(operator), op.n_features_in_])


def _convert_flattener(scope, operator, container):
    _reshape(scope, container, operator.inputs[0].full_name,
             [operator.raw_operator.n_features_in_], out=operator.outputs[0].full_name)


def _shape_reshaper(operator):
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    check_input_and_output_types(operator, good_input_types=_NUMERIC)
    shape = [_first_dim(operator), *operator.raw_operator.image_shape_]
    operator.outputs[0].type = _same_type(operator, shape)


def _convert_reshaper(scope, operator, container):
    _reshape(scope, container, operator.inputs[0].full_name,
             list(operator.raw_operator.image_shape_), out=operator.outputs[0].full_name)


# --------------------------------------------------------------------- pixel transformers
def _shape_pixels(operator):
    """PixelScaler, PixelStandardizer: float32 in the fitted per-sample shape."""
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    check_input_and_output_types(operator, good_input_types=_NUMERIC)
    shape = [_first_dim(operator), *operator.raw_operator.input_shape_]
    operator.outputs[0].type = FloatTensorType(shape)


def _convert_scaler(scope, operator, container):
    op = operator.raw_operator
    x = _reshape(scope, container, _as_float(scope, container, operator.inputs[0]),
                 list(op.input_shape_))
    scale = _constant(scope, container, "scale", np.array(op.scale_, dtype=np.float32))
    container.add_node("Div", [x, scale], [operator.outputs[0].full_name],
                       name=scope.get_unique_operator_name("Div"))


def _convert_standardizer(scope, operator, container):
    op = operator.raw_operator
    x = _reshape(scope, container, _as_float(scope, container, operator.inputs[0]),
                 list(op.input_shape_))
    # transform's broadcasting: per channel (axis 1) for 4-D input, else one channel.
    if len(op.input_shape_) == 3:
        mean = op.mean_.astype(np.float32).reshape(1, -1, 1, 1)
        std = op.std_.astype(np.float32).reshape(1, -1, 1, 1)
    else:
        mean = np.array(op.mean_[0], dtype=np.float32)
        std = np.array(op.std_[0], dtype=np.float32)
    centred = scope.get_unique_variable_name("centred")
    container.add_node("Sub", [x, _constant(scope, container, "mean", mean)], [centred],
                       name=scope.get_unique_operator_name("Sub"))
    container.add_node("Div", [centred, _constant(scope, container, "std", std)],
                       [operator.outputs[0].full_name],
                       name=scope.get_unique_operator_name("Div"))


# ------------------------------------------------------------------------------ resizer
def _resized_shape(operator):
    op = operator.raw_operator
    c, h, w = op.output_shape_
    n = _first_dim(operator)
    rank = _input_rank(operator)
    if rank == 3:
        return [n, h, w]
    if rank == 4:
        return [n, c, h, w]
    return [n, c * h * w]  # flat in, flat out; rank-unknown input comes out flat too


def _shape_resizer(operator):
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    check_input_and_output_types(operator, good_input_types=_NUMERIC)
    operator.outputs[0].type = FloatTensorType(_resized_shape(operator))


def _convert_resizer(scope, operator, container):
    op = operator.raw_operator
    images = _reshape(scope, container, _as_float(scope, container, operator.inputs[0]),
                      list(op.input_shape_))
    out_shape = _resized_shape(operator)[1:]
    if tuple(op.input_shape_) == tuple(op.output_shape_):  # transform copies unchanged
        _reshape(scope, container, images, out_shape, out=operator.outputs[0].full_name)
        return
    antialias = int(bool(op.antialias))
    sizes = _constant(scope, container, "sizes", np.array(op.output_shape_[1:], dtype=np.int64))
    resized = scope.get_unique_variable_name("resized")
    container.add_node(
        "Resize", [images, *_no_roi_no_scales(scope, container), sizes], [resized],
        op_version=18,
        name=scope.get_unique_operator_name("Resize"), mode="linear",
        coordinate_transformation_mode="half_pixel", antialias=antialias,
        exclude_outside=antialias, axes=[2, 3])
    # transform clips each image channel to its input's range.
    low, high = (scope.get_unique_variable_name(n) for n in ("low", "high"))
    container.add_node("ReduceMin", [images, _constant(
        scope, container, "axes", np.array([2, 3], dtype=np.int64))], [low], keepdims=1,
        name=scope.get_unique_operator_name("ReduceMin"))
    container.add_node("ReduceMax", [images, _constant(
        scope, container, "axes", np.array([2, 3], dtype=np.int64))], [high], keepdims=1,
        name=scope.get_unique_operator_name("ReduceMax"))
    floor, clipped = (scope.get_unique_variable_name(n) for n in ("floored", "clipped"))
    container.add_node("Max", [resized, low], [floor], name=scope.get_unique_operator_name("Max"))
    container.add_node("Min", [floor, high], [clipped],
                       name=scope.get_unique_operator_name("Min"))
    _reshape(scope, container, clipped, out_shape, out=operator.outputs[0].full_name)


# ---------------------------------------------------------------------------- estimators
def _shape_estimator(operator):
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=2)
    check_input_and_output_types(operator, good_input_types=_NUMERIC)
    n = _first_dim(operator)
    classes = get_label_classes(operator.scope_inst, operator.raw_operator)
    label_type = Int64TensorType if label_kind(classes) == "int64" else StringTensorType
    operator.outputs[0].type = label_type([n])
    operator.outputs[1].type = FloatTensorType([n, len(classes)])


def _inline(scope, container, model, inputs, prefix):
    """Copy ``model``'s graph into ``container``, its inputs bound to ``inputs``.

    Every name is made unique in the scope; node metadata (stack traces of
    the exporter, with file paths) is not copied. Returns the names of the
    graph's outputs.
    """
    versions = {o.domain or "": o.version for o in model.opset_import}
    names = {graph_input.name: name for graph_input, name in zip(model.graph.input, inputs)}

    def rename(name):
        if not name:
            return name  # an omitted optional input
        if name not in names:
            names[name] = scope.get_unique_variable_name(f"{prefix}_{name}")
        return names[name]

    for init in model.graph.initializer:
        tensor = numpy_helper.from_array(numpy_helper.to_array(init), rename(init.name))
        container.add_initializer(tensor.name, tensor.data_type, list(tensor.dims), tensor)
    for node in model.graph.node:
        if any(a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS) for a in node.attribute):
            raise ValueError(
                f"The exported network holds a {node.op_type} node with a subgraph "
                "(data-dependent control flow), which skmnist cannot inline into a "
                "pipeline; remove the Python control flow that depends on values from "
                "the module's forward.")
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(node.op_type, _inputs_of(scope, container, node, rename),
                           [rename(o) for o in node.output], op_domain=node.domain,
                           op_version=versions[node.domain or ""],
                           name=scope.get_unique_operator_name(f"{prefix}_{node.op_type}"),
                           **attrs)
    return [rename(o.name) for o in model.graph.output]


def _convert_estimator(scope, operator, container):
    from ._graph import export_logits_onnx  # torch: only when a network is converted

    op = operator.raw_operator
    images = _reshape(scope, container, _as_float(scope, container, operator.inputs[0]),
                      list(op.input_shape_))
    model = export_logits_onnx(op, container.target_opset)
    (logits,) = _inline(scope, container, model, [images], prefix=type(op).__name__)
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    container.add_node("Softmax", [logits], [proba], axis=1,
                       name=scope.get_unique_operator_name("Softmax"))
    # predict: the labels of the largest logits (first one on ties, as torch.argmax)
    index = scope.get_unique_variable_name("label_index")
    container.add_node("ArgMax", [logits], [index], axis=1, keepdims=0,
                       name=scope.get_unique_operator_name("ArgMax"))
    classes = get_label_classes(scope, op)
    values = (np.asarray(classes).astype(np.int64) if label_kind(classes) == "int64"
              else np.asarray([str(c) for c in classes], dtype=object))
    container.add_node("Gather", [_constant(scope, container, "classes", values), index],
                       [label], axis=0, name=scope.get_unique_operator_name("Gather"))


# --------------------------------------------------------------------------- the search
def _parse_search(scope, model, inputs, custom_parsers=None):
    """ArchitectureSearchCV converts as its refitted ``best_estimator_``."""
    if not hasattr(model, "best_estimator_"):
        raise ValueError(
            "This ArchitectureSearchCV has no best_estimator_ (it is not fitted, or was "
            "fitted with refit=False): fit it with refit=True before converting it.")
    options = scope.get_options(model)
    if options:
        scope.add_options(id(model.best_estimator_), options)
    return parse_sklearn(scope, model.best_estimator_, inputs, custom_parsers=custom_parsers)


def _search_shape(operator):  # never called: the parser hands over to best_estimator_
    raise RuntimeError("ArchitectureSearchCV is converted through its best_estimator_.")


def _search_converter(scope, operator, container):  # never called, as _search_shape
    _search_shape(operator)


# ------------------------------------------------------------------------- registration
#: module -> [(class name, alias, shape calculator, converter, options, parser)]
_CONVERTERS = {
    "skmnist._classifier": [
        ("SkMNISTClassifier", "SkmnistSkMNISTClassifier", _shape_estimator,
         _convert_estimator, _CLASSIFIER_OPTIONS, None)],
    "skmnist._finetune": [
        ("SkMNISTFineTuner", "SkmnistSkMNISTFineTuner", _shape_estimator,
         _convert_estimator, _CLASSIFIER_OPTIONS, None)],
    "skmnist.preprocessing": [
        ("ImageFlattener", "SkmnistImageFlattener", _shape_flattener, _convert_flattener,
         None, None),
        ("ImageReshaper", "SkmnistImageReshaper", _shape_reshaper, _convert_reshaper,
         None, None),
        ("PixelScaler", "SkmnistPixelScaler", _shape_pixels, _convert_scaler, None, None),
        ("PixelStandardizer", "SkmnistPixelStandardizer", _shape_pixels,
         _convert_standardizer, None, None),
        ("ImageResizer", "SkmnistImageResizer", _shape_resizer, _convert_resizer,
         None, None)],
    "skmnist.model_selection._search": [
        ("ArchitectureSearchCV", "SkmnistArchitectureSearchCV", _search_shape,
         _search_converter, _CLASSIFIER_OPTIONS, _parse_search)],
}
_registered = set()


def register_loaded():
    """Register the converters of the skmnist classes already imported; return their names.

    Classes whose module is not imported (or still being imported) are left
    for a later call, so this never imports torch.
    """
    done = []
    for module_name, entries in _CONVERTERS.items():
        module = sys.modules.get(module_name)
        for name, alias, shape, convert, options, parser in entries:
            cls = getattr(module, name, None)
            if cls is None or cls in _registered:
                continue
            update_registered_converter(cls, alias, shape, convert, options=options,
                                        parser=parser)
            _registered.add(cls)
            done.append(name)
    return done


def register_all():
    """Import every convertible skmnist class and register its converter."""
    from .. import _classifier, _finetune, preprocessing  # noqa: F401 (imported to register)
    from ..model_selection import _search  # noqa: F401

    return register_loaded()


# Imported for the first time (by an export, or by the import hook once skl2onnx is
# there): register what is loaded already; the hook registers the rest as it comes.
register_loaded()
