"""Training speed of skmnist against plain PyTorch, skorch and scikit-learn.

Two benchmarks in one script (a script, not a test: nothing here is asserted).

1. Comparison (the default)
---------------------------
Trains the same architecture the same way with up to four implementations
and reports, per variant, the median over ``--repeats`` rounds of:

* ``s/epoch``: total fit time / epochs. The clock starts with the raw uint8
  training images in memory and stops when the model is trained, so it
  includes each variant's own input preparation (standardisation, conversion
  to float32, tensor creation) and set-up, and excludes evaluation;
* ``loop s/epoch``: the time spent inside the epoch loop only (torch_loop:
  timed around each epoch; skmnist and skorch_default: the sum of the
  ``dur`` column of their history, i.e. skorch's ``EpochTimer``;
  MLPClassifier has no per-epoch timer, so it shows ``-``);
* ``setup s``: fit time minus the time in epoch loops, per fit (input
  validation, standardisation, tensor copies, building the model): a
  one-time cost that matters for short fits and for ``partial_fit``;
* ``img/s``: training images processed per second of total fit time;
* ``peak MiB``: see "Memory" below;
* ``test acc``: accuracy on the test set after training (not in the fit time);
* ``predict img/s``: test images per second of that evaluation, timed on
  its own from the raw uint8 test images to the predicted labels (each
  variant's own standardisation and batching: skmnist's ``score``, skorch's
  ``predict`` with its DataLoader, the torch loop in chunks of 1,024 under
  ``torch.inference_mode``).

The variants, all with the same batch size, epochs, optimizer (Adam, same
``lr``, default betas/eps, no weight decay, no schedule), shuffling every
epoch, and inputs standardised with the training set's mean and standard
deviation (one value for the single channel; the baselines compute it with
numpy in float32 inside their timed region, skmnist in float64 inside
``fit``: the values agree to ~1e-6):

``torch_loop``
    What a competent user writes: ``TensorDataset`` + ``DataLoader(shuffle=
    True)``, ``model.train()``, zero_grad / forward / ``CrossEntropyLoss`` /
    backward / step, and ``loss.item()`` per batch for logging. Batches are
    moved to the device inside the loop.
``lean_loop``
    The leanest loop one writes by hand: tensors standardised once, batches
    sliced through a shuffled index (no DataLoader), the loss summed on the
    device and read once per epoch, and skmnist's own two CPU settings given
    to it by hand (channels-last convnet weights, fused Adam): what is left
    between it and skmnist is the wrapper's own cost.
``lean_loop_plain`` (CNN only)
    The same loop with torch's defaults for those two settings (the
    contiguous layout ``get_model`` returns, ``Adam(params, lr)``): a lean
    loop as its user writes it, without skmnist's settings.
``lean_loop_channels_last`` (CNN only)
    The lean loop with the channels-last layout and torch's default Adam:
    which of the two settings gives what.
``skmnist``
    ``SkMNISTClassifier(arch=..., lr_schedule=None, input_scaling="standard",
    random_state=0, ...)`` fitted on the raw uint8 images (it standardises
    them itself).
``skmnist_autograd`` (MLP only)
    ``skmnist`` with its hand-derived MLP step switched off
    (``SkorchEngineNet.dense_step = False``): every batch through autograd,
    as before that step existed: the step's own gain, in the same run.
``skorch_default``
    ``skorch.NeuralNetClassifier(module, criterion=CrossEntropyLoss,
    optimizer=Adam, train_split=None, ...)`` on standardised float32 numpy
    arrays, with skorch's default callbacks and DataLoader. Two deviations
    from skorch's defaults, both to keep the comparison about speed:
    ``iterator_train__shuffle=True`` (skorch does not shuffle by default; the
    other variants do) and its per-epoch log is captured instead of printed
    (it is still produced: ``verbose`` keeps its default).
``MLPClassifier`` (MLP only)
    ``sklearn.neural_network.MLPClassifier(hidden_layer_sizes=(128,),
    solver="adam", alpha=0, tol=0, early_stopping=False, ...)`` for exactly
    ``--epochs`` iterations, on the flattened standardised float32 images.

The three torch variants build the module with
``skmnist.models.get_model`` under the same torch seed that
``SkMNISTClassifier(random_state=0)`` uses, so they start from identical
weights (checked, untimed, before the rounds; see
``same_initial_weights_as_torch_loop`` in the JSON). MLPClassifier uses its
own (Glorot) initialisation. The default CNN is ``get_model("cnn",
channels=(32, 64, 128))`` (what ``channels="auto"`` builds; head (128,),
dropout 0.25, batch norm), trained by every variant without augmentation
or label smoothing; the MLP is
``get_model("mlp", hidden_units=(128,))`` (784-128-10).

Fairness: all variants run in one process, alternating
``A B C D, A B C D, ...`` for ``--repeats`` rounds, so that machine noise
(other processes, thermal state) hits every variant alike; medians are
reported together with the min-max spread, and the load average before and
after is recorded. Before the timed rounds each variant does an untimed
warm-up fit on 512 images (one-time costs: lazy kernel initialisation,
imports, allocator growth). ``gc.collect()`` runs before every fit. On CUDA
the clock is stopped after ``torch.cuda.synchronize()``.

Memory. On the CPU, ``tracemalloc`` does not see torch's allocations, so
each variant is also run once (``--memory-epochs`` epochs, default 1: the
peak is reached in the first epoch, when the optimizer state is created) in
a fresh subprocess, which loads the data, does the same warm-up, resets the
kernel's peak-RSS counter (``/proc/self/clear_refs``), and reports
``VmHWM`` after the fit minus ``VmRSS`` before it: the extra resident memory
the fit needed on top of the loaded uint8 data. On CUDA the table also shows
``torch.cuda.max_memory_allocated()`` during the timed fits (``GPU MiB``).
``--memory none`` skips the subprocesses; the default ``auto`` skips them
for ``--data sample`` (smoke runs, where there is little memory to measure).

2. Time to accuracy (``--time-to-accuracy TARGET``)
---------------------------------------------------
How long the *default* ``SkMNISTClassifier()`` (arch "auto" = the CNN on
images, batch_size=32, lr=2e-3, Adam, cosine schedule over max_epochs;
``random_state=0`` is added for reproducibility) needs to reach a test
accuracy of TARGET. Evaluating the test set after every epoch of one
default ``fit`` is not what its default does, and the cosine schedule makes
"epoch k of a 10-epoch run" different from "a k-epoch run" (the learning
rate has not annealed yet), so there are two honest modes:

``--tta-mode budget`` (default)
    For E in ``--tta-epochs`` (default 1,2,3,4,5,6,8,10), fit a fresh default
    classifier with ``max_epochs=E`` (the cosine schedule anneals over E
    epochs, exactly what a user setting a budget gets) and evaluate it. The
    answer is the fit time of the smallest E that reaches TARGET; larger E
    are not run once one has reached it. This is reproducible with one
    ``fit`` call.
``--tta-mode trajectory``
    One default run (``max_epochs`` = the largest of ``--tta-epochs``)
    trained one epoch at a time with ``partial_fit`` (which continues the
    same cosine schedule and the same per-epoch seeds as ``fit``), the test
    set scored after each epoch with the clock stopped. The answer is the
    cumulative training time at the first epoch that reaches TARGET: what
    an oracle stopping the default run early would have paid. It reports the
    cumulative ``partial_fit`` wall time (which repeats input validation and
    standardisation on every call) and the cumulative history ``dur``
    (epoch loops only).

Both modes start with an untimed warm-up fit on 512 images, and score the
test set outside the clock.

Usage
-----
::

    python benchmarks/bench_train.py --data sample --epochs 1 --repeats 1
    python benchmarks/bench_train.py --arch mlp --epochs 2 --repeats 2 --json mlp.json
    python benchmarks/bench_train.py --arch cnn --epochs 3 --repeats 3 --device cuda
    python benchmarks/bench_train.py --time-to-accuracy 0.916 --device cuda

See ``benchmarks/README.md`` for how to read the output.
"""

