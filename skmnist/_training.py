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
  optimizer, LR schedule and history of the last completed epoch, warns and
  returns;
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


def _snapshot(net):
    """Copies of what an epoch changes, to undo a half-finished epoch."""
    scheduler = lr_scheduler(net)
    return {
        "module": copy.deepcopy(net.module_.state_dict()),
        "optimizer": copy.deepcopy(net.optimizer_.state_dict()),
        "scheduler": None if scheduler is None else copy.deepcopy(scheduler.state_dict()),
        "history": len(net.history),
    }


def _restore(net, snapshot):
    net.module_.load_state_dict(snapshot["module"])
    net.optimizer_.load_state_dict(snapshot["optimizer"])
    scheduler = lr_scheduler(net)
    if scheduler is not None and snapshot["scheduler"] is not None:
        scheduler.load_state_dict(snapshot["scheduler"])
    del net.history[snapshot["history"]:]


def rest(net):
    """Put a net's modules in eval mode: a fitted model predicts without changing state."""
    for module in (getattr(net, "module_", None), getattr(net, "criterion_", None)):
        if isinstance(module, torch.nn.Module):
            module.train(False)


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
            Print why training stopped.
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
        for _ in range(n_epochs):
            if before_epoch is not None:
                before_epoch()
            seed = self.epoch_seed()
            torch.manual_seed(seed)
            net.iterator_train__seed = seed
            if hasattr(net.augment_fn, "reseed"):
                net.augment_fn.reseed(seed)
            snapshot = _snapshot(net)
            try:
                net.fit_loop(X, y, epochs=1)
            except KeyboardInterrupt:
                _restore(net, snapshot)
                message = (
                    f"Training interrupted (KeyboardInterrupt) during epoch {self.n_iter + 1}; "
                    f"the model keeps the weights of the last completed epoch "
                    f"({self.n_iter}).")
                warnings.warn(message, UserWarning, stacklevel=warn_stacklevel + 1)
                if verbose:
                    print(message)
                return True
            self.n_iter += 1
            if count_run:
                self.run_epochs += 1
            if after_epoch is not None:
                after_epoch()
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
