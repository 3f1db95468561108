"""Training mechanics between skorch's epochs: one small runner, one ``state_dict()``.

skorch trains an epoch (``net.fit_loop(X, y, epochs=1)`` runs
``run_single_epoch`` -> ``train_step`` for every batch, and the per-epoch
callbacks: timer, LR schedule, printed table). What happens *between*
epochs lives here, in :class:`EpochRunner`, so the estimators only say what
to run:

* **per-epoch seeding**: epoch *k* of a run with seed *s* reseeds torch, the
  batch iterator and the augmenter from ``(s, k)``, so a run killed after
  epoch *k* and resumed from its checkpoint continues exactly as an
  uninterrupted run would;
* **early stopping** on the training or validation loss, restoring the best
  weights when there is a validation set (no ``KeyboardInterrupt`` used as
  control flow, unlike skorch's ``EarlyStopping``);
* **Ctrl-C**: a ``KeyboardInterrupt`` during an epoch restores the weights,
  optimizer, LR schedule and history of the last completed epoch
  (:class:`EpochUndo`), warns and returns;
* **one training run across calls**: ``partial_fit`` continues a run (the
  callbacks see ``on_train_begin`` once), a resumed run fast-forwards the
  LR schedule to where it stopped;
* **hooks** the estimator passes: ``before_epoch`` (the fine-tuner unfreezes
  there) and ``after_epoch`` (checkpoints are written there).

The runner's state is plain numbers (:meth:`EpochRunner.state_dict`); the
estimators keep one runner and save its state with the model.
"""

import copy
import math
import time
import warnings

import torch
from skorch.callbacks import LRScheduler

_SEED_STRIDE = 1_000_003
_SEED_MODULUS = 2**63 - 1


def lr_scheduler(net):
    """The ``torch.optim.lr_scheduler`` object of ``net``'s LR callback, or None."""
    for _, callback in getattr(net, "callbacks_", []):
        if isinstance(callback, LRScheduler):
            return getattr(callback, "lr_scheduler_", None)
    return None


class EpochUndo:
    """What an epoch changes, copied before it, so that Ctrl-C can undo a half epoch.

    The module's parameters and buffers and the optimizer's state tensors are
    copied into tensors allocated once (a ``copy_`` per tensor and epoch,
    not a new ``state_dict`` copy: ``copy.deepcopy`` of the state costs
    about 70 us per tensor, more than an epoch of a small model); the
    optimizer's hyperparameters, the LR schedule and the history length are
    small values.
    """

    def __init__(self):
        self._copies = None
        self._layout = None
        self._module = None

    def _live(self, net):
        module, optimizer = net.module_, net.optimizer_
        if self._module is None or self._module[0] is not module:
            self._module = (module, [*module.parameters(), *module.buffers()])
        layout = [(p, key) for p, state in optimizer.state.items()
                  for key, value in state.items() if isinstance(value, torch.Tensor)]
        tensors = [*self._module[1], *(optimizer.state[p][key] for p, key in layout)]
        return layout, tensors

    def take(self, net):
        """Copy the state now (before an epoch)."""
        layout, tensors = self._live(net)
        with torch.no_grad():
            if (self._copies is None or len(self._copies) != len(tensors)
                    or any(c.shape != t.shape for c, t in zip(self._copies, tensors))):
                self._copies = [t.detach().clone() for t in tensors]
            else:
                for copy_, tensor in zip(self._copies, tensors):
                    copy_.copy_(tensor)
        optimizer = net.optimizer_
        self._layout = layout
        self._state_extra = {p: {k: copy.deepcopy(v) for k, v in state.items()
                                 if not isinstance(v, torch.Tensor)}
                             for p, state in optimizer.state.items()}
        self._groups = [{k: v for k, v in group.items() if k != "params"}
                        for group in optimizer.param_groups]
        scheduler = lr_scheduler(net)
        self._scheduler = None if scheduler is None else copy.deepcopy(scheduler.state_dict())
        self._history = len(net.history)
        return self

    def restore(self, net):
        """Put back the state of :meth:`take` (after a ``KeyboardInterrupt``)."""
        optimizer = net.optimizer_
        for p in [p for p in optimizer.state if p not in self._state_extra]:
            del optimizer.state[p]  # state the interrupted epoch created
        for p, extra in self._state_extra.items():
            optimizer.state[p].update(extra)
        tensors = [*self._module[1], *(optimizer.state[p][key] for p, key in self._layout)]
        with torch.no_grad():
            for tensor, copy_ in zip(tensors, self._copies):
                tensor.copy_(copy_)
        for group, saved in zip(optimizer.param_groups, self._groups):
            group.update(saved)
        scheduler = lr_scheduler(net)
        if scheduler is not None and self._scheduler is not None:
            scheduler.load_state_dict(self._scheduler)
        del net.history[self._history:]