import argparse
import contextlib
import functools
import ctypes
import gc
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import sklearn
import skorch
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from skmnist import SkMNISTClassifier
from skmnist._engine import SkorchEngineNet
from skmnist.datasets import fetch_fashion_mnist, load_mnist_sample
from skmnist.models import get_model

VARIANTS = {
    "cnn": ("torch_loop", "lean_loop", "lean_loop_plain", "lean_loop_channels_last", "skmnist",
            "skorch_default"),
    "mlp": ("torch_loop", "lean_loop", "skmnist", "skmnist_autograd", "skorch_default",
            "MLPClassifier"),
}
# The default CNN is what channels="auto" builds; every variant trains it
# without augmentation or label smoothing (TRAINING_KWARGS), as the loops do.
ARCH_KWARGS = {"cnn": {"channels": (32, 64, 128)}, "mlp": {"hidden_units": (128,)}}
TRAINING_KWARGS = {"augment": None, "label_smoothing": 0.0}
RANDOM_STATE = 0  # the data subset and split; the default training seed


def torch_seed(random_state):
    """The torch seed ``SkMNISTClassifier(random_state=...)`` draws for its weights."""
    return int(np.random.RandomState(random_state).randint(2**31 - 1))


WARMUP_SAMPLES = 512
EVAL_CHUNK = 1024
MIB = 2**20


# --------------------------------------------------------------------- data
class Data:
    """Raw uint8 images ``(n, 28, 28)`` and int64 labels, train and test."""

    def __init__(self, name, X_train, y_train, X_test, y_test):
        self.name = name
        self.X_train, self.y_train = X_train, y_train
        self.X_test, self.y_test = X_test, y_test

    def head(self, n):
        return Data(self.name, self.X_train[:n], self.y_train[:n], self.X_test, self.y_test)


