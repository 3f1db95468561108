"""int8 static quantisation of an exported graph with ONNX Runtime's tools.

Static post-training quantisation: the activation ranges are measured once
on calibration images (min/max), the weights get one scale per output
channel, and the convolutions and dense layers run on int8 (dynamic
quantisation would skip the convolutions), with the activations, pooling
and reshapes between them (:data:`OP_TYPES`). The input scaling, the
softmax and the labels stay in float32.

ONNX Runtime's ``quantize_static`` in the QDQ format
(``QuantizeLinear``/``DequantizeLinear`` pairs that ONNX Runtime fuses into
int8 kernels when it loads the model) with signed int8 activations was
chosen by measurement over its QOperator format, unsigned activations and
torch's PT2E flow (``benchmarks/bench_deploy.py --compare-quantizers``,
figures in ``benchmarks/README.md``): as accurate and as fast as PT2E, it
needs no torch at all and quantises the whole exported graph, pipelines
included.
"""

import math
import os
import tempfile

import numpy as np
from sklearn.utils import check_array

from ._optional import require

QUANTIZE = (None, "int8")
#: The ops that are quantised: the convolutions and dense layers, where nearly all the
#: compute and weights are, and the ops between them that can pass int8 tensors on
#: (activations, pooling, reshapes), so that the network runs in int8 from its first
#: convolution to its last dense layer instead of converting around every layer
#: (measured: the CNN's batch-1 latency 1.9x better than quantising Conv/Gemm alone,
#: benchmarks/README.md). Input scaling, resizing and the softmax stay float32.
OP_TYPES = ("Conv", "Gemm", "MatMul", "Relu", "Clip", "MaxPool", "AveragePool",
            "GlobalAveragePool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze")
#: Calibration rows per ONNX Runtime call (the ranges do not depend on it).
_CALIBRATION_BATCH = 128


def check_quantize(quantize, calibration_X):
    """Check ``quantize`` and that ``calibration_X`` is given exactly when it is needed."""
    if not (quantize is None or (isinstance(quantize, str) and quantize in QUANTIZE)):
        raise ValueError(f"quantize must be None or 'int8', got {quantize!r}.")
    if quantize == "int8" and calibration_X is None:
        raise ValueError(
            "quantize='int8' needs calibration_X: a few hundred training images (raw, as "
            "for predict) to measure the activation ranges on, e.g. "
            "calibration_X=X_train[:500].")
    if quantize is None and calibration_X is not None:
        raise ValueError(
            "calibration_X is only used with quantize='int8': pass quantize='int8' too, "
            "or leave calibration_X out for a float32 model.")


def calibration_array(calibration_X, n_features, graph_input):
    """``calibration_X`` as float32 in the graph's input layout (checked)."""
    X = check_array(calibration_X, dtype="numeric", allow_nd=True, input_name="calibration_X")
    n_values = math.prod(X.shape[1:])
    if n_values != n_features:
        raise ValueError(
            f"calibration_X has {n_values} values per sample (shape {X.shape[1:]}), but the "
            f"model takes {n_features}: pass training images as the model was fitted on.")
    X = np.asarray(X, dtype=np.float32)
    if graph_input is not None:
        X = X.reshape((X.shape[0], *graph_input))
    return X


def _reader(X, input_name):
    """ONNX Runtime's calibration reader over the rows of ``X``."""
    quantization = require("onnxruntime", "quantize='int8'").quantization

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            self._batches = iter(range(0, len(X), _CALIBRATION_BATCH))

        def get_next(self):
            start = next(self._batches, None)
            if start is None:
                return None
            return {input_name: np.ascontiguousarray(X[start:start + _CALIBRATION_BATCH])}

    return Reader()


def quantize_int8(onnx_model, calibration_X, *, quant_format="QDQ", activation_type="QInt8",
                  per_channel=True, op_types=OP_TYPES):
    """The int8 statically quantised version of ``onnx_model`` (a ``ModelProto``).

    Parameters
    ----------
    onnx_model : onnx.ModelProto
        The float32 model written by the export.
    calibration_X : ndarray of float32
        Calibration images in the graph's input layout (:func:`calibration_array`).
    quant_format : {"QDQ", "QOperator"}, default="QDQ"
        ONNX Runtime's quantised model format.
    activation_type : {"QInt8", "QUInt8"}, default="QInt8"
        The activations' int8 type (weights are always signed int8).
    per_channel : bool, default=True
        One weight scale per output channel.
    op_types : tuple of str, default=OP_TYPES
        The ONNX ops to quantise.

    Returns
    -------
    model : onnx.ModelProto
    """
    onnx = require("onnx", "quantize='int8'")
    require("onnxruntime", "quantize='int8'")
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    input_name = onnx_model.graph.input[0].name
    with tempfile.TemporaryDirectory(prefix="skmnist-int8-") as tmp:
        fp32, prepared, int8 = (os.path.join(tmp, f"{n}.onnx") for n in ("fp32", "pre", "int8"))
        onnx.save(onnx_model, fp32)
        # Folds constants and fuses what ONNX Runtime would (BatchNorm into Conv...),
        # so that the quantiser sees the graph that runs.
        quant_pre_process(fp32, prepared, skip_symbolic_shape=True)
        quantize_static(
            prepared, int8, _reader(calibration_X, input_name),
            quant_format=getattr(QuantFormat, quant_format),
            op_types_to_quantize=list(op_types), per_channel=per_channel,
            activation_type=getattr(QuantType, activation_type),
            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
        return onnx.load(int8)
