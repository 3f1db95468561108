"""One trial: pick a point, cross-validate it epoch by epoch, report, prune.

The cross-validation splits are materialised once per search (index arrays
computed by the caller) and every fold keeps its own model for the whole
trial: epoch ``e`` trains each fold model one more epoch with ``partial_fit``
on that fold's training rows and scores it on the same fold's validation
rows. Nothing is re-split between epochs, so no validation row is ever
trained on.

Grid candidates are handed out so that every grid point is evaluated once,
also with many workers on one storage (see :class:`GridCandidateSampler` and
:func:`duplicate_of`).
"""

import os
import socket
import time

import numpy as np
import optuna
from optuna.samplers import BaseSampler
from optuna.trial import TrialState
from sklearn.base import clone
from sklearn.utils import _safe_indexing

from ._space import CANDIDATE_PARAM
from ._storage import TrialHeartbeat, fail_stale_trials, needs_own_heartbeat, trial_id_of

# User attributes written on every trial.
DUPLICATE_ATTR = "duplicate_of"
ERROR_ATTR = "error"
EPOCHS_ATTR = "epochs_trained"
SPLIT_SCORES_ATTR = "split_test_scores"
FIT_TIMES_ATTR = "split_fit_times"
SCORE_TIMES_ATTR = "split_score_times"
WORKER_ATTR = "worker"
# How long a trial waits for an earlier-numbered trial to record its grid
# candidate before deciding whether it is a duplicate.
_PICK_WAIT_S = 10.0


# ---------------------------------------------------------------- claiming
def _is_failed_for_good(trial):
    """A trial whose estimator raised: its point is evaluated (as a failure)."""
    return trial.state == TrialState.FAIL and ERROR_ATTR in trial.user_attrs


def is_duplicate(trial):
    return trial.user_attrs.get(DUPLICATE_ATTR) is not None


def is_evaluated(trial):
    """Finished with a result (complete, pruned, or failed by an error), not a duplicate."""
    if is_duplicate(trial):
        return False
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or _is_failed_for_good(trial)


def is_claimed(trial):
    """Evaluated, or running, or waiting to run (a FAIL from a crash is not a claim)."""
    if is_duplicate(trial):
        return False
    return is_evaluated(trial) or trial.state in (TrialState.RUNNING, TrialState.WAITING)


def candidate_of(trial):
    """The grid candidate a trial holds or will hold (None when not known yet)."""
    value = trial.params.get(CANDIDATE_PARAM)
    if value is None:
        value = trial.system_attrs.get("fixed_params", {}).get(CANDIDATE_PARAM)
    return value


class GridCandidateSampler(BaseSampler):
    """Hand out the grid candidates of a :class:`~._space.SearchSpace`.

    ``candidate`` is the first unclaimed candidate counting cyclically from
    ``trial.number % n_candidates`` (trials started at the same time by
    different workers have different numbers, so they start from different
    candidates); the other parameters are the chosen candidate's values.
    A trial is re-checked by :func:`duplicate_of` before it trains.

    Parameters
    ----------
    space : SearchSpace
        A grid space.
    """

    def __init__(self, space):
        self.space = space
        self._study = None

    def bind(self, study):
        """Read claims from ``study`` itself (pruners such as Hyperband hand the
        sampler a filtered view of the study, which would hide claims)."""
        self._study = study

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_study"] = None
        return state

    def infer_relative_search_space(self, study, trial):
        return {}

    def sample_relative(self, study, trial, search_space):
        return {}

    def sample_independent(self, study, trial, param_name, param_distribution):
        n = self.space.n_candidates
        if param_name == CANDIDATE_PARAM:
            trials = (self._study or study).get_trials(deepcopy=False)
            claimed = {candidate_of(t) for t in trials
                       if t.number != trial.number and is_claimed(t)}
            start = trial.number % n
            for offset in range(n):
                candidate = (start + offset) % n
                if candidate not in claimed:
                    return candidate
            return start  # nothing left: duplicate_of() will stop this trial
        candidate = trial.params[CANDIDATE_PARAM]
        return self.space.grid_label(candidate, param_name)