def warmup_data(data, batch_size):
    """The first 512 images (513 if 512 would leave a batch-norm-breaking batch of 1)."""
    return data.head(WARMUP_SAMPLES + (WARMUP_SAMPLES % batch_size == 1))


def load_data(kind, n_train):
    if kind == "fashion":
        X_train, y_train = fetch_fashion_mnist(
            subset="train", as_images=True, return_X_y=True, download_if_missing=False)
        X_test, y_test = fetch_fashion_mnist(
            subset="test", as_images=True, return_X_y=True, download_if_missing=False)
        name = "fashion-mnist"
    elif kind == "digits":  # scikit-learn's 8x8 digits, values 0-16, as uint8 images
        from sklearn.datasets import load_digits

        digits = load_digits()
        X_train, X_test, y_train, y_test = train_test_split(
            digits.images.astype(np.uint8), digits.target, test_size=0.2,
            stratify=digits.target, random_state=RANDOM_STATE)
        name = "load_digits"
    else:
        X, y = load_mnist_sample(as_images=True, return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=1000, stratify=y, random_state=RANDOM_STATE)
        name = "mnist-sample"
    if n_train is not None and n_train < len(X_train):
        idx = np.random.RandomState(RANDOM_STATE).permutation(len(X_train))[:n_train]
        X_train, y_train = X_train[idx], y_train[idx]
    else:  # a shuffled copy either way (the sample is sorted by class)
        idx = np.random.RandomState(RANDOM_STATE).permutation(len(X_train))
        X_train, y_train = X_train[idx], y_train[idx]
    return Data(name, np.ascontiguousarray(X_train), y_train.astype(np.int64),
                np.ascontiguousarray(X_test), y_test.astype(np.int64))


def standardize_fit(X):
    """What a user writes: a float32 copy, its mean and std, scaled in place.

    Returns the standardised float32 ``(n, 1, 28, 28)`` array, mean and std.
    numpy's float32 reductions are pairwise sums, so the statistics agree
    with skmnist's float64 ones to ~1e-6 relative.
    """
    Xf = X.astype(np.float32).reshape(len(X), 1, *X.shape[1:])
    mean, std = Xf.mean(), Xf.std()
    Xf -= mean
    Xf /= std
    return Xf, mean, std


def standardize(X, mean, std):
    """uint8 ``(n, 28, 28)`` -> float32 ``(n, 1, 28, 28)`` with given statistics."""
    Xf = X.astype(np.float32).reshape(len(X), 1, *X.shape[1:])
    Xf -= mean
    Xf /= std
    return Xf


# ------------------------------------------------------------------ helpers
def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


IMAGE_SIDE = {"fashion": 28, "sample": 28, "digits": 8}


def build_module(arch, seed=RANDOM_STATE, side=28):
    torch.manual_seed(torch_seed(seed))
    return get_model(arch, in_channels=1, height=side, width=side, n_classes=10,
                     **ARCH_KWARGS[arch])


def module_accuracy(model, X, y, device):
    model.eval()
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(X), EVAL_CHUNK):
            xb = torch.from_numpy(X[start:start + EVAL_CHUNK]).to(device)
            pred = model(xb).argmax(1).cpu().numpy()
            correct += int((pred == y[start:start + EVAL_CHUNK]).sum())
    return correct / len(y)


def verify_same_init(arch, data, cfg):
    """Do skorch_default and skmnist start from torch_loop's weights? (untimed)

    skorch must keep the module instance it is given; skmnist must build the
    module under the same seed. skmnist's initial weights are read by
    fitting one epoch with lr=1e-30 (parameters move by ~1e-30 at most;
    batch-norm running statistics are buffers and are not compared).
    """
    ref = dict(build_module(arch, side=cfg["side"]).named_parameters())

    def same(module):
        got = dict(module.named_parameters())
        return set(got) == set(ref) and all(
            torch.allclose(ref[k].detach(), got[k].detach().cpu(), rtol=0, atol=1e-12)
            for k in ref)

    net = skorch.NeuralNetClassifier(build_module(arch, side=cfg["side"]),
                                     criterion=nn.CrossEntropyLoss,
                                     optimizer=torch.optim.Adam, device=str(cfg["device"]))
    net.initialize()
    small = warmup_data(data, cfg["batch_size"])
    clf = SkMNISTClassifier(arch=arch, **ARCH_KWARGS[arch], **TRAINING_KWARGS, lr=1e-30,
                            lr_schedule=None,
                            max_epochs=1, batch_size=cfg["batch_size"],
                            device=str(cfg["device"]), random_state=RANDOM_STATE)
    clf.fit(small.X_train, small.y_train)
    result = {"skorch_default": same(net.module_), "skmnist": same(clf.module_)}
    for name, ok in result.items():
        if not ok:
            warnings.warn(f"{name} does not start from the reference weights ({arch}).")
    return result


