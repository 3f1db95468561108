"""Accuracy and fit time of SkMNISTClassifier recipes on the bundled MNIST sample.

A benchmark script, not a test: nothing here is asserted. It is how the
image defaults of issue 14 were chosen ("defaults that reach 99% on MNIST
from the 5,000 bundled images").

What it measures
----------------
For every recipe named with ``--candidates`` (``--list`` prints them) and
every seed in ``--seeds``: 5-fold stratified cross-validation accuracy on
the 5,000 images of ``load_mnist_sample`` (``StratifiedKFold(5,
shuffle=True, random_state=seed)``; the seed is also every estimator's
``random_state``), so each fold trains on 4,000 images and scores the other
1,000, and every image is scored once per seed. The table gives the mean
over seeds of the CV accuracy, its spread over seeds (min and max, and the
standard deviation when there are 3 or more), and the mean fit time of one
fold (4,000 images). ``--time-full`` adds one fit of all 5,000 images
(seed 0), the figure the issue's 60-second budget is about. ``--split``
screens instead on one stratified 4,000 / 1,000 split per seed (cheap, and
noisy: 1,000 test images give a standard error of about 0.3 points at 99%).

``--epochs-table 5 10 20 30 40 50`` reruns the candidates with those
``max_epochs`` (the schedule always spans the whole run), giving the table
of accuracy against fit time from which users pick their trade-off.

Every row records the load average before and after (``os.getloadavg``):
times are only comparable at equal load and equal thread counts. The
default thread count is one (``--threads``; 0 keeps torch's default),
because the machine these figures come from had 2 cores shared with other
jobs.

Candidates
----------
``default`` is ``SkMNISTClassifier()`` as the library ships it when this
runs (since issue 14: blocks (32, 64, 128), augmentation, label smoothing
0.1, 30 epochs). ``old_default`` and the others set parameters on top of
the image defaults before it (``OLD_DEFAULTS``: ``"cnn"`` blocks (32, 64),
dense (128,), dropout 0.25, Adam 2e-3, cosine over 10 epochs, batch 32, no
augmentation, no label smoothing), so ``c3_aug30_ls`` is the new default
spelt out. Features the library does not have are prototyped here:

``schedule="warmup_cosine"`` / ``"onecycle"``
    Learning-rate schedules stepped every batch: a linear warm-up over
    ``warmup_epochs`` then a cosine decay to zero; or torch's
    ``OneCycleLR``. The library's own ``lr_schedule`` is then None.
``elastic``
    :class:`ElasticAffine`: the library's random affine transform (shift,
    rotation, zoom, shear) combined with an elastic distortion (Simard,
    Steinkraus and Platt, ICDAR 2003: a uniform random displacement field
    smoothed by a Gaussian of ``sigma`` pixels and scaled by ``alpha``),
    one ``grid_sample`` per batch.
``"bench_cnn"`` architecture
    The library's CNN with two options more: ``convs_per_block`` (3x3
    convolutions per block before its pooling) and ``gap`` (global average
    pooling instead of flattening before the dense head). It keeps the
    ``features`` / ``head`` / ``classifier`` layout the fine-tuner relies on.

Usage
-----
::

    python benchmarks/bench_sample_accuracy.py --list
    # screening: one seed of 5-fold CV
    OMP_NUM_THREADS=1 python benchmarks/bench_sample_accuracy.py --candidates default aug40
    # the final figures: 3 seeds, then timed fits of all 5,000 images on 2 threads
    OMP_NUM_THREADS=1 python benchmarks/bench_sample_accuracy.py \\
        --candidates default old_default --seeds 0 1 2 --json out.json
    python benchmarks/bench_sample_accuracy.py --candidates default old_default \\
        --full-only 2 --threads 2
    # accuracy against fit time
    OMP_NUM_THREADS=1 python benchmarks/bench_sample_accuracy.py --candidates default \\
        --epochs-table 5 10 20 30 50

See ``benchmarks/README.md`` for the results.
"""

import argparse
import json
import math
import os
import platform
import time

import numpy as np
import sklearn
import torch
import torch.nn.functional as F
from skorch.callbacks import LRScheduler
from sklearn.model_selection import StratifiedKFold, train_test_split
from torch import nn