def duplicate_of(all_trials, number, candidate, *, wait_s=_PICK_WAIT_S, poll_s=0.05,
                 while_waiting=None):
    """The number of a trial that owns ``candidate`` before trial ``number``, or None.

    A grid trial trains only when no other trial has evaluated its candidate
    and no earlier-numbered live (running or waiting) trial holds it. Since
    trial numbers are assigned in creation order, of two live trials holding
    the same candidate the later one always sees the earlier one (an
    earlier running trial that has not recorded its candidate yet is waited
    for, up to ``wait_s`` seconds, calling ``while_waiting()`` now and then
    so that a crashed one is failed), so exactly one of them trains.
    """
    deadline = time.monotonic() + wait_s
    while True:
        pending = False
        for t in all_trials():
            if t.number == number or is_duplicate(t):
                continue
            held = candidate_of(t)
            if held is None:
                if t.state == TrialState.RUNNING and t.number < number:
                    pending = True
                continue
            if held != candidate:
                continue
            if is_evaluated(t):
                return t.number
            if t.state in (TrialState.RUNNING, TrialState.WAITING) and t.number < number:
                return t.number
        if not pending or time.monotonic() > deadline:
            return None
        if while_waiting is not None:
            while_waiting()
        time.sleep(poll_s)


# ------------------------------------------------------------------- epochs
def epoch_plan(estimator):
    """``(n_epochs, incremental)``: per-epoch training when ``partial_fit`` exists.

    The number of epochs is the estimator's ``max_epochs`` (skorch/skmnist
    naming) or else ``max_iter`` (scikit-learn's ``SGDClassifier``,
    ``MLPClassifier``, ...). Without ``partial_fit`` or without either
    parameter the folds are trained with ``fit`` and nothing is pruned.
    skmnist's ``max_epochs="auto"`` gives ``("auto", True)``: the count is
    known once the first epoch has built the model.
    """
    if not hasattr(estimator, "partial_fit"):
        return None, False
    params = estimator.get_params(deep=False)
    if isinstance(params.get("max_epochs"), str) and params["max_epochs"] == "auto" \
            and hasattr(estimator, "_resolved"):
        return "auto", True
    for key in ("max_epochs", "max_iter"):
        value = params.get(key)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1:
            return int(value), True
    return None, False


def _n_iter(model):
    n_iter = getattr(model, "n_iter_", None)
    try:
        return int(np.max(n_iter))
    except (TypeError, ValueError):
        return 0


