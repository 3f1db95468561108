"""What a fit pays besides training: a cold process, and a busy machine.

A script, not a test: nothing is asserted. Two measurements (``--mode``):

``cold``
    The first ``fit`` of a fresh Python process. Two small scripts run in
    fresh subprocesses, alternating ``A B A B ...`` for ``--repeats`` rounds,
    each timed from before ``python`` starts to its exit:

    * ``skmnist``: ``from skmnist import SkMNISTClassifier``, load the
      bundled sample, fit ``SkMNISTClassifier(max_epochs=1, augment=None,
      label_smoothing=0.0)`` (the default CNN, trained as the torch script
      trains it) on 500 images;
    * ``torch``: ``import torch``, the same 500 images read from the same
      file with numpy, standardised, and the same network
      (``skmnist.models.get_model("cnn", channels=(32, 64, 128))``, a
      torch-only module) trained for
      one epoch by a plain loop (``torch.optim.Adam``, batches of 32 sliced
      through ``randperm``).

    Both pay torch's own one-time costs (its import, and the import of
    ``torch._dynamo`` that the first ``torch.optim.Optimizer`` triggers);
    skmnist pays scikit-learn and skorch on top. A third run,
    ``skmnist_full_exit``, is the skmnist script with ``SKMNIST_FAST_EXIT=0``
    (Python's full garbage collection at exit, as before skmnist skipped it).

``busy``
    The default ``SkMNISTClassifier()`` fit on all 5,000 images of the
    bundled sample, on a quiet machine and with one competing CPU-bound
    process (a busy loop in a subprocess, started before the fit and stopped
    after it), for the default thread policy (``n_jobs=None``) and for the
    old behaviour of every core (``n_jobs=-1``, torch's default thread count).
    The four configurations alternate for ``--repeats`` rounds.

``heap``
    What skmnist's malloc tuning (``skmnist/_heap.py``) saves: one epoch of
    the default CNN (no augmentation) on the bundled sample, in fresh
    processes alternating ``SKMNIST_MALLOC_TUNING=0`` (malloc left alone) and
    the default, for each of ``--batch-sizes``; the time of the fit and the
    page faults it caused (``getrusage``), after a warm-up fit in the same
    process. Needs glibc on 64-bit Linux.

Usage::

    python benchmarks/bench_overhead.py --mode cold --repeats 5
    python benchmarks/bench_overhead.py --mode busy --repeats 2
    python benchmarks/bench_overhead.py --mode busy --max-epochs 2 --repeats 1   # quick look
    python benchmarks/bench_overhead.py --mode heap --repeats 3

Run it on an otherwise quiet machine: the load average before and after is
printed with the results.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

SAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, "skmnist", "datasets", "data",
                      "mnist_sample.npz")

SKMNIST_SCRIPT = """
import numpy as np
from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample

X, y = load_mnist_sample(return_X_y=True)
idx = np.random.RandomState(0).permutation(len(y))[:500]
# The default CNN; no augmentation or label smoothing, as in the torch script.
SkMNISTClassifier(max_epochs=1, augment=None, label_smoothing=0.0,
                  random_state=0).fit(X[idx], y[idx])
"""

TORCH_SCRIPT = """
import numpy as np
import torch
from skmnist.models import get_model   # torch only: the same module skmnist trains

with np.load({sample!r}) as data:
    images, labels = data["images"], data["labels"]
idx = np.random.RandomState(0).permutation(len(labels))[:500]
X = torch.from_numpy(images[idx].reshape(-1, 1, 28, 28)).float()
X = (X - X.mean()) / X.std()
y = torch.from_numpy(labels[idx]).long()
torch.manual_seed(0)
model = get_model("cnn", in_channels=1, height=28, width=28, n_classes=10,
                  channels=(32, 64, 128))  # what the classifier's channels="auto" builds
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
criterion = torch.nn.CrossEntropyLoss()
model.train()
perm = torch.randperm(len(X))
for start in range(0, len(X), 32):
    batch = perm[start:start + 32]
    optimizer.zero_grad()
    criterion(model(X[batch]), y[batch]).backward()
    optimizer.step()