import skmnist
from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample
from skmnist.models import register_model


# ------------------------------------------------------------ augmentation
class ElasticAffine:
    """Random affine transform plus elastic distortion of a batch, per sample.

    The affine part draws, per sample, a shift of up to ``shift`` pixels
    along each axis, a rotation of up to ``rotation`` degrees, a zoom in
    ``[1 - scale, 1 + scale]`` and a shear of up to ``shear`` degrees, as
    :class:`skmnist.BatchAugmenter` does. The elastic part (Simard et al.
    2003) adds to every sampling position a displacement drawn uniformly in
    [-1, 1] per pixel and axis, smoothed by a Gaussian of standard deviation
    ``sigma`` pixels and multiplied by ``alpha`` pixels. Both go into one
    sampling grid, so each image is interpolated once. ``alpha=0`` gives
    the affine transform alone.

    The draws come from the augmenter's own ``torch.Generator`` (seeded by
    ``seed``; :meth:`reseed` restarts it, as the estimator does every
    epoch), so torch's global random state is never touched.
    """

    def __init__(self, alpha=34.0, sigma=4.0, shift=2.0, rotation=10.0, scale=0.1, shear=0.0,
                 seed=0):
        self.alpha = alpha
        self.sigma = sigma
        self.shift = shift
        self.rotation = rotation
        self.scale = scale
        self.shear = shear
        self.seed = seed
        self._cache = {}

    def __repr__(self):
        return (f"ElasticAffine(alpha={self.alpha:g}, sigma={self.sigma:g}, "
                f"shift={self.shift:g}, rotation={self.rotation:g}, scale={self.scale:g}, "
                f"shear={self.shear:g})")

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_cache"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._cache = {}

    def reseed(self, seed):
        self.seed = seed
        self._cache.pop("generator", None)
        return self

    def _generator(self, device):
        generator = self._cache.get("generator")
        if generator is None or generator.device != device:
            generator = torch.Generator(device=device).manual_seed(int(self.seed) % 2**63)
            self._cache["generator"] = generator
        return generator

    def _constants(self, h, w, device):
        key = (h, w, str(device))
        if self._cache.get("key") != key:
            ys = torch.arange(h, device=device, dtype=torch.float32) + 0.5 - h / 2
            xs = torch.arange(w, device=device, dtype=torch.float32) + 0.5 - w / 2
            gy, gx = torch.meshgrid(ys, xs, indexing="ij")
            radius = max(1, int(math.ceil(3 * self.sigma)))
            taps = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
            kernel = torch.exp(-0.5 * (taps / self.sigma) ** 2)
            self._cache.update(key=key, points=torch.stack([gx, gy]).reshape(2, -1),
                               kernel=kernel / kernel.sum(), radius=radius)
        return self._cache["points"], self._cache["kernel"], self._cache["radius"]

    def __call__(self, X):
        n, _, h, w = X.shape
        device = X.device
        generator = self._generator(device)
        points, kernel, radius = self._constants(h, w, device)
        u = torch.rand((n, 5), generator=generator, device=device).mul_(2).sub_(1)
        angle = torch.deg2rad(u[:, 0] * self.rotation)
        zoom = 1 + u[:, 1] * self.scale
        shear = torch.tan(torch.deg2rad(u[:, 2] * self.shear))
        cos, sin = torch.cos(angle), torch.sin(angle)
        # Forward map p' = zoom * R @ [[1, shear], [0, 1]] @ p + t; sample at its inverse.
        forward = torch.stack([cos, cos * shear - sin, sin, sin * shear + cos], 1).view(n, 2, 2)
        inverse = torch.linalg.inv(forward * zoom[:, None, None])
        shift = (u[:, 3:5] * self.shift).unsqueeze(2)
        source = torch.bmm(inverse, points.unsqueeze(0) - shift)  # (n, 2, h*w), pixels
        if self.alpha:
            noise = torch.rand((n * 2, 1, h, w), generator=generator, device=device)
            noise = noise.mul_(2).sub_(1)
            noise = F.conv2d(noise, kernel.view(1, 1, 1, -1), padding=(0, radius))
            noise = F.conv2d(noise, kernel.view(1, 1, -1, 1), padding=(radius, 0))
            source = source + self.alpha * noise.view(n, 2, h * w)
        half = torch.tensor([w / 2, h / 2], device=device).view(1, 2, 1)
        grid = (source / half).transpose(1, 2).reshape(n, h, w, 2)
        return F.grid_sample(X, grid.to(X.dtype), mode="bilinear", padding_mode="border",
                             align_corners=False)


