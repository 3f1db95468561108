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
import math

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochTimer, PrintLog

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
    if optimizer in _FUSED_OPTIMIZERS and torch.device(device).type in _FUSED_DEVICES:
        kwargs["fused"] = True
    return opt_cls, kwargs


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
            for start, stop in self._bounds():
                idx = perm[start:stop]
                yield X.index_select(0, idx), (None if y is None else y.index_select(0, idx))
        else:
            for start, stop in self._bounds():
                yield X[start:stop], (None if y is None else y[start:stop])


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
        super()._set_training(training)
        if training and self.frozen_modules:
            # Frozen parts stay in eval mode: batch-norm statistics and
            # dropout do not change what a frozen layer computes.
            modules = dict(getattr(self.module_, "_orig_mod", self.module_).named_modules())
            for name in self.frozen_modules:
                modules[name].eval()

    @property
    def _default_callbacks(self):
        # Loss and accuracy are recorded by run_single_epoch itself, once per
        # epoch, instead of by per-batch scoring callbacks.
        return [("epoch_timer", EpochTimer()), ("print_log", PrintLog())]

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
        # Losses are computed in float32 even under autocast.
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

    def train_step(self, batch, **fit_params):
        if self.grad_scaler_ is None:
            return super().train_step(batch, **fit_params)
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        for name in self._optimizers:
            self.grad_scaler_.step(getattr(self, name + "_"))
        self.grad_scaler_.update()
        return step

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
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            n = len(batch[0])
            loss = step["loss"].detach() * n
            loss_sum = loss if loss_sum is None else loss_sum + loss
            if not training:
                hits = (step["y_pred"].argmax(1) == batch[1]).sum()
                correct = hits if correct is None else correct + hits
            count += n
            self.notify("on_batch_end", batch=batch, training=training, **step)
            batch_count += 1
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
        previous = [h[prefix + "_loss"] for h in self.history[:-1] if prefix + "_loss" in h]
        self.history.record(prefix + "_loss_best", not previous or mean_loss < min(previous))
        if correct is not None:
            self.history.record(prefix + "_acc", values[1] / count)


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


def inference_chunk_size(device):
    """Rows per inference batch: large on GPUs, cache-friendly on CPUs."""
    return 4096 if torch.device(device).type == "cuda" else 256


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
