"""The worker loop: run trials on a (possibly shared) study until the search is done.

Any number of workers, in any number of processes and machines, may run this
loop on one study. Each iteration a worker

1. fails the running trials of crashed workers (stale heartbeat) and
   enqueues them again (:func:`._storage.fail_stale_trials`);
2. stops when the search is done: every grid point (or ``n_trials``
   trials) evaluated;
3. else runs one trial (``study.optimize(n_trials=1)``) when there is
   something left to start (an unclaimed grid point, a waiting trial, or
   fewer than ``n_trials`` trials started), or sleeps briefly while the
   last trials run elsewhere: they may still crash and need a retry.

``n_trials`` counts the study's evaluated trials (complete, pruned or failed
by an error; never duplicates or crashed attempts), so running the same
command again resumes a study instead of adding ``n_trials`` more.
"""

import dataclasses
import math
import sys
import time
from typing import Any

import optuna
from optuna.samplers import RandomSampler, TPESampler
from optuna.trial import TrialState

from ..models._registry import import_builders
from ._space import SearchSpace
from ._storage import fail_stale_trials, make_storage, quiet_optuna
from ._trial import (
    CVObjective,
    GridCandidateSampler,
    candidate_of,
    is_claimed,
    is_evaluated,
)

SPACE_ATTR = "skmnist:search_space"
_POLL_S = 0.5


@dataclasses.dataclass
class WorkerJob:
    """Everything a worker needs; picklable, so it can be sent to a process."""

    estimator: Any
    search_space: Any
    grid: bool
    X: Any
    y: Any
    splits: list
    scorer: Any
    classes: Any
    storage: Any
    study_name: str
    sampler: Any
    seed: Any
    pruner: Any
    n_trials: Any
    timeout: Any
    heartbeat_interval: float
    grace_period: float
    verbose: int = 0
    # User-registered architectures (skmnist.models.register_model), pickled
    # so that worker processes know the names the search space uses.
    builders: dict = dataclasses.field(default_factory=dict)


def build_sampler(job, space, worker_index=0):
    if job.grid:
        return GridCandidateSampler(space)
    seed = None if job.seed is None else int(job.seed) + worker_index
    if job.sampler == "tpe":
        return TPESampler(seed=seed)
    if job.sampler == "random":
        return RandomSampler(seed=seed)
    return job.sampler  # an optuna sampler instance


def open_study(job, space, storage, worker_index=0):
    """Create or load the study; check that it was made for this search space."""
    sampler = build_sampler(job, space, worker_index)
    study = optuna.create_study(storage=storage, study_name=job.study_name, sampler=sampler,
                                pruner=job.pruner, direction="maximize", load_if_exists=True)
    if len(study.directions) != 1 or study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ValueError(f"The study {study.study_name!r} does not maximise one objective; "
                         "use another study_name.")
    fingerprint = space.fingerprint()
    stored = study.user_attrs.get(SPACE_ATTR)
    if stored is None:
        study.set_user_attr(SPACE_ATTR, fingerprint)
    elif stored != fingerprint:
        raise ValueError(
            f"The study {study.study_name!r} was created for another search space or sampler "
            f"({stored[:200]}); use another study_name, or the same search_space."
        )
    if isinstance(sampler, GridCandidateSampler):
        sampler.bind(study)
    return study


def grid_total(job, space):
    if job.grid:
        n = space.n_candidates
        return n if job.n_trials is None else min(int(job.n_trials), n)
    return math.inf if job.n_trials is None else int(job.n_trials)


def search_status(trials, job, total):
    """``(n_evaluated, may_start)`` for the study's trials."""
    waiting = any(t.state == TrialState.WAITING for t in trials)
    if job.grid:
        evaluated = {candidate_of(t) for t in trials if is_evaluated(t)} - {None}
        claimed = {candidate_of(t) for t in trials if is_claimed(t)} - {None}
        n_evaluated, n_claimed = len(evaluated), len(claimed)
    else:
        n_evaluated = sum(1 for t in trials if is_evaluated(t))
        n_claimed = sum(1 for t in trials if is_claimed(t))
    return n_evaluated, (n_claimed < total or waiting)


class _Progress:
    """A tqdm bar over the study's evaluated trials, or a printed line per trial."""

    def __init__(self, verbose, total):
        self.verbose = verbose
        self.bar = None
        if verbose:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=None if math.isinf(total) else total, unit="trial",
                                desc="search", file=sys.stderr, dynamic_ncols=True)

    def update(self, n_evaluated, study):
        if self.bar is None:
            return
        self.bar.update(max(0, n_evaluated - self.bar.n))
        try:
            self.bar.set_postfix(best=f"{study.best_value:.4f}", refresh=False)
        except ValueError:  # no completed trial yet
            pass

    def trial_done(self, study, trial):
        if not self.verbose or self.bar is not None:
            return
        value = "" if trial.value is None else f" score={trial.value:.4f}"
        epochs = trial.user_attrs.get("epochs_trained")
        extra = "" if epochs is None else f" epochs={epochs}"
        print(f"trial {trial.number} {trial.state.name}{value}{extra} {trial.params}",
              flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run_worker(study, storage, objective, job, space):
    """Run trials on ``study`` until the search is done or ``job.timeout`` is reached."""
    total = grid_total(job, space)
    objective.study = study
    deadline = None if job.timeout is None else time.monotonic() + float(job.timeout)
    progress = _Progress(job.verbose, total)
    try:
        while True:
            fail_stale_trials(study, storage, grace_period=job.grace_period)
            n_evaluated, may_start = search_status(study.get_trials(deepcopy=False), job, total)
            progress.update(n_evaluated, study)
            if n_evaluated >= total:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            if may_start:
                study.optimize(objective, n_trials=1, catch=(Exception,),
                               callbacks=[progress.trial_done])
            else:
                time.sleep(_POLL_S)
    finally:
        progress.close()


def run_worker_process(job, worker_index):
    """Entry point of a worker process (``n_jobs > 1``): open the study, run the loop."""
    import_builders(job.builders)
    with quiet_optuna():
        space = SearchSpace(job.search_space, grid=job.grid)
        storage = make_storage(job.storage, heartbeat_interval=job.heartbeat_interval,
                               grace_period=job.grace_period)
        study = open_study(job, space, storage, worker_index)
        objective = CVObjective(job.estimator, space, job.X, job.y, job.splits, job.scorer,
                                job.classes, storage, job.heartbeat_interval, job.grace_period)
        run_worker(study, storage, objective, job, space)
    return worker_index
