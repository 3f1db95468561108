"""The training engine under the estimators: skorch pieces tuned for speed.

* :class:`TensorBatchIterator` replaces skorch's ``DataLoader``: the whole
  dataset is a tensor already on the training device and each batch is a
  slice (or an index-select through a shuffled permutation), so there is no
  per-sample indexing and no host-to-device copy per batch.
* :class:`SkorchEngineNet` is a ``skorch.NeuralNetClassifier`` that
  overrides single steps only (``run_single_epoch``, ``train_step``,
  ``evaluation_step``, ``infer``): losses and accuracies are summed on the
  device and read once per epoch, inference runs under
  ``torch.inference_mode``, and mixed precision uses ``torch.autocast``
  (with gradient scaling for float16).
"""

import contextlib
import inspect
import math
import os
import re
import sys

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, EpochTimer, PrintLog

from ._dense_step import dense_relu_layers, dense_relu_step

PRECISIONS = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}

#: The optimizers named by the estimators' ``optimizer`` parameter: (class, defaults).
OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "rmsprop": (torch.optim.RMSprop, {}),
}
# Optimizers given by name run torch's fused (single-kernel) update on the
# CPU and CUDA: the same arithmetic as the default loop, in one pass over the
# parameters (benchmarks/README.md: the MLP's fit about 1.3x faster on a
# 2-core CPU). Optimizer classes passed by the user are left as they are.
_FUSED_OPTIMIZERS = ("adam", "adamw", "sgd")
# Optimizers whose step() needs no closure: SkorchEngineNet.train_step calls them directly.
_CLOSURE_FREE_OPTIMIZERS = (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD,
                            torch.optim.RMSprop)
_FUSED_DEVICES = ("cpu", "cuda")


def optimizer_params(optimizer, weight_decay, device):
    """``(optimizer class, keyword arguments)`` for the estimators' ``optimizer`` parameter.

    A name gets the defaults of :data:`OPTIMIZERS` (and the fused update on
    the CPU and CUDA); a class is used with its own defaults. The weight
    decay is always passed: AdamW's own default would otherwise decay by 0.01.
    """
    if isinstance(optimizer, str):
        opt_cls, defaults = OPTIMIZERS[optimizer]
    else:
        opt_cls, defaults = optimizer, {}
    kwargs = dict(defaults, weight_decay=weight_decay)
    if not _takes_weight_decay(opt_cls):  # e.g. LBFGS
        if weight_decay:
            raise ValueError(
                f"weight_decay={weight_decay!r} but the optimizer {opt_cls.__name__} takes "
                "no weight decay: set weight_decay=0 or choose another optimizer.")
        del kwargs["weight_decay"]
    if optimizer in _FUSED_OPTIMIZERS and torch.device(device).type in _FUSED_DEVICES:
        kwargs["fused"] = True
    return opt_cls, kwargs