"""

ENV_FAST_EXIT = "SKMNIST_FAST_EXIT"  # skmnist/_exit.py
ENV_MALLOC = "SKMNIST_MALLOC_TUNING"  # skmnist/_heap.py

BUSY_LOOP = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def load():
    return os.getloadavg()[0]


def run_cold(args):
    folder = tempfile.mkdtemp(prefix="skmnist-cold-")
    scripts = {"skmnist": SKMNIST_SCRIPT,
               "torch": TORCH_SCRIPT.format(sample=os.path.abspath(SAMPLE))}
    paths = {}
    for name, code in scripts.items():
        paths[name] = os.path.join(folder, f"cold_{name}.py")
        with open(paths[name], "w") as f:
            f.write(textwrap.dedent(code))
    # The skmnist script again with Python's full garbage collection at exit
    # (skmnist/_exit.py turned off): what the fast exit saves, in the same run.
    runs = {"skmnist": ("skmnist", {}), "skmnist_full_exit": ("skmnist", {ENV_FAST_EXIT: "0"}),
            "torch": ("torch", {})}
    times = {name: [] for name in runs}
    for r in range(args.repeats):
        for name, (script, env) in runs.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, paths[script]], check=True, cwd=folder,
                           env={**os.environ, **env})
            times[name].append(time.perf_counter() - start)
            print(f"  [round {r + 1}/{args.repeats}] {name:17s} {times[name][-1]:.2f} s",
                  file=sys.stderr, flush=True)
    med = {name: statistics.median(t) for name, t in times.items()}
    print("\n### Cold start: a fresh process imports, loads 500 images and fits 1 epoch\n")
    print("| script | median s | min-max s |")
    print("|---|---:|---:|")
    for name, t in times.items():
        print(f"| {name} | {med[name]:.2f} | {min(t):.2f}-{max(t):.2f} |")
    print(f"\n- skmnist / plain torch: {med['skmnist'] / med['torch']:.2f}x")
    print(f"- skmnist with the full exit collection / plain torch: "
          f"{med['skmnist_full_exit'] / med['torch']:.2f}x")
    return {"times": times, "median": med, "ratio": med["skmnist"] / med["torch"]}


def fit_seconds(n_jobs, max_epochs, X, y):
    from skmnist import SkMNISTClassifier

    params = {} if max_epochs is None else {"max_epochs": max_epochs}
    start = time.perf_counter()
    SkMNISTClassifier(random_state=0, n_jobs=n_jobs, **params).fit(X, y)
    return time.perf_counter() - start


def run_busy(args):
    import numpy as np

    from skmnist.datasets import load_mnist_sample

    X, y = load_mnist_sample(return_X_y=True)
    if args.n_train is not None:
        idx = np.random.RandomState(0).permutation(len(y))[:args.n_train]
        X, y = X[idx], y[idx]
    fit_seconds(None, 1, X[:512], y[:512])  # warm-up: imports, lazy initialisation
    configs = [("quiet", None), ("quiet", -1), ("busy", None), ("busy", -1)]
    times = {c: [] for c in configs}
    for r in range(args.repeats):
        for machine, n_jobs in configs:
            competitor = None
            if machine == "busy":
                competitor = subprocess.Popen(
                    [sys.executable, "-c", BUSY_LOOP.format(seconds=args.competitor_limit)])
                time.sleep(1.0)  # let it take its core
            try:
                seconds = fit_seconds(n_jobs, args.max_epochs, X, y)
            finally:
                if competitor is not None:
                    competitor.kill()
                    competitor.wait()
            times[(machine, n_jobs)].append(seconds)
            print(f"  [round {r + 1}/{args.repeats}] {machine:5s} n_jobs={n_jobs!s:4s} "
                  f"{seconds:.1f} s", file=sys.stderr, flush=True)
    med = {c: statistics.median(t) for c, t in times.items()}
    print(f"\n### Default SkMNISTClassifier() fit on {len(y)} sample images, quiet and with "
          f"one competing CPU-bound process ({os.cpu_count()} CPUs)\n")
    print("| threads | quiet s | busy s | busy / quiet |")
    print("|---|---:|---:|---:|")
    for n_jobs, label in ((None, "`n_jobs=None` (default: idle cores)"),
                          (-1, "`n_jobs=-1` (every core: the old default)")):
        quiet, busy = med[("quiet", n_jobs)], med[("busy", n_jobs)]
        print(f"| {label} | {quiet:.1f} | {busy:.1f} | {busy / quiet:.2f}x |")
    return {"times": {f"{m} n_jobs={j}": t for (m, j), t in times.items()},
            "busy_over_quiet": {str(j): med[("busy", j)] / med[("quiet", j)]
                                for j in (None, -1)}}


HEAP_SCRIPT = """
import json, resource, sys, time
import numpy as np
from skmnist import SkMNISTClassifier, _heap
from skmnist.datasets import load_mnist_sample