# ------------------------------------------------------------ architecture
class BenchCNN(nn.Module):
    """Blocks of ``convs_per_block`` 3x3 conv (+BN) + ReLU, then 2x2 max pool; dense head."""

    def __init__(self, in_channels, height, width, n_classes, channels, hidden_units, dropout,
                 batch_norm, convs_per_block, gap):
        super().__init__()
        blocks, (h, w, c) = [], (height, width, in_channels)
        for out in channels:
            layers = []
            for _ in range(convs_per_block):
                layers.append(nn.Conv2d(c, out, 3, padding=1, bias=not batch_norm))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU(inplace=True))
                c = out
            if h >= 2 and w >= 2:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            blocks.append(nn.Sequential(*layers))
        self.features = nn.Sequential(*blocks)
        head = [nn.AdaptiveAvgPool2d(1)] if gap else []
        head.append(nn.Flatten())
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        last = c if gap else c * h * w
        for units in hidden_units:
            head += [nn.Linear(last, units), nn.ReLU(inplace=True)]
            if dropout > 0:
                head.append(nn.Dropout(dropout))
            last = units
        self.head = nn.Sequential(*head)
        self.classifier = nn.Linear(last, n_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.head(self.features(x)))


@register_model("bench_cnn")
def bench_cnn(*, in_channels=1, height=28, width=28, n_classes=10, channels=(32, 64),
              hidden_units=(128,), dropout=0.25, batch_norm=True, convs_per_block=1, gap=False):
    """The library's CNN plus ``convs_per_block`` and ``gap`` (a prototype)."""
    return BenchCNN(in_channels, height, width, n_classes, tuple(channels),
                    tuple(hidden_units), dropout, batch_norm, convs_per_block, gap)


# -------------------------------------------------------- training extras
class WarmupCosine:
    """LR factor per batch: linear warm-up over ``warmup`` steps, then cosine to 0."""

    def __init__(self, total, warmup):
        self.total = max(1, int(total))
        self.warmup = int(warmup)

    def __call__(self, step):
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return 0.5 * (1 + math.cos(math.pi * progress))


class RecipeClassifier(SkMNISTClassifier):
    """SkMNISTClassifier with the prototyped training options of this benchmark.

    Parameters
    ----------
    schedule : {"warmup_cosine", "onecycle"} or None, default=None
        A per-batch LR schedule over the whole fit (set ``lr_schedule=None``
        with it); None leaves the library's ``lr_schedule`` in charge.
    warmup_epochs : float, default=1.0
        Warm-up length of ``"warmup_cosine"`` (and, as a fraction of
        ``max_epochs``, the rising part of ``"onecycle"``).
    **params
        ``SkMNISTClassifier`` parameters.
    """

    _extras = ("schedule", "warmup_epochs")

    def __init__(self, arch="auto", *, schedule=None, warmup_epochs=1.0, **params):
        super().__init__(arch, **params)
        self.schedule = schedule
        self.warmup_epochs = warmup_epochs

    @classmethod
    def _get_param_names(cls):
        return sorted(set(SkMNISTClassifier._get_param_names()) | set(cls._extras))

    def fit(self, X, y):
        self._n_fit = len(X)
        return super().fit(X, y)

    def _build_net(self, module, device):
        super()._build_net(module, device)
        if self.schedule is None:
            return
        if self.lr_schedule is not None:
            raise ValueError("schedule needs lr_schedule=None")
        n, bs = self._n_fit, self.batch_size
        steps = len(range(0, n, bs)) - (1 if n > bs and n % bs == 1 else 0)
        total = steps * self._resolved("max_epochs")
        if self.schedule == "warmup_cosine":
            scheduler = LRScheduler(torch.optim.lr_scheduler.LambdaLR,
                                    lr_lambda=WarmupCosine(total, self.warmup_epochs * steps),
                                    step_every="batch", event_name=None)
        elif self.schedule == "onecycle":
            scheduler = LRScheduler(torch.optim.lr_scheduler.OneCycleLR, max_lr=self.lr,
                                    total_steps=total,
                                    pct_start=min(0.5, self.warmup_epochs
                                                  / self._resolved("max_epochs")),
                                    cycle_momentum=False, step_every="batch", event_name=None)
        else:
            raise ValueError(f"unknown schedule {self.schedule!r}")
        self.net_.callbacks = [("bench_schedule", scheduler)]
        self.net_.initialize_callbacks()