# ----------------------------------------------------------------- variants
# Each returns dict(fit_s, loop_s, epochs, predict=callable returning test acc).
def run_torch_loop(data, cfg):
    device, epochs = cfg["device"], cfg["epochs"]
    t0 = time.perf_counter()
    X, mean, std = standardize_fit(data.X_train)
    model = build_module(cfg["arch"], cfg["seed"], cfg["side"]).to(device)
    loader = DataLoader(
        TensorDataset(torch.from_numpy(X), torch.from_numpy(data.y_train)),
        batch_size=cfg["batch_size"], shuffle=True,
        generator=torch.Generator().manual_seed(torch_seed(cfg["seed"])),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    criterion = nn.CrossEntropyLoss()
    loop_s = 0.0
    train_loss = None
    for _ in range(epochs):
        t_epoch = time.perf_counter()
        model.train()
        running, seen = 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            running += loss.item() * len(xb)
            seen += len(xb)
        train_loss = running / seen
        sync(device)
        loop_s += time.perf_counter() - t_epoch
    fit_s = time.perf_counter() - t0

    def score():
        return module_accuracy(model, standardize(data.X_test, mean, std), data.y_test, device)

    return {"fit_s": fit_s, "loop_s": loop_s, "train_loss": train_loss, "score": score}


def run_lean_loop(data, cfg, channels_last=True, fused=True):
    """The leanest loop one writes by hand, over the module skmnist trains.

    Data standardised once into tensors on the device, batches sliced through
    a shuffled index (no DataLoader), no ``loss.item()`` per batch (the loss
    is summed on the device and read once per epoch), ``zero_grad(set_to_none
    =True)``, and skmnist's own two CPU/CUDA settings applied by hand: the
    channels-last layout for its convnets on the CPU and torch's fused Adam.
    What is left between this and skmnist is the wrapper's own cost.
    ``lean_loop_plain`` leaves both at torch's defaults (the contiguous layout
    ``get_model`` returns, ``Adam(params, lr)``); ``lean_loop_channels_last``
    keeps the layout and leaves Adam at its default.
    """
    device, epochs = cfg["device"], cfg["epochs"]
    t0 = time.perf_counter()
    X = torch.from_numpy(data.X_train).to(device).float().unsqueeze(1)
    X.sub_(X.mean()).div_(X.std(correction=0))
    y = torch.from_numpy(data.y_train).to(device)
    model = build_module(cfg["arch"], cfg["seed"], cfg["side"]).to(device)
    if channels_last and device.type == "cpu" and cfg["arch"] == "cnn":
        model = model.to(memory_format=torch.channels_last)
    fused = fused and device.type in ("cpu", "cuda")
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"], fused=fused or None)
    criterion = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(torch_seed(cfg["seed"]))
    n, batch_size = len(X), cfg["batch_size"]
    loop_s = 0.0
    train_loss = None
    for _ in range(epochs):
        t_epoch = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=generator).to(device)
        total = torch.zeros((), device=device)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            xb, yb = X.index_select(0, idx), y.index_select(0, idx)
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(idx)
        train_loss = float(total) / n
        sync(device)
        loop_s += time.perf_counter() - t_epoch
    fit_s = time.perf_counter() - t0
    stats = (float(data.X_train.mean()), float(data.X_train.std()))

    def score():
        return module_accuracy(model, standardize(data.X_test, *stats), data.y_test, device)

    return {"fit_s": fit_s, "loop_s": loop_s, "train_loss": train_loss, "score": score}


def run_skmnist(data, cfg):
    device = cfg["device"]
    clf = SkMNISTClassifier(
        arch=cfg["arch"], **ARCH_KWARGS[cfg["arch"]], **TRAINING_KWARGS, input_scaling="standard",
        lr=cfg["lr"], optimizer="adam", lr_schedule=None, batch_size=cfg["batch_size"],
        max_epochs=cfg["epochs"], device=str(device), random_state=cfg["seed"],
        n_jobs=torch.get_num_threads(),  # the baselines' threads, whatever the load
    )
    t0 = time.perf_counter()
    clf.fit(data.X_train, data.y_train)
    sync(device)
    fit_s = time.perf_counter() - t0
    return {
        "fit_s": fit_s,
        "loop_s": float(sum(clf.history_[:, "dur"])),
        "epoch_dur": [float(d) for d in clf.history_[:, "dur"]],
        "train_loss": float(clf.history_[-1, "train_loss"]),
        "score": lambda: float(clf.score(data.X_test, data.y_test)),
    }


def run_skmnist_autograd(data, cfg):
    """``run_skmnist`` with the hand-derived MLP step off: autograd on every batch."""
    SkorchEngineNet.dense_step = False
    try:
        return run_skmnist(data, cfg)
    finally:
        SkorchEngineNet.dense_step = True