class CVObjective:
    """The Optuna objective of an :class:`ArchitectureSearchCV` worker.

    Parameters
    ----------
    estimator : estimator
        The unfitted base estimator.
    space : SearchSpace
    X, y : indexable
        All the data.
    splits : list of (ndarray, ndarray)
        The (train, validation) indices, fixed for the whole search.
    scorer : callable
        ``scorer(estimator, X, y) -> float``, greater is better.
    classes : ndarray or None
        Passed to the first ``partial_fit`` of each fold (classifiers).
    storage : optuna.storages.BaseStorage
        For the heartbeat of storages without Optuna's own.
    heartbeat_interval : float
    grace_period : float
        Seconds without a heartbeat after which a running trial is stale.
    """

    def __init__(self, estimator, space, X, y, splits, scorer, classes, storage,
                 heartbeat_interval, grace_period):
        self.estimator = estimator
        self.space = space
        self.X = X
        self.y = y
        self.splits = splits
        self.scorer = scorer
        self.classes = classes
        self.storage = storage
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period
        self.study = None  # set by the worker
        self._last_stale_check = 0.0

    def _fail_stale(self):
        """While waiting on another trial: fail it if its worker died (once a second)."""
        if time.monotonic() - self._last_stale_check >= 1.0:
            self._last_stale_check = time.monotonic()
            fail_stale_trials(self.study, self.storage, grace_period=self.grace_period)

    def _all_trials(self):
        return self.study.get_trials(deepcopy=False)

    def __call__(self, trial):
        if needs_own_heartbeat(self.storage):
            trial_id = trial_id_of(self.storage, self.study, trial.number)
            with TrialHeartbeat(self.storage, trial_id, trial.number, self.heartbeat_interval):
                return self._run(trial)
        return self._run(trial)

    def _run(self, trial):
        trial.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{os.getpid()}")
        if self.space.grid:
            candidate = trial.suggest_categorical(
                CANDIDATE_PARAM, list(range(self.space.n_candidates)))
            for name in self.space.candidates[candidate]:
                # Recorded for dashboards and importance plots; the sampler
                # answers with this candidate's value.
                trial.suggest_categorical(name, self.space.grid_distribution(name).choices)
            params = dict(self.space.candidates[candidate])
            owner = duplicate_of(self._all_trials, trial.number, candidate,
                                 while_waiting=self._fail_stale)
            if owner is not None:
                trial.set_user_attr(DUPLICATE_ATTR, owner)
                raise optuna.TrialPruned(f"grid point {candidate} belongs to trial {owner}")
        else:
            params = self.space.suggest(trial)
        try:
            return self._cross_validate(trial, params)
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            trial.set_user_attr(ERROR_ATTR, f"{type(exc).__name__}: {exc}")
            raise

    def _cross_validate(self, trial, params):
        folds = []
        for train, valid in self.splits:
            folds.append((
                _safe_indexing(self.X, train), _safe_indexing(self.y, train),
                _safe_indexing(self.X, valid), _safe_indexing(self.y, valid),
            ))
        models = [clone(self.estimator).set_params(**params) for _ in folds]
        n_epochs, incremental = epoch_plan(models[0])
        fit_times = np.zeros(len(folds))
        score_times = np.zeros(len(folds))
        scores = np.full(len(folds), np.nan)

        def record(epochs):
            trial.set_user_attr(EPOCHS_ATTR, int(epochs))
            trial.set_user_attr(SPLIT_SCORES_ATTR, [float(s) for s in scores])
            trial.set_user_attr(FIT_TIMES_ATTR, [float(t) for t in fit_times])
            trial.set_user_attr(SCORE_TIMES_ATTR, [float(t) for t in score_times])

        if not incremental:
            for k, (X_train, y_train, X_valid, y_valid) in enumerate(folds):
                start = time.perf_counter()
                models[k].fit(X_train, y_train)
                fit_times[k] += time.perf_counter() - start
                start = time.perf_counter()
                scores[k] = self.scorer(models[k], X_valid, y_valid)
                score_times[k] += time.perf_counter() - start
            record(max(_n_iter(m) for m in models))
            return float(np.mean(scores))

        epoch = 0
        while n_epochs == "auto" or epoch < n_epochs:
            epoch += 1
            for k, (X_train, y_train, X_valid, y_valid) in enumerate(folds):
                start = time.perf_counter()
                if epoch == 1 and self.classes is not None:
                    models[k].partial_fit(X_train, y_train, classes=self.classes)
                else:
                    models[k].partial_fit(X_train, y_train)
                fit_times[k] += time.perf_counter() - start
                start = time.perf_counter()
                scores[k] = self.scorer(models[k], X_valid, y_valid)
                score_times[k] += time.perf_counter() - start
            if n_epochs == "auto":  # resolved by the built model (30 for a CNN on images)
                n_epochs = int(models[0]._resolved("max_epochs"))
            mean = float(np.mean(scores))
            trial.report(mean, epoch)
            if epoch < n_epochs and trial.should_prune():
                record(epoch)
                raise optuna.TrialPruned(f"pruned after epoch {epoch} (cv score {mean:.4f})")
        record(n_epochs)
        return mean
