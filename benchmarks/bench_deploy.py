"""Deployment: file size, accuracy, latency and throughput of torch, ONNX fp32 and int8.

A benchmark script, not a test: nothing here is asserted (beyond the script
failing loudly when an export disagrees with ``predict_proba``).

What it measures
----------------
For the default CNN (``SkMNISTClassifier()``, whatever its defaults are at
the time) and the MLP (``SkMNISTClassifier(arch="mlp")``), each fitted with
``random_state=0`` on the training part of ``--data``:

``torch``
    the fitted estimator (``predict_proba``), the reference;
``onnx-fp32``
    ``skmnist.export_onnx(clf, path)`` run by ``skmnist.OnnxClassifier``;
``onnx-int8``
    ``skmnist.export_onnx(clf, path, quantize="int8", calibration_X=...)``
    with ``--calibration`` (500) training images drawn with seed 0.

``onnx-int8`` is ONNX Runtime's ``quantize_static``, QDQ format
(QuantizeLinear/DequantizeLinear pairs fused into int8 kernels at load
time), signed int8 activations and per-channel weights, on the convolutions,
dense layers and the activations, pooling and reshapes between them. With
``--compare-quantizers`` the candidates that were measured to choose it are
added: the same on Conv/Gemm/MatMul only (``conv-gemm-only``), unsigned
activations (``u8s8``), the QOperator format (QLinearConv, QGemm, ...), and
torch's PT2E flow from ``torchao`` (``prepare_pt2e`` with the
``X86InductorQuantizer``, calibrated on the same images, ``convert_pt2e``,
exported with ``torch.onnx.export`` and run by ONNX Runtime; a graph of the
logits only, so only its raw latency is timed) when torchao is installed.

Columns
-------
``KiB``
    the file: the ``.onnx`` model; for torch the weights alone
    (``torch.save(module.state_dict())``; a ``skmnist.save`` file holds the
    optimizer state too).
``test acc``
    accuracy on the test part; ``(vs fp32)`` is int8 minus ONNX fp32, in points.
``batch-1 ms``
    median latency of one ``predict_proba`` call on one image through the
    estimator API (the estimator or ``OnnxClassifier``: input validation
    included), and ``raw``: the network alone (the torch module under
    ``torch.inference_mode`` on a prepared tensor; ``session.run`` on a
    prepared float32 array). Each round times ``--calls`` (200) calls on
    different images; the table gives the median over ``--repeats`` rounds
    and the spread (min-max) of the round medians.
``batch-256 img/s``
    throughput of ``predict_proba`` on batches of 256 images (estimator API),
    median over rounds.

Variants alternate within every round (A B C, A B C, ...) after an untimed
warm-up, so background load hits them alike; torch and ONNX Runtime use the
same number of threads (``--threads``, default 1: steadier on shared
machines). The ONNX fp32 probabilities are compared with ``predict_proba``
on the whole test part (batches of 1,000) and on its first ``--parity-one``
(1,000) images one at a time: the maximum absolute difference and whether
the labels are identical are printed (and the script stops if they exceed
1e-4 or differ). With ``--data sample`` the same is done on the 10,000
Fashion-MNIST test images when they are installed (images unlike the
training ones). The load average before and after is printed.

Data
----
``--data fashion`` (default): Fashion-MNIST, 60,000 training and 10,000 test
images (``fetch_fashion_mnist(download_if_missing=False)``; the script never
downloads). ``--data sample``: the bundled 5,000 MNIST images, 4,000 / 1,000
stratified with seed 0. ``--n-train N`` trains on N training images drawn
with seed 0; ``--max-epochs E`` overrides the estimators' ``max_epochs``;
``--models DIR`` keeps the fitted models there (``skmnist.save``) and reuses
them on the next run with the same data and parameters (defaults included).

Usage
-----
::

    python benchmarks/bench_deploy.py --data sample --fast           # smoke, a minute
    python benchmarks/bench_deploy.py --data fashion --models ~/deploy-models \\
        --compare-quantizers --json deploy_fashion.json
    python benchmarks/bench_deploy.py --data sample --models ~/deploy-models

See ``benchmarks/README.md`` for the results.
"""

import argparse
import hashlib
import io
import json
import os
import statistics
import tempfile
import time
import warnings

import numpy as np
import torch

import skmnist
from skmnist import OnnxClassifier, SkMNISTClassifier, export_onnx

ARCHS = {"cnn": {}, "mlp": {"arch": "mlp"}}
#: The int8 candidates besides the default (``onnx-int8``: QDQ, signed activations, the
#: ops of skmnist.deploy._quantize.OP_TYPES): name -> keyword arguments of quantize_int8.
QUANTIZERS = {
    "ort-qdq-s8s8-conv-gemm-only": dict(op_types=("Conv", "Gemm", "MatMul")),
    "ort-qdq-u8s8": dict(quant_format="QDQ", activation_type="QUInt8"),
    "ort-qop-u8s8": dict(quant_format="QOperator", activation_type="QUInt8"),
    "ort-qop-s8s8": dict(quant_format="QOperator", activation_type="QInt8"),
}