def run_skorch_default(data, cfg):
    device = cfg["device"]
    t0 = time.perf_counter()
    X, mean, std = standardize_fit(data.X_train)
    module = build_module(cfg["arch"], cfg["seed"], cfg["side"])
    net = skorch.NeuralNetClassifier(
        module, criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=cfg["lr"],
        batch_size=cfg["batch_size"], max_epochs=cfg["epochs"], train_split=None,
        device=str(device), iterator_train__shuffle=True,
    )
    with contextlib.redirect_stdout(io.StringIO()):
        net.fit(X, data.y_train)
    sync(device)
    fit_s = time.perf_counter() - t0

    def score():
        Xt = standardize(data.X_test, mean, std)
        return float((net.predict(Xt) == data.y_test).mean())

    return {
        "fit_s": fit_s,
        "loop_s": float(sum(net.history[:, "dur"])),
        "train_loss": float(net.history[-1, "train_loss"]),
        "score": score,
    }


def run_mlpclassifier(data, cfg):
    epochs = cfg["epochs"]
    t0 = time.perf_counter()
    X, mean, std = standardize_fit(data.X_train)
    X = X.reshape(len(X), -1)
    clf = MLPClassifier(
        hidden_layer_sizes=ARCH_KWARGS["mlp"]["hidden_units"], solver="adam",
        learning_rate_init=cfg["lr"],
        batch_size=cfg["batch_size"], max_iter=epochs, alpha=0.0, shuffle=True, tol=0.0,
        n_iter_no_change=epochs + 1, early_stopping=False, random_state=cfg["seed"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, data.y_train)
    fit_s = time.perf_counter() - t0

    def score():
        Xt = standardize(data.X_test, mean, std).reshape(len(data.X_test), -1)
        return float(clf.score(Xt, data.y_test))

    return {"fit_s": fit_s, "loop_s": None, "train_loss": float(clf.loss_), "score": score}


RUNNERS = {
    "torch_loop": run_torch_loop,
    "lean_loop": run_lean_loop,
    "lean_loop_plain": functools.partial(run_lean_loop, channels_last=False, fused=False),
    "lean_loop_channels_last": functools.partial(run_lean_loop, fused=False),
    "skmnist": run_skmnist,
    "skmnist_autograd": run_skmnist_autograd,
    "skorch_default": run_skorch_default,
    "MLPClassifier": run_mlpclassifier,
}


def timed_run(variant, data, cfg):
    """One fit (+ untimed evaluation); GPU peak memory on CUDA."""
    device = cfg["device"]
    gc.collect()
    gpu_base = None
    if device.type == "cuda" and variant != "MLPClassifier":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        gpu_base = torch.cuda.memory_allocated(device)
    out = RUNNERS[variant](data, cfg)
    if gpu_base is not None:
        out["gpu_peak_mib"] = (torch.cuda.max_memory_allocated(device) - gpu_base) / MIB
    t0 = time.perf_counter()
    out["test_acc"] = out.pop("score")()
    sync(device)
    out["predict_s"] = time.perf_counter() - t0
    out["predict_images_per_s"] = len(data.X_test) / out["predict_s"]
    n_images = len(data.X_train) * cfg["epochs"]
    out["s_per_epoch"] = out["fit_s"] / cfg["epochs"]
    out["loop_s_per_epoch"] = None if out["loop_s"] is None else out["loop_s"] / cfg["epochs"]
    out["images_per_s"] = n_images / out["fit_s"]
    out["setup_s"] = None if out["loop_s"] is None else out["fit_s"] - out["loop_s"]
    return out


# ------------------------------------------------------------------- memory
def _proc_status():
    values = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024  # kB -> bytes
    return values


def memory_worker(args):
    """Subprocess body: warm up, reset the peak RSS, fit once, print JSON."""
    device = resolve_device(args.device)
    data = load_data(args.data, args.n_train)
    cfg = make_cfg(args, device, epochs=args.memory_epochs)
    variant = args._worker
    RUNNERS[variant](warmup_data(data, cfg["batch_size"]), dict(cfg, epochs=1))
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # hand freed heap back to the OS
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    method = "clear_refs"
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
    except OSError:
        method = "hwm_delta"
    before = _proc_status()
    RUNNERS[variant](data, cfg)
    after = _proc_status()
    base = before["VmRSS"] if method == "clear_refs" else before["VmHWM"]
    print(json.dumps({"peak_mib": (after["VmHWM"] - base) / MIB,
                      "rss_before_mib": before["VmRSS"] / MIB, "method": method}))


def measure_memory(variant, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker", variant,
           "--arch", args.arch_now, "--data", args.data, "--batch-size", str(args.batch_size),
           "--lr", str(args.lr), "--device", args.device,
           "--memory-epochs", str(args.memory_epochs),
           "--hidden-units", *(str(h) for h in args.hidden_units)]
    if args.n_train is not None:
        cmd += ["--n-train", str(args.n_train)]
    if args.threads is not None:
        cmd += ["--threads", str(args.threads)]
    # A fixed mmap threshold turns off glibc's adaptive one, so large buffers
    # freed before the measurement (data loading, warm-up) are returned to
    # the OS instead of being reused unseen by the measured fit.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072", MALLOC_TRIM_THRESHOLD_="131072")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(f"  memory subprocess for {variant} failed:\n{proc.stderr[-2000:]}",
              file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------ orchestration
def resolve_device(name):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda but CUDA is not available here.")
    return dev


def make_cfg(args, device, epochs=None):
    return {"device": device, "arch": args.arch_now, "lr": args.lr,
            "batch_size": args.batch_size, "epochs": epochs or args.epochs,
            "seed": RANDOM_STATE, "side": IMAGE_SIDE[args.data]}


def machine_info(device):
    cpu_model = None
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else cpu_model),
    }
    return info


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runs):
    keys = ("fit_s", "s_per_epoch", "loop_s_per_epoch", "setup_s", "images_per_s", "test_acc",
            "train_loss", "gpu_peak_mib", "predict_s", "predict_images_per_s")
    out = {}
    for key in keys:
        values = [r.get(key) for r in runs if r.get(key) is not None]
        if values:
            out[key] = {"median": statistics.median(values), "min": min(values),
                        "max": max(values)}
    return out


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def print_comparison(arch, data, cfg, summary, memory, rounds):
    print(f"\n### {arch}: {data.name}, {len(data.X_train)} train / {len(data.X_test)} test "
          f"images, batch {cfg['batch_size']}, {cfg['epochs']} epoch(s), lr {cfg['lr']}, "
          f"device {cfg['device']}, medians of {rounds} round(s)\n")
    gpu = cfg["device"].type == "cuda"
    header = ["variant", "s/epoch", "(min-max)", "loop s/epoch", "setup s", "img/s",
              "vs torch_loop", "peak MiB", "test acc", "predict img/s"]
    if gpu:
        header.insert(8, "GPU MiB")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    ref = summary["torch_loop"]["s_per_epoch"]["median"]
    for variant, s in summary.items():
        spe = s["s_per_epoch"]
        loop = s.get("loop_s_per_epoch", {}).get("median")
        mem = memory.get(variant)
        row = [
            f"`{variant}`", f"{spe['median']:.3f}", f"{spe['min']:.3f}-{spe['max']:.3f}",
            fmt(loop, ".3f"), fmt(s.get("setup_s", {}).get("median"), ".2f"),
            f"{s['images_per_s']['median']:,.0f}",
            f"{spe['median'] / ref:.2f}x", fmt(mem and mem["peak_mib"], ".0f"),
            f"{s['test_acc']['median']:.4f}",
            f"{s['predict_images_per_s']['median']:,.0f}",
        ]
        if gpu:
            row.insert(8, fmt(s.get("gpu_peak_mib", {}).get("median"), ".0f"))
        print("| " + " | ".join(row) + " |")
    print()
    ratios = {}
    med = {v: s["s_per_epoch"]["median"] for v, s in summary.items()}
    for a, b in (("skmnist", "torch_loop"), ("skmnist", "lean_loop"),
                 ("skmnist", "lean_loop_plain"), ("skmnist", "lean_loop_channels_last"),
                 ("skmnist", "skmnist_autograd"), ("skmnist_autograd", "MLPClassifier"),
                 ("skmnist", "skorch_default"), ("skmnist", "MLPClassifier"),
                 ("skorch_default", "torch_loop")):
        if a in med and b in med:
            ratios[f"{a}/{b}"] = med[a] / med[b]
            print(f"- `{a}` / `{b}` time per epoch: {med[a] / med[b]:.2f}x")
    return ratios