def _takes_weight_decay(opt_cls):
    try:
        params = inspect.signature(opt_cls).parameters
    except (TypeError, ValueError):
        return True
    return "weight_decay" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def resolve_device(device):
    """Turn the ``device`` parameter into a ``torch.device``.

    ``"auto"`` picks the first CUDA GPU when one is available, else the CPU.
    Asking for CUDA where there is none is an error, not a silent fallback.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device={device!r} is not a valid device; use 'auto', 'cpu', 'cuda' "
            "or 'cuda:N'."
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but CUDA is not available on this machine; "
                "use device='auto' (GPU when present, else CPU) or device='cpu'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible."
            )
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ValueError(
                f"device={device!r} but Apple's MPS backend is not available here; use "
                "device='auto' or 'cpu'.")
    elif dev.type != "cpu":
        raise ValueError(
            f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda' or 'cuda:N'."
        )
    return dev


# Training sets up to this size are shuffled by one copy per epoch; larger ones
# batch by batch, so that the copy never doubles a large data set in memory.
_SHUFFLE_COPY_BYTES = 64 * 2**20


class TensorBatchIterator:
    """Mini-batches sliced from tensors held on the training device.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
        Its ``X`` and ``y`` are tensors (``y`` may be None).
    batch_size : int
        Samples per batch.
    shuffle : bool, default=False
        Draw a new permutation each time the iterator is iterated.
    seed : int, default=None
        Seed of the permutation: a fixed seed gives the same order on every
        pass (the estimator sets a new seed each epoch); None draws from
        torch's global generator.
    merge_last : bool, default=False
        Fold a final batch of a single sample into the previous one (batch
        norm cannot train on one value per channel).
    """

    def __init__(self, dataset, batch_size, shuffle=False, seed=None, merge_last=False):
        self.X = dataset.X
        self.y = dataset.y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = seed
        self.merge_last = merge_last
        self.n = len(self.X)

    def _bounds(self):
        starts = list(range(0, self.n, self.batch_size))
        stops = starts[1:] + [self.n]
        if self.merge_last and len(starts) > 1 and stops[-1] - starts[-1] == 1:
            starts.pop()
            stops.pop()
            stops[-1] = self.n
        return zip(starts, stops)

    def __len__(self):
        return len(list(self._bounds()))

    def __iter__(self):
        X, y = self.X, self.y
        if self.shuffle:
            generator = None
            if self.seed is not None:
                generator = torch.Generator().manual_seed(int(self.seed))
            perm = torch.randperm(self.n, generator=generator).to(X.device, non_blocking=True)
            if X.numel() * X.element_size() <= _SHUFFLE_COPY_BYTES:
                # Small data: one shuffled copy per epoch, batches are views of it
                # (two gathers per epoch instead of two per batch).
                X = X.index_select(0, perm)
                y = None if y is None else y.index_select(0, perm)
                for start, stop in self._bounds():
                    yield X[start:stop], (None if y is None else y[start:stop])
                return
            for start, stop in self._bounds():
                idx = perm[start:stop]
                yield X.index_select(0, idx), (None if y is None else y.index_select(0, idx))
        else:
            for start, stop in self._bounds():
                yield X[start:stop], (None if y is None else y[start:stop])


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def use_color(stream=None):
    """Colour codes only on a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    stream = sys.stdout if stream is None else stream
    return not os.environ.get("NO_COLOR") and bool(getattr(stream, "isatty", lambda: False)())


class EpochLog(PrintLog):
    """skorch's epoch table, printed once the epoch is durable, coloured only on a terminal.

    * The row of an epoch is held back until :meth:`flush` (the epoch runner
      calls it after the epoch's checkpoint is written): a process killed
      right after a row was printed has that epoch on disk.
      :meth:`discard` drops the row of an epoch that Ctrl-C undid.
    * skorch's ``PrintLog`` formats the table every epoch and prints it or
      not; here nothing is formatted at ``verbose=0`` (about 0.6 ms an epoch).
    * The colour codes skorch puts around the best values are left out when
      the output is not a terminal (a file, a pipe) or ``NO_COLOR`` is set.
    """

    def initialize(self):
        super().initialize()
        self.pending_ = []
        return self

    def _sink(self, text, verbose):
        if verbose or self.sink is not print:
            self.pending_.append(text)

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not use_color():
            text = _ANSI.sub("", text)
        return text

    def on_epoch_end(self, net, **kwargs):
        if net.verbose or self.sink is not print:
            super().on_epoch_end(net, **kwargs)

    def flush(self):
        """Print the rows held back."""
        pending, self.pending_ = self.pending_, []
        for text in pending:
            self.sink(text)
        if pending and self.sink is print:
            sys.stdout.flush()

    def discard(self):
        """Forget the rows held back (their epoch was undone)."""
        self.pending_ = []