def loadavg():
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


# ----------------------------------------------------------------------------- data
def load_data(args):
    if args.data == "sample":
        from sklearn.model_selection import train_test_split

        from skmnist.datasets import load_mnist_sample

        X, y = load_mnist_sample(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=1000, stratify=y, random_state=0)
    else:
        from skmnist.datasets import fetch_fashion_mnist

        X_train, y_train = fetch_fashion_mnist(subset="train", return_X_y=True,
                                               download_if_missing=False)
        X_test, y_test = fetch_fashion_mnist(subset="test", return_X_y=True,
                                             download_if_missing=False)
    if args.n_train and args.n_train < len(y_train):
        keep = np.random.RandomState(0).permutation(len(y_train))[:args.n_train]
        X_train, y_train = X_train[keep], y_train[keep]
    return X_train, y_train, X_test, y_test


def fitted_model(arch, args, X, y):
    params = dict(ARCHS[arch], random_state=0, device="cpu")
    if args.max_epochs:
        params["max_epochs"] = args.max_epochs
    # The parameters (defaults included) are in the name: a changed default refits.
    digest = hashlib.sha1(repr(sorted(SkMNISTClassifier(**params).get_params().items()))
                          .encode()).hexdigest()[:8]
    name = f"{args.data}-{arch}-n{len(y)}-{digest}.skmnist"
    path = os.path.join(args.models, name) if args.models else None
    if path and os.path.exists(path):
        print(f"{arch}: loading {path}", flush=True)
        return skmnist.load(path, device="cpu"), None
    print(f"{arch}: fitting SkMNISTClassifier({params}) on {len(y)} images "
          f"(load {loadavg()})", flush=True)
    start = time.perf_counter()
    clf = SkMNISTClassifier(**params).fit(X, y)
    fit_s = time.perf_counter() - start
    if path:
        os.makedirs(args.models, exist_ok=True)
        skmnist.save(clf, path)
    return clf, fit_s


# ------------------------------------------------------------------------ variants
class Variant:
    """A way to predict: estimator-API call, raw call, its file size."""

    def __init__(self, name, predict_proba, raw, prepare, size, accuracy_of=None):
        self.name, self.predict_proba, self.raw, self.prepare = name, predict_proba, raw, prepare
        self.size, self.accuracy_of = size, accuracy_of


def torch_variant(clf):
    from skmnist.deploy._graph import InferenceModule

    module = InferenceModule(clf)
    shape = tuple(clf.input_shape_)

    def raw(x):
        with torch.inference_mode():
            return module(x)

    buffer = io.BytesIO()
    torch.save(clf.module_.state_dict(), buffer)
    return Variant("torch", clf.predict_proba, raw,
                   lambda X: torch.as_tensor(X, dtype=torch.float32).reshape(-1, *shape),
                   buffer.getbuffer().nbytes)


def session_variant(name, path, threads, *, output=1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    shape = session.get_inputs()[0].shape[1:]
    output_name = session.get_outputs()[output].name

    def raw(x):
        return session.run([output_name], {input_name: x})[0]

    def prepare(X):
        return np.ascontiguousarray(np.asarray(X, dtype=np.float32).reshape(-1, *shape))

    return session, raw, prepare


def onnx_variant(name, path, threads):
    clf = OnnxClassifier(path, n_jobs=threads)
    _, raw, prepare = session_variant(name, path, threads)
    return Variant(name, clf.predict_proba, raw, prepare, os.path.getsize(path))


def logits_variant(name, path, threads):
    """A graph of logits only (PT2E): raw calls; accuracy from the argmax."""
    _, raw, prepare = session_variant(name, path, threads, output=0)
    return Variant(name, None, raw, prepare, os.path.getsize(path))


def pt2e_onnx(clf, calibration, path):
    """torchao's PT2E static int8 (X86InductorQuantizer) exported to ONNX; None without it."""
    try:
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
        from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
            X86InductorQuantizer,
            get_default_x86_inductor_quantization_config,
        )
    except ImportError as exc:
        print(f"pt2e: torchao is not usable here ({exc}); skipped")
        return None
    from skmnist.deploy._graph import InferenceModule

    shape = tuple(clf.input_shape_)
    example = (torch.zeros((2, *shape)),)
    dynamic = ({0: torch.export.Dim("batch")},)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(InferenceModule(clf), example, dynamic_shapes=dynamic)
        quantizer = X86InductorQuantizer().set_global(
            get_default_x86_inductor_quantization_config())
        prepared = prepare_pt2e(program.module(), quantizer)
        images = torch.as_tensor(calibration, dtype=torch.float32).reshape(-1, *shape)
        with torch.no_grad():
            for start in range(0, len(images), 128):
                prepared(images[start:start + 128])
        converted = convert_pt2e(prepared)
        onnx_program = torch.onnx.export(converted, example, dynamo=True, opset_version=18,
                                         dynamic_shapes=dynamic, verbose=False)
    onnx_program.save(path)
    return path