def print_accuracy_over_seeds(runs):
    """Test accuracy mean and spread when every round used its own seed."""
    print()
    ref = runs.get("MLPClassifier") or runs["torch_loop"]
    ref_name = "MLPClassifier" if "MLPClassifier" in runs else "torch_loop"
    for variant, rs in runs.items():
        accs = [r["test_acc"] for r in rs]
        line = (f"- `{variant}` test accuracy over seeds {[r['seed'] for r in rs]}: "
                f"mean {statistics.mean(accs):.4f} (sd {statistics.stdev(accs):.4f}, "
                f"min {min(accs):.4f})")
        if variant != ref_name:
            wins = sum(a >= r["test_acc"] for a, r in zip(accs, ref))
            line += f"; >= `{ref_name}` with the same seed in {wins} of {len(accs)}"
        print(line)


def run_comparison(args, device, report):
    data_all = load_data(args.data, args.n_train)
    archs = ("cnn", "mlp") if args.arch == "both" else (args.arch,)
    for arch in archs:
        args.arch_now = arch
        cfg = make_cfg(args, device)
        variants = [v for v in VARIANTS[arch] if v in args.variants]
        if "torch_loop" not in variants:
            sys.exit("--variants must include torch_loop (the reference).")
        if arch == "cnn" and len(data_all.X_train) % args.batch_size == 1:
            sys.exit("The last batch would hold one image, which batch norm cannot train "
                     "on in torch_loop/skorch_default; change --n-train or --batch-size.")
        same_init = verify_same_init(arch, data_all, cfg)
        if args.warmup:
            for variant in variants:
                RUNNERS[variant](warmup_data(data_all, cfg["batch_size"]), dict(cfg, epochs=1))
        runs = {v: [] for v in variants}
        for r in range(args.repeats):
            seed = r if args.vary_seed else RANDOM_STATE
            for variant in variants:
                out = timed_run(variant, data_all, dict(cfg, seed=seed))
                out["seed"] = seed
                runs[variant].append({k: v for k, v in out.items()})
                print(f"  [{arch} round {r + 1}/{args.repeats}] {variant:15s} "
                      f"{out['s_per_epoch']:.3f} s/epoch, test acc {out['test_acc']:.4f}",
                      file=sys.stderr, flush=True)
        memory = {}
        if args.memory == "subprocess":
            for variant in variants:
                memory[variant] = measure_memory(variant, args)
        summary = {v: summarize(runs[v]) for v in variants}
        ratios = print_comparison(arch, data_all, cfg, summary, memory, args.repeats)
        if args.vary_seed and args.repeats > 1:
            print_accuracy_over_seeds(runs)
        sys.stdout.flush()
        report["comparisons"].append({
            "arch": arch, "data": data_all.name, "n_train": len(data_all.X_train),
            "n_test": len(data_all.X_test), "batch_size": args.batch_size,
            "epochs": args.epochs, "lr": args.lr, "repeats": args.repeats,
            "seeds": sorted({run["seed"] for run in runs[variants[0]]}),
            "variants": variants, "runs": runs, "summary": summary, "memory": memory,
            "ratios_s_per_epoch": ratios,
            "same_initial_weights_as_torch_loop": same_init,
        })


