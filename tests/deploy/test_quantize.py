"""quantize="int8": static quantisation that covers the convolutions, and its errors."""

import os

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from sklearn.pipeline import make_pipeline

from skmnist import OnnxClassifier, SkMNISTClassifier, export_onnx
from skmnist.preprocessing import ImageReshaper, PixelScaler


def weight_types(path):
    """op type -> the element types of the weights (input 1) of those nodes."""
    model = onnx.load(path)
    inits = {i.name: i for i in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    found = {}
    for node in model.graph.node:
        if node.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        weight = node.input[1]
        if weight in producers and producers[weight].op_type == "DequantizeLinear":
            weight = producers[weight].input[0]
        found.setdefault(node.op_type, set()).add(numpy_helper.to_array(inits[weight]).dtype)
    return found


@pytest.fixture(scope="module")
def default_cnn(sample):
    X, y = sample
    return SkMNISTClassifier(max_epochs=1, device="cpu", random_state=0).fit(X[::5], y[::5])


def test_int8_covers_convolutions_and_dense_layers(default_cnn, sample, tmp_path):
    X, _ = sample
    fp32 = export_onnx(default_cnn, tmp_path / "fp32.onnx")
    int8 = export_onnx(default_cnn, tmp_path / "int8.onnx", quantize="int8",
                       calibration_X=X[::5][:300])
    assert weight_types(fp32) == {"Conv": {np.dtype(np.float32)}, "Gemm": {np.dtype(np.float32)}}
    assert weight_types(int8) == {"Conv": {np.dtype(np.int8)}, "Gemm": {np.dtype(np.int8)}}
    assert os.path.getsize(fp32) / os.path.getsize(int8) >= 3.5
    quantized, reference = OnnxClassifier(int8), OnnxClassifier(fp32)
    assert quantized.metadata_["quantize"] == "int8"
    held_out = X[1::5]
    agreement = np.mean(quantized.predict(held_out) == reference.predict(held_out))
    assert agreement >= 0.97
    assert np.abs(quantized.predict_proba(held_out) - reference.predict_proba(held_out)).max() \
        < 0.5  # close, not equal: int8 is an approximation


def test_int8_pipeline_calibrates_on_raw_images(train_part, sample, tmp_path):
    X, y = train_part
    pipe = make_pipeline(PixelScaler(), ImageReshaper(), SkMNISTClassifier(
        arch="cnn", channels=(4, 8), hidden_units=(16,), max_epochs=1, device="cpu",
        random_state=0)).fit(X, y)
    path = export_onnx(pipe, tmp_path / "int8.onnx", quantize="int8",
                       calibration_X=X.reshape(-1, 28, 28)[:200])  # any layout
    agreement = np.mean(OnnxClassifier(path).predict(sample[0][1::10]) ==
                        pipe.predict(sample[0][1::10]))
    assert agreement >= 0.95
    assert weight_types(path)["Conv"] == {np.dtype(np.int8)}


@pytest.mark.parametrize("kwargs, match", [
    (dict(quantize="int4", calibration_X=np.zeros((2, 784))), "quantize must be None or 'int8'"),
    (dict(quantize=True), "quantize must be None or 'int8'"),
    (dict(quantize="int8"), "needs calibration_X"),
    (dict(calibration_X=np.zeros((2, 784))), "only used with quantize='int8'"),
    (dict(quantize="int8", calibration_X=np.zeros((2, 783))), "783 values per sample"),
    (dict(quantize="int8", calibration_X=np.full((2, 784), np.nan)), "NaN"),
    (dict(quantize="int8", calibration_X=np.zeros((0, 784))), "0 sample"),
])
def test_quantisation_errors(cnn, tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        export_onnx(cnn, tmp_path / "m.onnx", **kwargs)
    assert not (tmp_path / "m.onnx").exists()