def ort_variant_file(clf, fp32_path, calibration, path, **kwargs):
    import onnx

    from skmnist.deploy._quantize import calibration_array, quantize_int8

    model = onnx.load(fp32_path)
    shape = OnnxClassifier(fp32_path).metadata_["graph_input_shape"]
    X = calibration_array(calibration, int(clf.n_features_in_), shape)
    quantized = quantize_int8(model, X, **kwargs)
    del quantized.metadata_props[:]
    quantized.metadata_props.extend(model.metadata_props)  # OnnxClassifier reads it
    onnx.save(quantized, path)
    return path


# ------------------------------------------------------------------------ measuring
def accuracy(variant, X, y, classes):
    if variant.predict_proba is not None:
        proba = np.concatenate([variant.predict_proba(X[i:i + 1000])
                                for i in range(0, len(X), 1000)])
    else:
        proba = np.concatenate([np.asarray(variant.raw(variant.prepare(X[i:i + 1000])))
                                for i in range(0, len(X), 1000)])
    return float(np.mean(classes[np.argmax(proba, axis=1)] == y))


def parity(clf, path, X, n_one):
    onnx_clf = OnnxClassifier(path)
    expected = np.concatenate([clf.predict_proba(X[i:i + 1000]) for i in range(0, len(X), 1000)])
    got = np.concatenate([onnx_clf.predict_proba(X[i:i + 1000]) for i in range(0, len(X), 1000)])
    one = np.concatenate([onnx_clf.predict_proba(X[i:i + 1]) for i in range(n_one)])
    labels = onnx_clf.predict(X)
    result = {
        "max_abs_batch1000": float(np.abs(got - expected).max()),
        "max_abs_batch1": float(np.abs(one - expected[:n_one]).max()),
        "labels_identical": bool(np.array_equal(labels, clf.predict(X))),
        "n": int(len(X)), "n_batch1": int(n_one),
    }
    if not (result["labels_identical"] and max(result["max_abs_batch1000"],
                                               result["max_abs_batch1"]) < 1e-4):
        raise SystemExit(f"ONNX export disagrees with predict_proba: {result}")
    return result


def time_calls(fn, inputs):
    times = []
    for x in inputs:
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(variants, X, args):
    rng = np.random.RandomState(1)
    one = [X[i:i + 1] for i in rng.choice(len(X), args.calls, replace=False)]
    rows = np.arange(256 * args.batches) % len(X)  # wraps around a small test set
    batches = [X[rows[i:i + 256]] for i in range(0, len(rows), 256)]
    timings = {v.name: {"api_ms": [], "raw_ms": [], "img_s": []} for v in variants}
    prepared = {v.name: [v.prepare(x) for x in one] for v in variants}
    for v in variants:  # warm-up
        for x in prepared[v.name][:10]:
            v.raw(x)
        if v.predict_proba is not None:
            v.predict_proba(batches[0])
    for _ in range(args.repeats):
        for v in variants:
            t = timings[v.name]
            t["raw_ms"].append(1e3 * time_calls(v.raw, prepared[v.name]))
            if v.predict_proba is not None:
                t["api_ms"].append(1e3 * time_calls(v.predict_proba, one))
                start = time.perf_counter()
                for batch in batches:
                    v.predict_proba(batch)
                t["img_s"].append(256 * len(batches) / (time.perf_counter() - start))
    return timings


def spread(values, fmt):
    if not values:
        return "-", "-"
    return fmt.format(statistics.median(values)), \
        f"{fmt.format(min(values))}-{fmt.format(max(values))}"