def run_time_to_accuracy(args, device, report):
    data = load_data(args.data, args.n_train)
    target = args.time_to_accuracy
    budgets = sorted({int(e) for e in args.tta_epochs.split(",")})
    rows = []
    reached = None
    if args.warmup:  # untimed: lazy kernel initialisation would land in the first fit
        small = data.head(WARMUP_SAMPLES)
        SkMNISTClassifier(max_epochs=1, device=str(device), random_state=RANDOM_STATE).fit(
            small.X_train, small.y_train)
    print(f"\n### Time to {target:.4f} test accuracy: default SkMNISTClassifier "
          f"(random_state=0, device {device}), {data.name}, {len(data.X_train)} train / "
          f"{len(data.X_test)} test images, mode {args.tta_mode}\n")
    if args.tta_mode == "budget":
        print("| max_epochs | fit s | test acc | reached |")
        print("|---:|---:|---:|:---:|")
        for epochs in budgets:
            gc.collect()
            clf = SkMNISTClassifier(max_epochs=epochs, device=str(device),
                                    random_state=RANDOM_STATE)
            t0 = time.perf_counter()
            clf.fit(data.X_train, data.y_train)
            sync(device)
            fit_s = time.perf_counter() - t0
            acc = float(clf.score(data.X_test, data.y_test))
            ok = acc >= target
            rows.append({"max_epochs": epochs, "fit_s": fit_s, "test_acc": acc,
                         "loop_s": float(sum(clf.history_[:, "dur"])), "reached": ok})
            print(f"| {epochs} | {fit_s:.1f} | {acc:.4f} | {'yes' if ok else 'no'} |", flush=True)
            if ok:
                reached = rows[-1]
                break
    else:
        max_epochs = budgets[-1]
        clf = SkMNISTClassifier(max_epochs=max_epochs, device=str(device),
                                random_state=RANDOM_STATE)
        classes = np.unique(data.y_train)
        wall = 0.0
        print("| epoch | cumulative partial_fit s | cumulative dur s | test acc | reached |")
        print("|---:|---:|---:|---:|:---:|")
        for epoch in range(1, max_epochs + 1):
            gc.collect()
            t0 = time.perf_counter()
            clf.partial_fit(data.X_train, data.y_train, classes=classes)
            sync(device)
            wall += time.perf_counter() - t0
            acc = float(clf.score(data.X_test, data.y_test))
            dur = float(sum(clf.history_[:, "dur"]))
            ok = acc >= target
            rows.append({"epoch": epoch, "wall_s": wall, "dur_s": dur, "test_acc": acc,
                         "reached": ok})
            print(f"| {epoch} | {wall:.1f} | {dur:.1f} | {acc:.4f} | {'yes' if ok else 'no'} |",
                  flush=True)
            if ok and reached is None:
                reached = rows[-1]
                if not args.tta_full:
                    break
    print()
    if reached is None:
        print(f"- target {target} not reached (best test acc "
              f"{max(r['test_acc'] for r in rows):.4f})")
    elif args.tta_mode == "budget":
        print(f"- reached {target} with max_epochs={reached['max_epochs']}: "
              f"{reached['fit_s']:.1f} s of fit, test acc {reached['test_acc']:.4f}")
    else:
        print(f"- reached {target} after epoch {reached['epoch']} of {max_epochs}: "
              f"{reached['wall_s']:.1f} s of partial_fit ({reached['dur_s']:.1f} s in epoch "
              f"loops), test acc {reached['test_acc']:.4f}")
    report["time_to_accuracy"] = {
        "target": target, "mode": args.tta_mode, "data": data.name,
        "n_train": len(data.X_train), "rows": rows, "reached": reached,
        "estimator": "SkMNISTClassifier(random_state=0) defaults, max_epochs varied",
    }


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", choices=("fashion", "sample", "digits"), default="fashion",
                   help="fashion: full Fashion-MNIST found on disk (60k/10k); sample: the "
                        "bundled 5k MNIST sample split 4000/1000 (smoke runs); digits: "
                        "scikit-learn's load_digits (8x8), split 80/20 (small data)")
    p.add_argument("--hidden-units", type=int, nargs="+", default=[128],
                   help="the MLP's hidden layers (default 128; MLPClassifier's default is 100)")
    p.add_argument("--n-train", type=int, default=None,
                   help="use a random subset of this many training images")
    p.add_argument("--arch", choices=("cnn", "mlp", "both"), default="both")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--repeats", type=int, default=3, help="alternating rounds")
    p.add_argument("--vary-seed", action="store_true",
                   help="round r trains every variant with seed r (weights, shuffling) "
                        "instead of seed 0 in every round, and reports test accuracy "
                        "over the seeds")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads and BLAS threads (default: library defaults)")
    p.add_argument("--variants",
                   default="torch_loop,lean_loop,lean_loop_plain,lean_loop_channels_last,"
                           "skmnist,skmnist_autograd,skorch_default,MLPClassifier",
                   help="comma-separated subset of the variants to run")
    p.add_argument("--memory", choices=("auto", "subprocess", "none"), default="auto",
                   help="peak-RSS subprocesses; auto: on for --data fashion, off for the "
                        "sample (smoke runs)")
    p.add_argument("--memory-epochs", type=int, default=1)
    p.add_argument("--no-warmup", dest="warmup", action="store_false")
    p.add_argument("--json", metavar="PATH", help="write all results and machine info here")
    p.add_argument("--time-to-accuracy", type=float, metavar="TARGET", default=None,
                   help="run the time-to-accuracy benchmark instead of the comparison")
    p.add_argument("--tta-mode", choices=("budget", "trajectory"), default="budget")
    p.add_argument("--tta-epochs", default="1,2,3,4,5,6,8,10",
                   help="budget mode: the max_epochs tried; trajectory: the largest is used")
    p.add_argument("--tta-full", action="store_true",
                   help="trajectory mode: keep training after the target is reached")
    p.add_argument("--_worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.variants = tuple(v.strip() for v in args.variants.split(","))
    unknown = set(args.variants) - set(RUNNERS)
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}; choose from {sorted(RUNNERS)}")
    if args.epochs < 1 or args.repeats < 1 or args.batch_size < 1:
        p.error("--epochs, --repeats and --batch-size must be >= 1")
    args.arch_now = args.arch
    ARCH_KWARGS["mlp"] = {"hidden_units": tuple(args.hidden_units)}
    if args.memory == "auto":
        args.memory = "subprocess" if args.data == "fashion" else "none"
    return args