X, y = load_mnist_sample(return_X_y=True)
idx = np.random.RandomState(0).permutation(len(y))[:{n_train}]  # the sample is sorted
X, y = X[idx], y[idx]
params = dict(max_epochs=1, augment=None, label_smoothing=0.0, batch_size={batch_size},
              random_state=0, n_jobs={n_jobs})
SkMNISTClassifier(**params).fit(X[:64], y[:64])  # warm-up: imports, first optimizer
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
start = time.perf_counter()
SkMNISTClassifier(**params).fit(X, y)
seconds = time.perf_counter() - start
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
print(json.dumps({{"fit_s": seconds, "faults": faults, "tuned": _heap._state["applied"]}}))
"""


def run_heap(args):
    """Fit time and page faults with and without skmnist's malloc tuning, fresh processes."""
    times, faults = {}, {}
    configs = [(bs, tuned) for bs in args.batch_sizes for tuned in (False, True)]
    for r in range(args.repeats):
        for bs, tuned in configs:
            code = HEAP_SCRIPT.format(n_train=args.n_train or 5000, batch_size=bs,
                                      n_jobs=args.n_jobs)
            env = {**os.environ, ENV_MALLOC: "1" if tuned else "0"}
            out = subprocess.run([sys.executable, "-c", code], check=True, env=env,
                                 capture_output=True, text=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            if row["tuned"] != tuned:
                sys.exit(f"malloc tuning {'not ' if tuned else ''}applied here: "
                         f"glibc on 64-bit Linux is needed ({row})")
            times.setdefault((bs, tuned), []).append(row["fit_s"])
            faults.setdefault((bs, tuned), []).append(row["faults"])
            print(f"  [round {r + 1}/{args.repeats}] batch {bs} tuned={tuned}: "
                  f"{row['fit_s']:.2f} s, {row['faults']:,} page faults", file=sys.stderr,
                  flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n### One epoch of the default CNN on {args.n_train or 5000} sample images, "
          f"malloc left alone ({ENV_MALLOC}=0) and tuned (the default)\n")
    print("| batch | left alone s | tuned s | tuned / left alone | page faults left alone | tuned |")
    print("|---:|---:|---:|---:|---:|---:|")
    for bs in args.batch_sizes:
        off, on = med[(bs, False)], med[(bs, True)]
        print(f"| {bs} | {off:.2f} | {on:.2f} | {on / off:.2f}x | "
              f"{statistics.median(faults[(bs, False)]):,.0f} | "
              f"{statistics.median(faults[(bs, True)]):,.0f} |")
    return {"times": {f"batch {b} tuned={t}": v for (b, t), v in times.items()},
            "faults": {f"batch {b} tuned={t}": v for (b, t), v in faults.items()},
            "tuned_over_untuned": {str(b): med[(b, True)] / med[(b, False)]
                                   for b in args.batch_sizes}}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=("cold", "busy", "heap"), required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--max-epochs", type=int, default=None,
                   help="busy: override the default max_epochs (quick looks)")
    p.add_argument("--n-train", type=int, default=None, help="busy: a subset of the sample")
    p.add_argument("--competitor-limit", type=float, default=900.0,
                   help="busy: seconds after which a competing process stops on its own "
                        "(it is also stopped after each fit)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128],
                   help="heap: the batch sizes to compare")
    p.add_argument("--n-jobs", type=int, default=2, help="heap: torch threads of the fits")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    before = load()
    result = {"cold": run_cold, "busy": run_busy, "heap": run_heap}[args.mode](args)
    result["loadavg"] = [before, load()]
    print(f"\nload average {before:.2f} -> {load():.2f}; {os.cpu_count()} CPUs")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