# -------------------------------------------------------------- candidates
# name -> (what it is, parameters). "elastic" holds ElasticAffine's
# arguments; the other keys are RecipeClassifier parameters.
CANDIDATES = {
    "default": ("SkMNISTClassifier() as shipped", {}),
    "old_default": ("the default before issue 14: blocks (32, 64), no augmentation, 10 epochs",
                    {}),
    "aug20": ("augment=True, 20 epochs", {"augment": True, "max_epochs": 20}),
    "aug40": ("augment=True, 40 epochs", {"augment": True, "max_epochs": 40}),
    "wide30": ("augment, (64, 128) + (256,), 30 epochs",
               {"augment": True, "max_epochs": 30, "channels": (64, 128),
                "hidden_units": (256,)}),
    "aug30": ("augment=True, 30 epochs", {"augment": True, "max_epochs": 30}),
    "aug30_ls": ("aug30 + label smoothing 0.1",
                 {"augment": True, "max_epochs": 30, "label_smoothing": 0.1}),
    "elastic30": ("affine + elastic (alpha 34, sigma 4), 30 epochs",
                  {"elastic": {"alpha": 34.0, "sigma": 4.0}, "max_epochs": 30}),
    "c3_aug30": ("blocks (32, 64, 128), augment=True, 30 epochs",
                 {"channels": (32, 64, 128), "augment": True, "max_epochs": 30}),
    "c3_elastic30": ("blocks (32, 64, 128), affine + elastic, 30 epochs",
                     {"channels": (32, 64, 128), "elastic": {"alpha": 34.0, "sigma": 4.0},
                      "max_epochs": 30}),
    "aug50": ("augment=True, 50 epochs", {"augment": True, "max_epochs": 50}),
    "aug40_strong": ("affine shift 3, rotation 15, scale 0.15, shear 10; 40 epochs",
                     {"augment": {"shift": 3, "rotation": 15, "scale": 0.15, "shear": 10},
                      "max_epochs": 40}),
    "aug40_elmild": ("affine + mild elastic (alpha 10, sigma 3), 40 epochs",
                     {"elastic": {"alpha": 10.0, "sigma": 3.0}, "max_epochs": 40}),
    "aug40_wc": ("aug40, per-batch warm-up (1 epoch) + cosine",
                 {"augment": True, "max_epochs": 40, "lr_schedule": None,
                  "schedule": "warmup_cosine", "warmup_epochs": 1}),
    "aug50_bs64": ("augment, batch 64, lr 4e-3, 50 epochs",
                   {"augment": True, "max_epochs": 50, "batch_size": 64, "lr": 4e-3}),
    "c3_aug40": ("blocks (32, 64, 128), augment=True, 40 epochs",
                 {"channels": (32, 64, 128), "augment": True, "max_epochs": 40}),
    "c3_aug30_ls": ("c3_aug30 + label smoothing 0.1",
                    {"channels": (32, 64, 128), "augment": True, "max_epochs": 30,
                     "label_smoothing": 0.1}),
    "c4_aug30": ("blocks (32, 64, 128, 256), augment=True, 30 epochs",
                 {"channels": (32, 64, 128, 256), "augment": True, "max_epochs": 30}),
    "c3gap_aug30": ("blocks (32, 64, 128), global average pooling, dense (128,); augment, 30",
                    {"arch": "bench_cnn", "channels": (32, 64, 128),
                     "module_params": {"gap": True}, "augment": True, "max_epochs": 30}),
    "c3_aug40_bs64": ("blocks (32, 64, 128), augment, batch 64, lr 4e-3, 40 epochs",
                      {"channels": (32, 64, 128), "augment": True, "max_epochs": 40,
                       "batch_size": 64, "lr": 4e-3}),
    "c3_aug30_wc": ("c3_aug30, per-batch warm-up (1 epoch) + cosine",
                    {"channels": (32, 64, 128), "augment": True, "max_epochs": 30,
                     "lr_schedule": None, "schedule": "warmup_cosine", "warmup_epochs": 1}),
    "c3_aug30_wc_ls": ("c3_aug30_wc + label smoothing 0.1",
                       {"channels": (32, 64, 128), "augment": True, "max_epochs": 30,
                        "lr_schedule": None, "schedule": "warmup_cosine", "warmup_epochs": 1,
                        "label_smoothing": 0.1}),
    "aug40_wc_ls": ("aug40_wc + label smoothing 0.1",
                    {"augment": True, "max_epochs": 40, "lr_schedule": None,
                     "schedule": "warmup_cosine", "warmup_epochs": 1, "label_smoothing": 0.1}),
    # Fashion-MNIST (60,000 images, bench_fashion_default.py): less augmentation.
    "c3_ls20": ("blocks (32, 64, 128), label smoothing 0.1, no augmentation, 20 epochs",
                {"channels": (32, 64, 128), "label_smoothing": 0.1, "max_epochs": 20}),
    "c3_shift_ls20": ("blocks (32, 64, 128), label smoothing 0.1, shifts only, 20 epochs",
                      {"channels": (32, 64, 128), "label_smoothing": 0.1, "max_epochs": 20,
                       "augment": {"shift": 2, "rotation": 0, "scale": 0}}),
    "c3_aug30_ls_adamw": ("c3_aug30_ls with AdamW, weight_decay 0.05",
                          {"channels": (32, 64, 128), "augment": True, "max_epochs": 30,
                           "label_smoothing": 0.1, "optimizer": "adamw",
                           "weight_decay": 0.05}),
}


