"""Deploying a model: one ONNX file, int8 quantisation, predicting without torch.

This example trains the default :class:`skmnist.SkMNISTClassifier` on the
MNIST images bundled with skmnist, then

* exports it with :func:`skmnist.export_onnx`: one ``.onnx`` file whose
  graph takes the raw pixels (as ``predict`` does) and returns the labels
  and probabilities, input scaling and softmax included;
* checks that ONNX Runtime, through :class:`skmnist.OnnxClassifier`, gives
  the probabilities of ``predict_proba`` (within 1e-4) and the same labels;
* exports an int8 version (static quantisation calibrated on 500 training
  images, convolutions included) and compares size and accuracy;
* runs the int8 file in a fresh Python process that imports onnxruntime and
  numpy only, as a service would, and checks that torch was never imported.

Needs the ``onnx`` extra (``pip install "skmnist[onnx]"``). Set
``SKMNIST_EXAMPLE_FAST=1`` to train on fewer images for one epoch (CI).

Run it with ``python examples/deploy_onnx.py``.
"""

import os
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.model_selection import train_test_split

from skmnist import OnnxClassifier, SkMNISTClassifier, export_onnx
from skmnist.datasets import load_mnist_sample

FAST = os.environ.get("SKMNIST_EXAMPLE_FAST") == "1"

X, y = load_mnist_sample(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=1000 if FAST else 4000, test_size=1000, stratify=y, random_state=0
)
params = dict(max_epochs=1, channels=(8, 16)) if FAST else {}
clf = SkMNISTClassifier(random_state=0, device="cpu", **params).fit(X_train, y_train)
print(f"trained {clf.arch_!r}: test accuracy {clf.score(X_test, y_test):.4f}")

folder = tempfile.mkdtemp(prefix="skmnist-deploy-")
fp32_path = export_onnx(clf, os.path.join(folder, "digits.onnx"))
onnx_clf = OnnxClassifier(fp32_path)
difference = np.abs(onnx_clf.predict_proba(X_test) - clf.predict_proba(X_test)).max()
same_labels = np.array_equal(onnx_clf.predict(X_test), clf.predict(X_test))
print(f"float32 ONNX: {os.path.getsize(fp32_path) / 1024:.0f} KiB; probabilities within "
      f"{difference:.1e} of predict_proba; labels identical: {same_labels}")
assert difference < 1e-4 and same_labels

calibration = X_train[:500]
int8_path = export_onnx(clf, os.path.join(folder, "digits-int8.onnx"), quantize="int8",
                        calibration_X=calibration)
int8_clf = OnnxClassifier(int8_path)
ratio = os.path.getsize(fp32_path) / os.path.getsize(int8_path)
print(f"int8 ONNX: {os.path.getsize(int8_path) / 1024:.0f} KiB ({ratio:.1f}x smaller); "
      f"test accuracy {int8_clf.score(X_test, y_test):.4f} "
      f"(float32 ONNX {onnx_clf.score(X_test, y_test):.4f})")

# A service: onnxruntime and numpy, no torch, no skorch, no skmnist estimator.
np.save(os.path.join(folder, "images.npy"), X_test[:5])
service = f"""
import sys
import numpy as np
import onnxruntime as ort

session = ort.InferenceSession({int8_path!r}, providers=["CPUExecutionProvider"])
images = np.load({os.path.join(folder, "images.npy")!r}).astype(np.float32)
label, proba = session.run(None, {{"X": images}})
print("service labels:", label.tolist(), "| torch imported:", "torch" in sys.modules)
"""
out = subprocess.run([sys.executable, "-c", service], capture_output=True, text=True,
                     check=True).stdout.strip()
print(out)
print(f"int8 labels in this process: {int8_clf.predict(X_test[:5]).tolist()}; "
      f"true labels: {y_test[:5].tolist()}")
assert out.endswith("torch imported: False")