def main(argv=None):
    args = parse_args(argv)
    limits = threadpool_limits(limits=args.threads) if args.threads else contextlib.nullcontext()
    if args.threads:
        torch.set_num_threads(args.threads)
    with limits:
        if args._worker:
            memory_worker(args)
            return
        device = resolve_device(args.device)
        load, usable = os.getloadavg()[0], len(os.sched_getaffinity(0))
        if args.threads is None and device.type == "cpu" and load > 0.5 * usable:
            print(f"note: load average {load:.1f} on {usable} CPUs. torch's "
                  f"{torch.get_num_threads()} OpenMP threads slow down badly when other "
                  "processes hold cores; --threads 1 gives steadier numbers.", file=sys.stderr)
        report = {"machine": machine_info(device), "args": {
            k: v for k, v in vars(args).items() if not k.startswith("_") and k != "arch_now"},
            "loadavg_start": os.getloadavg(), "comparisons": []}
        t0 = time.perf_counter()
        if args.time_to_accuracy is not None:
            run_time_to_accuracy(args, device, report)
        else:
            run_comparison(args, device, report)
        report["loadavg_end"] = os.getloadavg()
        report["total_s"] = time.perf_counter() - t0
        m = report["machine"]
        print(f"\n{m['device_name']} ({m['device']}), {m['cpu_affinity']} usable CPUs, "
              f"{m['torch_threads']} torch threads; torch {m['torch']}, skorch {m['skorch']}, "
              f"scikit-learn {m['sklearn']}; load average {report['loadavg_start'][0]:.2f} -> "
              f"{report['loadavg_end'][0]:.2f}; {report['total_s']:.0f} s in all")
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(report, fh, indent=2, default=str)
            print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
