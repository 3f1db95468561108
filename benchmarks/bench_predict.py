"""The CPU inference chunk: one image's latency and many images' throughput by chunk size.

A script, not a test: nothing is asserted. skmnist pads every inference
chunk to a fixed number of rows (``skmnist._engine.inference_chunk_size``)
so that a sample's prediction never depends on its batch-mates; a single
image pays for the whole chunk. This fits the default CNN
(``SkMNISTClassifier(max_epochs=1, random_state=0)``) on ``--n-train``
random images of the bundled sample, then, for each candidate number of rows
(``--rows``), alternating ``A B C ..., A B C ...`` for ``--repeats``
rounds:

* ``1 image ms``: median time of ``predict_proba`` on one image (``--calls``
  calls, after one untimed call), the estimator API with its input checks;
* ``img/s``: ``predict_proba`` on ``--n-predict`` images (the sample
  repeated), once per round.

The candidate is set through ``CPU_CHUNK_ACTIVATION_BYTES`` (rows x the
first convolution's output per image); ``chosen`` marks what skmnist picks
for this model. Medians over rounds, with their spread; the load average
before and after is printed. Usage::

    python benchmarks/bench_predict.py --threads 1 --repeats 5
    python benchmarks/bench_predict.py --threads 2 --repeats 5
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

import skmnist._engine as engine
from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample


def measure(clf, X, n_predict, calls):
    one = X[:1]
    clf.predict_proba(one)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        clf.predict_proba(one)
        times.append(time.perf_counter() - t0)
    big = np.concatenate([X] * (n_predict // len(X) + 1))[:n_predict]
    t0 = time.perf_counter()
    clf.predict_proba(big)
    return statistics.median(times) * 1e3, n_predict / (time.perf_counter() - t0)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", default="16,32,64,128,256",
                   help="comma-separated candidate chunk sizes (rows)")
    p.add_argument("--threads", type=int, default=1, help="the classifier's n_jobs")
    p.add_argument("--n-train", type=int, default=1000)
    p.add_argument("--n-predict", type=int, default=10000)
    p.add_argument("--calls", type=int, default=50)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    rows = [int(r) for r in args.rows.split(",")]
    if any(r < 1 or r > engine.CPU_CHUNK_ROWS or r & (r - 1) for r in rows):
        p.error(f"--rows must be powers of two from 1 to {engine.CPU_CHUNK_ROWS} (what "
                "inference_chunk_size can choose)")
    if args.repeats < 1 or args.calls < 1:
        p.error("--repeats and --calls must be positive")
    load_before = os.getloadavg()
    X, y = load_mnist_sample(as_images=True, return_X_y=True)
    clf = SkMNISTClassifier(max_epochs=1, random_state=0, n_jobs=args.threads)
    train = np.random.RandomState(0).permutation(len(X))[:args.n_train]  # sorted by class
    clf.fit(X[train], y[train])
    chosen = engine.inference_chunk_size("cpu", clf.module_, clf.input_shape_)
    unit = engine.first_conv_output_bytes(clf.module_, clf.input_shape_)
    default_bytes = engine.CPU_CHUNK_ACTIVATION_BYTES
    results = {r: {"latency_ms": [], "images_per_s": []} for r in rows}
    try:
        for rnd in range(args.repeats):
            for r in rows:
                engine.CPU_CHUNK_ACTIVATION_BYTES = r * unit
                ms, ips = measure(clf, X, args.n_predict, args.calls)
                results[r]["latency_ms"].append(ms)
                results[r]["images_per_s"].append(ips)
                print(f"  [round {rnd + 1}/{args.repeats}] {r:4d} rows: 1 image {ms:.2f} ms, "
                      f"{ips:,.0f} img/s", file=sys.stderr, flush=True)
    finally:
        engine.CPU_CHUNK_ACTIVATION_BYTES = default_bytes
    print(f"\n### default CNN, {args.threads} thread(s), medians of {args.repeats} round(s)\n")
    print("| rows | 1 image ms | (min-max) | img/s | (min-max) |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        lat, ips = results[r]["latency_ms"], results[r]["images_per_s"]
        mark = " (chosen)" if r == chosen else ""
        print(f"| {r}{mark} | {statistics.median(lat):.2f} | {min(lat):.2f}-{max(lat):.2f} | "
              f"{statistics.median(ips):,.0f} | {min(ips):,.0f}-{max(ips):,.0f} |")
    load_after = os.getloadavg()
    print(f"\ntorch {torch.__version__}, {args.threads} thread(s); skmnist chooses {chosen} "
          f"rows here; load average {load_before[0]:.2f} -> {load_after[0]:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"chosen": chosen, "threads": args.threads, "results": results,
                       "load": [load_before[0], load_after[0]]}, fh, indent=1)


if __name__ == "__main__":
    main()