#: The library's image defaults before issue 14, on which the candidates
#: other than "default" build (a candidate's own parameters win).
OLD_DEFAULTS = {"channels": None, "augment": None, "max_epochs": 10, "label_smoothing": 0.0}


def build(name, seed, max_epochs=None):
    """The estimator of candidate ``name`` with ``random_state=seed``."""
    params = {} if name == "default" else dict(OLD_DEFAULTS)
    params.update(CANDIDATES[name][1])
    elastic = params.pop("elastic", None)
    if elastic is not None:
        params["augment"] = ElasticAffine(**elastic)
    if max_epochs is not None:
        params["max_epochs"] = max_epochs
    if name == "default" and max_epochs is None:
        return SkMNISTClassifier(random_state=seed, device="cpu")
    return RecipeClassifier(random_state=seed, device="cpu", **params)


def timed_fit(estimator, X, y):
    load = os.getloadavg()[0]
    start = time.perf_counter()
    estimator.fit(X, y)
    return time.perf_counter() - start, load


def evaluate(name, seed, X, y, *, split, max_epochs):
    """Scores and fit times of one candidate and seed (5-fold CV or one split)."""
    if split:
        tr, te = train_test_split(np.arange(len(y)), train_size=4000, test_size=1000,
                                  stratify=y, random_state=seed)
        folds = [(tr, te)]
    else:
        folds = StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y)
    correct = total = 0
    times, loads = [], []
    for tr, te in folds:
        clf = build(name, seed, max_epochs)
        seconds, load = timed_fit(clf, X[tr], y[tr])
        correct += int((clf.predict(X[te]) == y[te]).sum())
        total += len(te)
        times.append(seconds)
        loads.append(load)
    return {"candidate": name, "seed": seed, "max_epochs": clf._resolved("max_epochs"),
            "accuracy": correct / total, "fold_fit_s": float(np.mean(times)),
            "load_before": float(np.mean(loads)), "load_after": os.getloadavg()[0]}


def summarise(rows):
    acc = np.array([r["accuracy"] for r in rows]) * 100
    spread = f"{acc.min():.2f}-{acc.max():.2f}"
    if len(acc) >= 3:
        spread += f" (sd {acc.std(ddof=1):.2f})"
    return acc.mean(), spread, np.mean([r["fold_fit_s"] for r in rows])