class EpochProgress(Callback):
    """A progress bar over the batches of each epoch, with the time left for the fit.

    Shown at ``verbose >= 1`` on a terminal only (``tqdm`` turns itself off
    when stderr is a file or a pipe, where the epoch table is the record).
    The estimators' epoch runner tells it, through ``net.epoch_plan_``, which
    epoch of how many this is; the time left is the mean epoch time so far
    times the epochs to go.
    """

    def initialize(self):
        self.bar_ = None
        self.started_ = None
        return self

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if not net.verbose or dataset_train is None:
            return
        from tqdm.auto import tqdm

        epoch, total, seconds_per_epoch = getattr(net, "epoch_plan_", (None, None, None))
        desc = f"epoch {epoch}/{total}" if epoch else "epoch"
        postfix = None
        if seconds_per_epoch and total and epoch:
            left = seconds_per_epoch * (total - epoch + 1)
            postfix = f"fit {int(left // 60)}:{int(left % 60):02d} left"
        n_batches = max(1, math.ceil(len(dataset_train) / net.batch_size))
        self.bar_ = tqdm(total=n_batches, desc=desc, unit="batch", leave=False,
                         file=sys.stderr, dynamic_ncols=True, disable=None, postfix=postfix)

    def on_batch_end(self, net, training=None, **kwargs):
        if training and self.bar_ is not None:
            self.bar_.update(1)

    def on_epoch_end(self, net, **kwargs):
        if self.bar_ is not None:
            self.bar_.close()
            self.bar_ = None

    def on_train_end(self, net, **kwargs):
        self.on_epoch_end(net)