def seed_torch(seed, device):
    """Seed torch's generator of ``device`` (the CPU's, and a CUDA device's).

    ``torch.manual_seed`` also queues seeds for every other backend (CUDA,
    XPU, MTIA), recording a stack trace each time while they are not
    initialised: about 1 ms per call, once per epoch here.
    """
    torch.random.default_generator.manual_seed(seed)
    device = torch.device(device)
    if device.type == "cuda":
        with torch.cuda.device(device):
            torch.cuda.manual_seed(seed)


def _flush_log(net):
    flush = getattr(net, "flush_epoch_log", None)
    if flush is not None:
        flush()


def _discard_log(net):
    discard = getattr(net, "discard_epoch_log", None)
    if discard is not None:
        discard()


def rest(net):
    """After training: modules in eval mode (predicting changes no state), caches dropped."""
    for module in (getattr(net, "module_", None), getattr(net, "criterion_", None)):
        if isinstance(module, torch.nn.Module):
            module.train(False)
    drop = getattr(net, "drop_training_caches", None)
    if drop is not None:
        drop()  # the training tensors must not stay in (or be pickled with) the model


class EpochRunner:
    """Runs a skorch net epoch by epoch: seeding, early stopping, Ctrl-C, hooks.

    Parameters
    ----------
    seed : int
        The run's seed (drawn from the estimator's ``random_state``).

    Attributes
    ----------
    n_iter : int
        Epochs trained in total, over every call.
    run_epochs : int
        Epochs of the current ``fit`` run (what ``resume`` continues from).
    begun : bool
        Whether the net's callbacks saw ``on_train_begin`` for this run.
    """

    def __init__(self, seed):
        self.seed = int(seed)
        self.n_iter = 0
        self.run_epochs = 0
        self.begun = False
        self._best_loss = math.inf
        self._no_improvement = 0

    # ------------------------------------------------------------------ state
    def state_dict(self):
        """The runner's state as plain values (saved with the model)."""
        return {"seed": self.seed, "n_iter": self.n_iter, "run_epochs": self.run_epochs}

    @classmethod
    def from_state_dict(cls, state):
        """A runner continuing from :meth:`state_dict` (early-stopping counters reset)."""
        runner = cls(state["seed"])
        runner.n_iter = int(state["n_iter"])
        runner.run_epochs = int(state["run_epochs"])
        return runner

    def epoch_seed(self):
        """The seed of the next epoch: a function of the run's seed and the epoch number."""
        return (self.seed + _SEED_STRIDE * (self.n_iter + 1)) % _SEED_MODULUS

    # ------------------------------------------------------------------ a run
    def begin(self, net, X, y, *, new_run, resumed=False):
        """Tell the callbacks a run begins (once per run); fast-forward a resumed schedule.

        ``new_run`` is True for ``fit`` (the schedule starts again) and False
        for ``partial_fit``, which continues the current run.
        """
        if new_run or not self.begun:
            net.notify("on_train_begin", X=X, y=y)
            self.begun = True
        if resumed:
            scheduler = lr_scheduler(net)
            if scheduler is not None:
                with warnings.catch_warnings():  # no optimizer step yet: that is the point
                    warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler")
                    for _ in range(self.run_epochs):
                        scheduler.step()
        elif new_run:
            self.run_epochs = 0

    def end(self, net, X, y, *, end_run):
        """After training: ``on_train_end`` for a finished run; the net rests in eval mode."""
        if end_run:
            net.notify("on_train_end", X=X, y=y)
        rest(net)

    def run(self, net, X, y, n_epochs, *, monitor=None, patience=None, tol=0.0,
            restore_best=False, count_run=True, before_epoch=None, after_epoch=None,
            verbose=0, warn_stacklevel=2):
        """Train up to ``n_epochs`` epochs of ``net`` on tensors ``X``, ``y``.

        Parameters
        ----------
        net : skorch.NeuralNet
            An initialised net.
        X, y : torch.Tensor
            Training data on the net's device.
        n_epochs : int
            Epochs to train at most.
        monitor : str, default=None
            The history key early stopping watches (``"valid_loss"``,
            ``"train_loss"``); None or ``patience=None`` turns it off.
        patience : int, default=None
            Stop after this many epochs without an improvement of ``tol``.
        tol : float, default=0.0
            The smallest improvement of the monitored loss that counts.
        restore_best : bool, default=False
            When stopping early, restore the weights of the best epoch.
        count_run : bool, default=True
            Count the epochs towards the run (``fit``) or not (``partial_fit``).
        before_epoch, after_epoch : callable, default=None
            Called with no arguments before and after every completed epoch.
        verbose : int, default=0
            Print why training stopped early (a Ctrl-C is a warning).
        warn_stacklevel : int, default=2
            ``stacklevel`` of the Ctrl-C warning as the caller of this method
            would pass it to ``warnings.warn`` (2: the caller's caller).

        Returns
        -------
        interrupted : bool
            True when a ``KeyboardInterrupt`` stopped training; the net then
            holds the state of the last completed epoch.
        """
        best_state = None
        undo = EpochUndo()
        started = time.monotonic()
        for done in range(n_epochs):
            if before_epoch is not None:
                before_epoch()
            # for the progress bar: which epoch of how many, and the seconds an epoch takes
            net.epoch_plan_ = (done + 1, n_epochs,
                               (time.monotonic() - started) / done if done else None)
            seed = self.epoch_seed()
            seed_torch(seed, net.device)
            net.iterator_train__seed = seed
            if hasattr(net.augment_fn, "reseed"):
                net.augment_fn.reseed(seed)
            undo.take(net)
            try:
                net.fit_loop(X, y, epochs=1)
            except KeyboardInterrupt:
                undo.restore(net)
                _discard_log(net)
                message = (
                    f"Training interrupted (KeyboardInterrupt) during epoch {self.n_iter + 1}; "
                    f"the model keeps the weights of the last completed epoch "
                    f"({self.n_iter}).")
                warnings.warn(message, UserWarning, stacklevel=warn_stacklevel + 1)
                return True
            self.n_iter += 1
            if count_run:
                self.run_epochs += 1
            if after_epoch is not None:
                after_epoch()  # e.g. the checkpoint: the epoch is durable before its row prints
            _flush_log(net)
            if monitor is None or patience is None:
                continue
            loss = net.history[-1, monitor]
            if loss < self._best_loss - tol:
                self._best_loss = loss
                self._no_improvement = 0
                if restore_best:
                    best_state = copy.deepcopy(net.module_.state_dict())
            else:
                self._no_improvement += 1
            if self._no_improvement >= patience:
                if best_state is not None:
                    net.module_.load_state_dict(best_state)
                if verbose:
                    print(f"Early stopping after epoch {self.n_iter}: {monitor} did not "
                          f"improve by {tol} for {patience} epochs.")
                self._no_improvement = 0
                break
        return False