def table(arch, rows, fp32_acc):
    lines = [f"\n### {arch}\n",
             "| variant | KiB | test acc | (vs fp32) | batch-1 ms | (min-max) | raw ms | "
             "batch-256 img/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        api, api_range = spread(r["timings"]["api_ms"], "{:.3f}")
        raw, _ = spread(r["timings"]["raw_ms"], "{:.3f}")
        thr, _ = spread(r["timings"]["img_s"], "{:,.0f}")
        delta = "" if r["name"] in ("torch", "onnx-fp32") else \
            f"{100 * (r['accuracy'] - fp32_acc):+.2f}"
        lines.append(f"| `{r['name']}` | {r['bytes'] / 1024:,.0f} | {r['accuracy']:.4f} | "
                     f"{delta} | {api} | {api_range} | {raw} | {thr} |")
    return "\n".join(lines)


def run_arch(arch, args, data, tmp):
    X_train, y_train, X_test, y_test = data
    clf, fit_s = fitted_model(arch, args, X_train, y_train)
    calibration = X_train[np.random.RandomState(0).permutation(len(X_train))[:args.calibration]]
    fp32 = os.path.join(tmp, f"{arch}-fp32.onnx")
    int8 = os.path.join(tmp, f"{arch}-int8.onnx")
    start = time.perf_counter()
    export_onnx(clf, fp32)
    export_s = time.perf_counter() - start
    start = time.perf_counter()
    export_onnx(clf, int8, quantize="int8", calibration_X=calibration)
    int8_s = time.perf_counter() - start
    check = parity(clf, fp32, X_test, min(args.parity_one, len(X_test)))
    print(f"{arch}: export {export_s:.1f} s, int8 export {int8_s:.1f} s; parity {check}",
          flush=True)
    if args.data == "sample":  # also on images unlike the training ones, when installed
        try:
            from skmnist.datasets import fetch_fashion_mnist

            X_other, _ = fetch_fashion_mnist(subset="test", return_X_y=True,
                                             download_if_missing=False)
        except OSError:
            X_other = None
        if X_other is not None:
            check["fashion_test"] = parity(clf, fp32, X_other, min(args.parity_one,
                                                                  len(X_other)))
            print(f"{arch}: parity on the Fashion-MNIST test set {check['fashion_test']}",
                  flush=True)
    variants = [torch_variant(clf), onnx_variant("onnx-fp32", fp32, args.threads),
                onnx_variant("onnx-int8", int8, args.threads)]
    if args.compare_quantizers:
        for name, kwargs in QUANTIZERS.items():
            path = ort_variant_file(clf, fp32, calibration, os.path.join(tmp, f"{name}.onnx"),
                                    **kwargs)
            variants.append(onnx_variant(name, path, args.threads))
        path = pt2e_onnx(clf, calibration, os.path.join(tmp, f"{arch}-pt2e.onnx"))
        if path:
            variants.append(logits_variant("pt2e-x86", path, args.threads))
    classes = np.asarray(clf.classes_)
    rows = [{"name": v.name, "bytes": v.size, "accuracy": accuracy(v, X_test, y_test, classes)}
            for v in variants]
    timings = measure(variants, X_test, args)
    for row in rows:
        row["timings"] = timings[row["name"]]
    fp32_acc = next(r["accuracy"] for r in rows if r["name"] == "onnx-fp32")
    print(table(arch, rows, fp32_acc), flush=True)
    ratio = os.path.getsize(fp32) / os.path.getsize(int8)
    print(f"onnx-int8 is {ratio:.2f}x smaller than onnx-fp32; int8 - fp32 accuracy "
          f"{100 * (rows[2]['accuracy'] - fp32_acc):+.2f} points", flush=True)
    return {"arch": arch, "fit_s": fit_s, "export_s": export_s, "int8_export_s": int8_s,
            "parity": check, "rows": rows, "size_ratio": ratio,
            "params": {k: v for k, v in clf.get_params().items() if k in ("arch", "max_epochs")}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=("fashion", "sample"), default="fashion")
    parser.add_argument("--arch", choices=("cnn", "mlp", "both"), default="both")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--models", default=None, metavar="DIR",
                        help="keep fitted models here and reuse them")
    parser.add_argument("--calibration", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--batches", type=int, default=8, help="batch-256 calls per round")
    parser.add_argument("--parity-one", type=int, default=1000)
    parser.add_argument("--compare-quantizers", action="store_true")
    parser.add_argument("--fast", action="store_true",
                        help="smoke run: 1,000 training images, 1 epoch, 1 round")
    parser.add_argument("--json", default=None, metavar="PATH")
    args = parser.parse_args(argv)
    if args.fast:
        args.n_train = args.n_train or 1000
        args.max_epochs = args.max_epochs or 1
        args.repeats, args.calls, args.batches, args.parity_one = 1, 20, 2, 50
    torch.set_num_threads(args.threads)
    load_before = loadavg()
    data = load_data(args)
    report = {"args": vars(args), "loadavg_before": load_before, "results": [],
              "versions": _versions()}
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        for arch in (["cnn", "mlp"] if args.arch == "both" else [args.arch]):
            report["results"].append(run_arch(arch, args, data, tmp))
    report["loadavg_after"] = loadavg()
    print(f"\n{args.data}: {len(data[1])} training / {len(data[3])} test images; "
          f"{args.threads} thread(s); load average before {load_before}, after "
          f"{report['loadavg_after']}; {report['versions']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return report


def _versions():
    import onnxruntime

    return f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, " \
           f"skmnist {skmnist.__version__}"


if __name__ == "__main__":
    main()