class SkorchEngineNet(NeuralNetClassifier):
    """``NeuralNetClassifier`` with a sync-free epoch and mixed precision.

    Parameters
    ----------
    precision : {"32", "bf16", "16"}, default="32"
        Autocast dtype for forward passes; "16" adds gradient scaling.
    augment_fn : callable or None, default=None
        Applied to each training batch of images on the device.
    frozen_modules : sequence of str, default=()
        Names (as in ``named_modules``) of submodules kept in eval mode
        while training, because their weights are frozen.
    channels_last : bool, default=False
        Store the module's 4-D (convolution) weights in the channels-last
        memory layout, so that convolutions run on NHWC tensors; off means
        PyTorch's default (contiguous, NCHW) layout. See
        :func:`prefers_channels_last`.
    *args, **kwargs
        Passed to ``skorch.NeuralNetClassifier``.
    """

    # The callbacks (the LR scheduler holds the optimizer) travel with the
    # module and optimizer through skorch's device-aware pickling, so a GPU
    # model unpickles on a CPU-only machine and hashing sees no live tensors.
    # ("module" and "callbacks" also hold the module instance and the scheduler.)
    cuda_dependent_attributes_ = NeuralNetClassifier.cuda_dependent_attributes_ + [
        "module", "callbacks"]

    def __init__(self, *args, precision="32", augment_fn=None, frozen_modules=(),
                 channels_last=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.augment_fn = augment_fn
        self.frozen_modules = frozen_modules
        self.channels_last = channels_last

    def initialize_module(self):
        super().initialize_module()
        # Set both ways: a module fine-tuned from a channels-last CPU model
        # goes back to the default layout where channels-last was not chosen.
        layout = torch.channels_last if self.channels_last else torch.contiguous_format
        self.module_ = self.module_.to(memory_format=layout)
        return self

    def _set_training(self, training=True):
        # Called before every batch: skip the walk over every submodule when
        # the module is in that mode already, with the same frozen parts.
        state = (bool(training), tuple(self.frozen_modules))
        if self.module_.training is state[0] and getattr(self, "_mode_set", None) == state:
            return
        super()._set_training(training)
        if training and self.frozen_modules:
            # Frozen parts stay in eval mode: batch-norm statistics and
            # dropout do not change what a frozen layer computes.
            modules = dict(getattr(self.module_, "_orig_mod", self.module_).named_modules())
            for name in self.frozen_modules:
                modules[name].eval()
        self._mode_set = state

    @property
    def _default_callbacks(self):
        # Loss and accuracy are recorded by run_single_epoch itself, once per
        # epoch, instead of by per-batch scoring callbacks.
        return [("epoch_timer", EpochTimer()), ("progress", EpochProgress()),
                ("print_log", EpochLog())]

    def initialize(self):
        super().initialize()
        self.grad_scaler_ = None
        if self.precision == "16":
            self.grad_scaler_ = torch.amp.GradScaler(torch.device(self.device).type)
        return self

    def _autocast(self):
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(torch.device(self.device).type, dtype=dtype)

    def infer(self, x, **fit_params):
        with self._autocast():
            return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, *args, **kwargs):
        # Losses are computed in float32 even under autocast. The targets are
        # tensors on the device already (TensorBatchIterator), so skorch's
        # conversion step is skipped for them.
        if isinstance(y_true, torch.Tensor) and isinstance(self.criterion_,
                                                           torch.nn.CrossEntropyLoss):
            return self.criterion_(y_pred.float(), y_true)
        return super().get_loss(y_pred.float(), y_true, *args, **kwargs)

    def train_step_single(self, batch, **fit_params):
        if self.augment_fn is not None:
            Xi, yi = batch
            batch = (self.augment_fn(Xi), yi)
        if self.grad_scaler_ is None:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self.grad_scaler_.scale(loss).backward()
        return {"loss": loss, "y_pred": y_pred}

    def _epoch_logs(self):
        return [cb for _, cb in getattr(self, "callbacks_", []) if isinstance(cb, EpochLog)]

    def flush_epoch_log(self):
        """Print the epoch rows held back by :class:`EpochLog` (the epoch is durable)."""
        for log in self._epoch_logs():
            log.flush()

    def discard_epoch_log(self):
        """Drop the epoch rows held back (the epoch was undone)."""
        for log in self._epoch_logs():
            log.discard()

    def drop_training_caches(self):
        """Forget what training kept between epochs (the dataset of the training tensors)."""
        self._dataset_cache = None
        self.epoch_plan_ = None

    def check_data(self, X, y):
        # The estimators validate X and y and pass ``classes``; skorch's check
        # would compute np.unique(y) again at the start of every epoch.
        if y is None or self.classes is None:
            super().check_data(X, y)

    def get_dataset(self, X, y=None):
        # fit_loop asks for the dataset of the same tensors every epoch.
        cached = getattr(self, "_dataset_cache", None)
        if cached is not None and cached[0] is X and cached[1] is y:
            return cached[2]
        dataset = super().get_dataset(X, y)
        if isinstance(X, torch.Tensor):
            self._dataset_cache = (X, y, dataset)
        return dataset

    def _best_loss_before(self, key):
        """The lowest ``key`` of the epochs before the current one (None if there is none).

        Kept incrementally (the history can only grow by one epoch at a time
        or be cut back, after Ctrl-C), instead of a scan of the whole history
        every epoch.
        """
        # (list.__getitem__: skorch's History copies the whole list on every index.)
        rows = self.history
        caches = getattr(self, "_best_cache", {})
        n_before = len(rows) - 1
        seen, best, last = caches.get(key, (0, None, None))
        if seen > n_before or (seen and list.__getitem__(rows, seen - 1) is not last):
            seen, best = 0, None  # the history was cut back or replaced: scan it again
        for i in range(seen, n_before):
            row = list.__getitem__(rows, i)
            if key in row and (best is None or row[key] < best):
                best = row[key]
        last = list.__getitem__(rows, n_before - 1) if n_before > 0 else None
        self._best_cache = {**caches, key: (n_before, best, last)}
        return best

    def _listeners(self, method):
        """The bound methods ``notify(method, ...)`` would call that do something.

        skorch's ``notify`` calls the net's hook and every callback's, most of
        them the empty default; the epoch loop calls only the others (for
        instance the LR scheduler's ``on_batch_end``), in notify's order.
        """
        hooks = []
        if getattr(type(self), method) is not getattr(NeuralNetClassifier, method):
            hooks.append(getattr(self, method))
        for _, callback in self.callbacks_:
            if getattr(type(callback), method) is not getattr(Callback, method):
                hooks.append(getattr(callback, method))
        return hooks

    def _fast_step_possible(self, fit_params):
        """Whether :meth:`train_step` may skip skorch's closure (see there)."""
        return (not fit_params and self._optimizers == ["optimizer"]
                and isinstance(self.optimizer_, _CLOSURE_FREE_OPTIMIZERS)
                and not self._grad_listeners())

    #: Train skmnist's plain MLP with the hand-derived step of
    #: :mod:`skmnist._dense_step` where it applies (a switch for the benchmark
    #: and the tests, which compare it with autograd).
    dense_step = True
    _dense_layers = None  # set by run_single_epoch for the epoch it runs

    def _dense_step_layers(self, fit_params):
        """The MLP's layers when the hand-derived step may train this epoch, else None.

        Only on the CPU (where it was measured), in float32 without gradient
        scaling, with the estimators' plain ``CrossEntropyLoss`` (no class
        weights), and where :meth:`train_step` takes its direct path.
        """
        criterion = getattr(self, "criterion_", None)
        if not (self.dense_step and self.precision == "32"  # (no autocast, no grad scaler)
                and torch.device(self.device).type == "cpu"
                and type(criterion) is torch.nn.CrossEntropyLoss
                and criterion.weight is None and criterion.reduction == "mean"
                and self._fast_step_possible(fit_params)):
            return None
        return dense_relu_layers(self.module_)

    def _grad_listeners(self):
        return any(type(cb).on_grad_computed is not Callback.on_grad_computed
                   for _, cb in self.callbacks_)

    def train_step(self, batch, **fit_params):
        """One optimisation step: zero the gradients, forward, loss, backward, update.

        skorch's own ``train_step`` wraps these in a closure for the optimizer
        (which LBFGS needs) and collects the step in an accumulator; with an
        optimizer that takes no closure and no callback listening to
        ``on_grad_computed``, this does the same work directly, which saves
        about 0.4 ms per batch on a CPU (``benchmarks/README.md``). Other
        optimizers go through skorch's path.
        """
        if not self._fast_step_possible(fit_params):
            if self.grad_scaler_ is None:
                return super().train_step(batch, **fit_params)
            self._zero_grad_optimizer()
            step = self.train_step_single(batch, **fit_params)
            for name in self._optimizers:
                self.grad_scaler_.step(getattr(self, name + "_"))
            self.grad_scaler_.update()
            return step
        Xi, yi = batch
        if self.augment_fn is not None:
            Xi = self.augment_fn(Xi)
        self._set_training(True)
        optimizer = self.optimizer_
        dense = self._dense_layers
        if dense is not None:  # skmnist's plain MLP: the hand-derived step, no autograd
            loss, y_pred = dense_relu_step(dense, Xi, yi, self.criterion_.label_smoothing)
            optimizer.step()
            return {"loss": loss, "y_pred": y_pred}
        for group in optimizer.param_groups:  # zero_grad(set_to_none=True), without its
            for p in group["params"]:          # profiler bookkeeping (~10 us a batch)
                p.grad = None
        with self._autocast():
            y_pred = self.module_(Xi)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        if self.grad_scaler_ is None:
            loss.backward()
            optimizer.step()
        else:
            self.grad_scaler_.scale(loss).backward()
            self.grad_scaler_.step(optimizer)
            self.grad_scaler_.update()
        return {"loss": loss, "y_pred": y_pred}

    def evaluation_step(self, batch, training=False):
        if training:
            return super().evaluation_step(batch, training=True)
        self.check_is_fitted()
        Xi = batch[0] if isinstance(batch, (tuple, list)) else batch
        with torch.inference_mode():
            self._set_training(False)
            return self.infer(Xi)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One pass over ``iterator``; loss and accuracy stay on the device.

        The per-batch ``loss.item()`` of skorch's version forces a device
        sync per batch; here the sums are read once, at the end.
        """
        if iterator is None:
            return
        loss_sum = None
        correct = None
        count = 0
        batch_count = 0
        begin, end = self._listeners("on_batch_begin"), self._listeners("on_batch_end")
        self._dense_layers = self._dense_step_layers(fit_params) if training else None
        try:
            for batch in iterator:
                for hook in begin:  # what notify("on_batch_begin", ...) calls
                    hook(self, batch=batch, training=training)
                try:
                    step = step_fn(batch, **fit_params)
                except ValueError as exc:
                    if "Expected more than 1 value per channel" not in str(exc):
                        raise
                    raise ValueError(
                        f"A {prefix} batch of {batch[0].shape[0]} sample(s) leaves batch "
                        "normalisation one value per channel (the images are that small at "
                        f"some layer): set batch_size >= 2 (it is {self.batch_size}), give "
                        "larger images, or train without batch norm (batch_norm=False)."
                    ) from exc
                n = batch[0].shape[0]
                if loss_sum is None:
                    loss_sum = step["loss"].detach().float() * n
                else:
                    loss_sum.add_(step["loss"].detach(), alpha=n)
                if not training:
                    hits = (step["y_pred"].argmax(1) == batch[1]).sum()
                    correct = hits if correct is None else correct.add_(hits)
                count += n
                for hook in end:
                    hook(self, batch=batch, training=training, **step)
                batch_count += 1
        finally:
            self._dense_layers = None
        self.history.record(prefix + "_batch_count", batch_count)
        if count == 0:
            return
        values = [loss_sum.float()] + ([] if correct is None else [correct.float()])
        values = torch.stack(values).tolist()  # the one sync of the epoch
        mean_loss = values[0] / count
        if not math.isfinite(mean_loss):
            raise FloatingPointError(
                f"The {prefix} loss became {mean_loss} (diverged). Lower lr, "
                "use input scaling, or set precision='32'."
            )
        self.history.record(prefix + "_loss", mean_loss)
        best = self._best_loss_before(prefix + "_loss")
        self.history.record(prefix + "_loss_best", best is None or mean_loss < best)
        if correct is not None:
            self.history.record(prefix + "_acc", values[1] / count)


# Values per chunk of channel_mean_std: 2 MiB in float64, so that each
# chunk's float64 copy stays in the CPU's cache (20,000 MNIST images: 16 ms,
# against 71 ms with chunks of 4,096 images, a one-off timing: benchmarks/README.md).
_STATS_CHUNK_VALUES = 2**18


def channel_mean_std(Xt, dims, chunk=None):
    """Mean and standard deviation of ``Xt`` over ``dims`` (keepdim), as float32 tensors.

    Sums are taken in float64, ``chunk`` samples at a time (two passes: the
    mean, then the squared deviations), so no float32 value can make them
    overflow and no float64 copy of the whole data set is made. ``chunk``
    None: as many samples as fit in 2**18 values. A standard
    deviation below 1e-6 (relative to the mean when that is larger than 1)
    is set to 1: a constant feature is left as it is, not divided by zero.
    """
    count = 1
    for d in dims:
        count *= Xt.shape[d]
    if chunk is None:
        per_sample = max(1, Xt[:1].numel())
        chunk = max(1, _STATS_CHUNK_VALUES // per_sample)
    total = None
    for part in Xt.split(chunk):
        s = part.double().sum(dim=dims, keepdim=True)
        total = s if total is None else total + s
    mean = total / max(count, 1)
    squares = None
    for part in Xt.split(chunk):
        s = (part.double() - mean).square_().sum(dim=dims, keepdim=True)
        squares = s if squares is None else squares + s
    std = (squares / max(count, 1)).sqrt_()
    std[std < 1e-6 * mean.abs().clamp_min(1.0)] = 1.0
    return mean.float(), std.float()


def prefers_channels_last(module, device):
    """Whether to train ``module`` on ``device`` in the channels-last layout.

    Measured on a 2-core CPU (``benchmarks/README.md``): the default CNN
    trains about 1.4x faster with channels-last weights. Only skmnist's own
    convolutional architectures are converted: their flattening uses
    ``nn.Flatten`` (a reshape), while a user's module may call ``.view`` on a
    convolution output, which fails on a channels-last tensor. On GPUs the
    layout is left as is (not measured here).
    """
    if torch.device(device).type != "cpu":
        return False
    if not type(module).__module__.startswith("skmnist.models"):
        return False
    return any(isinstance(m, torch.nn.Conv2d) for m in module.modules())


# A CPU inference chunk holds this many bytes of its first convolution's
# output: 64 images of the default CNN on 28x28 images. Measured on a 2-core
# CPU (benchmarks/bench_predict.py; figures in benchmarks/README.md): 64 rows
# predict as many images per second as 256, and one image 4x faster.
CPU_CHUNK_ACTIVATION_BYTES = 8 * 2**20
CPU_CHUNK_ROWS = 256


def _conv_output_values(conv, input_shape):
    """Values per sample out of ``conv`` (an ``nn.Conv2d``) for a (c, h, w) input."""
    height, width = input_shape[-2:]
    sizes = []
    for i, size in enumerate((height, width)):
        kernel, stride, dilation = conv.kernel_size[i], conv.stride[i], conv.dilation[i]
        if conv.padding == "same":
            sizes.append(size)
            continue
        pad = 0 if conv.padding == "valid" else conv.padding[i]
        sizes.append(max(1, (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1))
    return conv.out_channels * sizes[0] * sizes[1]


def first_conv_output_bytes(module, input_shape):
    """float32 bytes per sample out of ``module``'s first ``nn.Conv2d``; None without one."""
    conv = next((m for m in module.modules() if isinstance(m, torch.nn.Conv2d)), None)
    return None if conv is None else 4 * _conv_output_values(conv, input_shape)