def time_full_fits(args, X, y):
    """``--full-only``: alternating timed fits of all the images, no CV."""
    build("default", 0, 1).fit(X[::10], y[::10])  # warm-up: torch's one-time costs
    times = {name: [] for name in args.candidates}
    epochs, loads = {}, []
    for r in range(args.full_only):
        for name in args.candidates:
            clf = build(name, 0)
            seconds, load = timed_fit(clf, X, y)
            epochs[name] = clf._resolved("max_epochs")
            times[name].append(seconds)
            loads.append((load, os.getloadavg()[0]))
            print(f"[round {r + 1}] {name}: full fit {seconds:.1f} s, load {load:.2f} -> "
                  f"{loads[-1][1]:.2f}", flush=True)
    print(f"\nOne fit of all {len(y):,} images (seed 0), {args.full_only} round(s), torch "
          f"threads {torch.get_num_threads()}, load {min(a for a, _ in loads):.2f}-"
          f"{max(b for _, b in loads):.2f}\n")
    print("| candidate | epochs | full fit s (min-max) |")
    print("|---|---:|---|")
    for name, t in times.items():
        print(f"| {name} | {epochs[name]} | {min(t):.1f}-{max(t):.1f} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"full_fit_s": times, "epochs": epochs, "loads": loads,
                       "threads": torch.get_num_threads()}, fh, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", nargs="+", default=["default"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--split", action="store_true",
                        help="one 4000/1000 split per seed instead of 5-fold CV")
    parser.add_argument("--epochs-table", type=int, nargs="+", default=None)
    parser.add_argument("--time-full", action="store_true",
                        help="also time one fit of all 5,000 images (seed 0)")
    parser.add_argument("--full-only", type=int, default=0, metavar="ROUNDS",
                        help="no CV: time ROUNDS fits of all 5,000 images (seed 0) per "
                             "candidate, alternating candidates, after a warm-up fit")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        for name, (what, params) in CANDIDATES.items():
            print(f"{name:>20}: {what}\n{'':>22}{params}")
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    X, y = load_mnist_sample(return_X_y=True)
    if args.full_only:
        return time_full_fits(args, X, y)
    epochs = args.epochs_table or [None]
    rows, full = [], {}
    protocol = "4000/1000 split" if args.split else "5-fold CV"
    for name in args.candidates:
        for max_epochs in epochs:
            for seed in args.seeds:
                row = evaluate(name, seed, X, y, split=args.split, max_epochs=max_epochs)
                rows.append(row)
                print(f"{name} epochs {row['max_epochs']} seed {seed}: {protocol} "
                      f"{row['accuracy']:.4f}, fold fit {row['fold_fit_s']:.1f} s, "
                      f"load {row['load_before']:.2f} -> {row['load_after']:.2f}", flush=True)
        if args.time_full:
            clf = build(name, 0)
            seconds, load = timed_fit(clf, X, y)
            full[name] = {"fit_s": seconds, "load_before": load,
                          "load_after": os.getloadavg()[0]}
            print(f"{name}: full fit (5,000 images) {seconds:.1f} s, load {load:.2f}",
                  flush=True)
    print(f"\n{protocol}, seeds {args.seeds}, torch threads {torch.get_num_threads()}, "
          f"torch {torch.__version__}, skmnist {skmnist.__version__}\n")
    print("| candidate | epochs | mean accuracy % | spread over seeds | fold fit s "
          "| full fit s | load |")
    print("|---|---:|---:|---|---:|---:|---|")
    for name in args.candidates:
        for max_epochs in epochs:
            r = [row for row in rows if row["candidate"] == name
                 and (max_epochs is None or row["max_epochs"] == max_epochs)]
            mean, spread, fit_s = summarise(r)
            f = full.get(name) if max_epochs is None else None
            loads = f"{min(x['load_before'] for x in r):.1f}-{max(x['load_after'] for x in r):.1f}"
            print(f"| {name} | {r[0]['max_epochs']} | {mean:.2f} | {spread} | {fit_s:.1f} | "
                  f"{'' if f is None else format(f['fit_s'], '.1f')} | {loads} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "full_fit": full, "protocol": protocol,
                       "candidates": {n: CANDIDATES[n] for n in args.candidates},
                       "versions": {"python": platform.python_version(),
                                    "torch": torch.__version__, "sklearn": sklearn.__version__,
                                    "skmnist": skmnist.__version__},
                       "threads": torch.get_num_threads()}, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