def inference_chunk_size(device, module=None, input_shape=None):
    """Rows per inference chunk (every chunk is padded to it: ``predict_logits``).

    4,096 on GPUs. On the CPU, 256 rows, fewer for convolutional networks:
    as many as keep the first convolution's float32 output within 8 MiB
    (``CPU_CHUNK_ACTIVATION_BYTES``), a power of two between 1 and 256, so a
    single image does not pay for 255 padded ones. The size depends on the
    module and the input shape only, never on the data predicted, so a
    sample's prediction does not depend on its batch-mates.
    """
    if torch.device(device).type == "cuda":
        return 4096
    if module is None or input_shape is None:
        return CPU_CHUNK_ROWS
    per_sample = first_conv_output_bytes(module, input_shape)
    if per_sample is None:
        return CPU_CHUNK_ROWS
    rows = max(1, CPU_CHUNK_ACTIVATION_BYTES // per_sample)
    return min(CPU_CHUNK_ROWS, 1 << (rows.bit_length() - 1))


def predict_logits(net, Xt, chunk_size):
    """Logits for ``Xt`` (a tensor on the module's device), returned on the CPU.

    Every chunk is padded to exactly ``chunk_size`` rows, so each sample goes
    through the same kernels whatever the number of samples predicted: a
    sample's prediction never depends on which other samples share its call
    (float32 matrix kernels otherwise differ by batch size in the last bits).
    """
    outputs = []
    n_total = len(Xt)
    for start in range(0, n_total, chunk_size):
        chunk = Xt[start:start + chunk_size]
        n = len(chunk)
        if n < chunk_size and n_total > 0:
            padded = chunk.new_zeros((chunk_size,) + tuple(chunk.shape[1:]))
            padded[:n] = chunk
            chunk = padded
        logits = net.evaluation_step((chunk, None), training=False)
        outputs.append(logits[:n].float().cpu())
    if not outputs:
        return torch.empty((0, len(net.classes)), dtype=torch.float32)
    return torch.cat(outputs)


def to_tensor(X, device, dtype=torch.float32):
    """Copy a numpy array into a new contiguous tensor on ``device``.

    Always a copy, never a view of the caller's array: the estimators
    standardise the result in place.
    """
    arr = np.asarray(X)
    np_dtype = torch.empty(0, dtype=dtype).numpy().dtype
    tensor = torch.from_numpy(np.array(arr, dtype=np_dtype, order="C", copy=True))
    return tensor.to(device)
