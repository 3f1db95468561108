"""ArchitectureSearchCV: an Optuna-driven search over architectures and their settings."""

import copy
import numbers
import os
import shutil
import tempfile
import time

import numpy as np
import optuna
from optuna.pruners import (
    BasePruner,
    HyperbandPruner,
    MedianPruner,
    NopPruner,
    SuccessiveHalvingPruner,
)
from optuna.samplers import BaseSampler
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import check_random_state, get_tags, indexable
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._doclinks import DocLinkMixin
from ..models._registry import export_builders
from ._results import best_index, build_cv_results
from ._space import SearchSpace
from ._storage import make_storage, quiet_optuna
from ._trial import CVObjective
from ._worker import WorkerJob, open_study, run_worker, run_worker_process

_SAMPLERS = ("grid", "tpe", "random")
_PRUNERS = ("none", "median", "halving", "hyperband")


def make_pruner(pruner):
    """The Optuna pruner for ``pruner`` (None, a name, or a pruner instance).

    * ``"median"``: ``MedianPruner(n_startup_trials=2, n_warmup_steps=2)``.
      After two complete trials, a trial whose cross-validated score at epoch
      ``e >= 2`` is below the median of the complete trials at epoch ``e``
      stops. Epoch 1 is never judged: a CNN scores below an MLP after one
      epoch and overtakes it from the second on (see ``docs/search.md``).
    * ``"halving"``: ``SuccessiveHalvingPruner(min_resource=1,
      reduction_factor=2)``: at epochs 1, 2, 4, ... only the better half of
      the trials that reached that epoch go on.
    * ``"hyperband"``: ``HyperbandPruner(min_resource=1)``.
    """
    if pruner is None or pruner == "none":
        return NopPruner()
    if isinstance(pruner, BasePruner):
        return pruner
    if pruner == "median":
        return MedianPruner(n_startup_trials=2, n_warmup_steps=2)
    if pruner == "halving":
        return SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    if pruner == "hyperband":
        return HyperbandPruner(min_resource=1)
    raise ValueError(
        f"pruner must be None, one of {', '.join(repr(p) for p in _PRUNERS)} or an "
        f"optuna.pruners.BasePruner; got {pruner!r}."
    )


def _estimator_has(attr):
    def check(self):
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, attr)
            return True
        if not self.refit and hasattr(self, "cv_results_"):
            raise AttributeError(f"{attr} is not available with refit=False.")
        getattr(self.estimator, attr)
        return True

    return check


class ArchitectureSearchCV(DocLinkMixin, MetaEstimatorMixin, BaseEstimator):
    """Search architectures and their settings with Optuna, cross-validated, pruned per epoch.

    Each trial takes a point of ``search_space``, clones ``estimator`` with it
    once per cross-validation fold, and trains the fold models one epoch at a
    time with ``partial_fit``; after every epoch the mean validation score is
    reported to Optuna, and ``pruner`` may stop an unpromising trial early.
    The splits are computed once and stay fixed for the whole search. The
    trials live in an Optuna study: in memory by default, or in a file or a
    database that any number of worker processes on any number of machines
    share (``storage``, ``study_name``).

    Parameters
    ----------
    estimator : estimator object
        A scikit-learn estimator (e.g. :class:`skmnist.SkMNISTClassifier`).
        With ``partial_fit`` and a ``max_epochs`` (or ``max_iter``)
        parameter, trials are trained and pruned epoch by epoch; otherwise each
        fold is trained with ``fit`` and nothing is pruned.
    search_space : dict or list of dict
        Parameter name to spec: a list of values (a grid axis or a
        categorical choice), :class:`Categorical`, :class:`Float` or
        :class:`Int` (ranges, e.g. ``Float(1e-4, 1e-2, log=True)``), or an
        ``optuna.distributions`` object. A list of dicts searches several
        sub-spaces, e.g. one per architecture, so that ``channels`` is only
        searched with ``arch="cnn"``. ``max_epochs`` may be searched too.
    sampler : {"grid", "tpe", "random"} or optuna.samplers.BaseSampler, default="grid"
        ``"grid"`` evaluates every point of the (finite) space exactly once,
        also with concurrent workers; ``"tpe"`` and ``"random"`` sample
        ``n_trials`` points.
    n_trials : int, default=None
        The number of evaluated trials the study should hold at the end (a
        resumed study counts its earlier trials). Required by ``"tpe"`` and
        ``"random"`` unless ``timeout`` is set; with ``"grid"``, None means the
        whole grid and a smaller number the first ``n_trials`` points.
    cv : int, cross-validation generator or iterable, default=5
        As in :class:`~sklearn.model_selection.GridSearchCV` (an int means
        ``StratifiedKFold`` for classifiers). The splits are materialised
        once per ``fit`` and shared by every trial and epoch.
    scoring : str or callable, default=None
        One score, greater is better (None: the estimator's ``score``).
    pruner : {"median", "halving", "hyperband", "none"}, optuna pruner or None, default=None
        Stops unpromising trials between epochs. ``"median"`` is
        ``MedianPruner(n_startup_trials=2, n_warmup_steps=2)`` (epoch 1 is
        never judged), ``"halving"`` is ``SuccessiveHalvingPruner(min_resource=1,
        reduction_factor=2)``, ``"hyperband"`` is ``HyperbandPruner(min_resource=1)``;
        any ``optuna.pruners.BasePruner`` may be passed. None never prunes.
    storage : str or optuna.storages.BaseStorage, default=None
        Where the study lives. None: in memory. A database URL
        (``"sqlite:///search.db"``, ``"postgresql+psycopg2://user@host/db"``):
        shared by workers on many machines, with heartbeats. A path without
        ``://``: an Optuna journal file shared by processes on one machine.
    study_name : str, default=None
        The study to create, or to resume when it exists in ``storage``.
        None creates a new study with a generated name.
    n_jobs : int, default=1
        Worker processes for this ``fit`` (-1: one per CPU core). With more
        than one and ``storage=None``, the workers share a temporary journal
        file, copied into memory at the end. Processes, not threads:
        skmnist's seeded training holds a process-wide lock.
    timeout : float, default=None
        Seconds after which a worker starts no new trial.
    refit : bool, default=True
        Refit the best parameters on all the data with ``fit``
        (``best_estimator_``); ``predict`` and friends need it.
    random_state : int, RandomState instance or None, default=None
        Seeds the ``"tpe"`` and ``"random"`` samplers (worker ``i`` uses
        ``seed + i``). The estimator's own ``random_state`` is not changed.
    heartbeat_interval : int, default=30
        Seconds between the heartbeats a worker records for its running trial
        in a persistent storage.
    grace_period : int, default=None
        Seconds without a heartbeat after which a running trial counts as
        crashed, is marked FAIL and enqueued again (None: twice
        ``heartbeat_interval``).
    verbose : int, default=0
        With 1 or more, a progress bar (tqdm; a line per trial without it)
        when ``n_jobs=1``.

    Attributes
    ----------
    cv_results_ : dict of ndarray
        One entry per evaluated trial, as in ``GridSearchCV``: ``params``,
        ``param_<name>`` (masked where a sub-space lacks the parameter),
        ``split<k>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score`` (complete trials first, then pruned, then failed),
        ``mean_fit_time``, ``std_fit_time``, ``mean_score_time``,
        ``std_score_time``, plus ``state`` (``"COMPLETE"``, ``"PRUNED"`` or
        ``"FAIL"``), ``epochs_trained`` (epochs per fold model),
        ``trial_number`` and ``error``. Scores of pruned trials are those of
        the epoch they stopped at.
    best_index_ : int
        Index in ``cv_results_`` of the best complete trial.
    best_params_ : dict
        Its parameters.
    best_score_ : float
        Its mean cross-validated score.
    best_estimator_ : estimator
        The estimator refitted on all the data with ``best_params_``
        (``refit=True`` only).
    refit_time_ : float
        Seconds spent refitting (``refit=True`` only).
    scorer_ : callable
        The scorer used.
    n_splits_ : int
        The number of cross-validation splits.
    study_ : optuna.study.Study
        The study, with every trial (duplicates and crashed attempts too).
    classes_ : ndarray of shape (n_classes,)
        The classes of ``best_estimator_`` (classifiers, ``refit=True``).
    n_features_in_ : int
        Number of features seen by ``best_estimator_``.

    See Also
    --------
    sklearn.model_selection.GridSearchCV : Exhaustive search without pruning.
    skmnist.SkMNISTClassifier : The estimator this search was made for.

    Notes
    -----
    **Exactly once.** With ``sampler="grid"`` every grid point of every
    sub-space is a numbered candidate. A trial takes the first candidate that
    no other trial holds, counting from ``trial.number`` (so workers starting
    together pick different ones), records it, then re-reads the study: if
    another trial already evaluated the candidate, or an earlier-numbered
    trial is running or waiting with it, the trial marks itself
    ``duplicate_of`` and is pruned without training. Trial numbers follow
    creation order, so of two workers that race for one point exactly one
    trains. Duplicates never appear in ``cv_results_``.

    **Crashed workers.** In a persistent storage a worker records a heartbeat
    for its running trial; when it stops (``kill -9``, a lost machine), the
    next worker to look marks the trial FAIL after ``grace_period`` and
    enqueues it again with the same parameters. Completed trials are never
    touched, and a worker keeps waiting while trials run elsewhere, so the
    last live worker finishes the search.

    **Pruning** needs the estimator's ``partial_fit`` to train exactly one
    epoch (as skmnist's, scikit-learn's and skorch's do). The first call of
    each fold passes ``classes=np.unique(y)``. Trial-bound objects are never
    put into the estimator (nothing breaks ``clone``): the search drives the
    epochs from outside.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skmnist import SkMNISTClassifier
    >>> from skmnist.model_selection import ArchitectureSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> space = [{"arch": ["mlp"], "hidden_units": [(16,), (32,)]},
    ...          {"arch": ["cnn"], "channels": [(4,)]}]
    >>> search = ArchitectureSearchCV(
    ...     SkMNISTClassifier(max_epochs=2, random_state=0, device="cpu"), space, cv=2)
    >>> search.fit(X[:300], y[:300]).cv_results_["state"].tolist()
    ['COMPLETE', 'COMPLETE', 'COMPLETE']
    >>> search.best_params_["arch"] in ("mlp", "cnn")
    True
    >>> search.predict(X[300:303]).shape
    (3,)
    """

    def __init__(
        self,
        estimator,
        search_space,
        *,
        sampler="grid",
        n_trials=None,
        cv=5,
        scoring=None,
        pruner=None,
        storage=None,
        study_name=None,
        n_jobs=1,
        timeout=None,
        refit=True,
        random_state=None,
        heartbeat_interval=30,
        grace_period=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.search_space = search_space
        self.sampler = sampler
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.pruner = pruner
        self.storage = storage
        self.study_name = study_name
        self.n_jobs = n_jobs
        self.timeout = timeout
        self.refit = refit
        self.random_state = random_state
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period
        self.verbose = verbose

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        sub = get_tags(self.estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = copy.deepcopy(sub.classifier_tags)
        tags.regressor_tags = copy.deepcopy(sub.regressor_tags)
        tags.input_tags = copy.deepcopy(sub.input_tags)
        tags.target_tags = copy.deepcopy(sub.target_tags)
        tags.non_deterministic = True  # the order of concurrent trials
        return tags

    # ------------------------------------------------------------ parameters
    def _grid(self):
        if isinstance(self.sampler, BaseSampler):
            return False
        if self.sampler not in _SAMPLERS:
            raise ValueError(
                f"sampler must be one of {', '.join(repr(s) for s in _SAMPLERS)} or an "
                f"optuna.samplers.BaseSampler; got {self.sampler!r}."
            )
        return self.sampler == "grid"

    def _check_params(self):
        grid = self._grid()
        if not hasattr(self.estimator, "fit"):
            raise ValueError(f"estimator must be a scikit-learn estimator, got "
                             f"{self.estimator!r}.")
        if self.n_trials is not None and (not isinstance(self.n_trials, numbers.Integral) or
                                          isinstance(self.n_trials, bool) or self.n_trials < 1):
            raise ValueError(f"n_trials must be None or an int >= 1, got {self.n_trials!r}.")
        if not grid and self.n_trials is None and self.timeout is None:
            raise ValueError(
                f"n_trials is required with sampler={self.sampler!r} (or set a timeout); only "
                "sampler='grid' knows how many points there are."
            )
        if self.timeout is not None and (not isinstance(self.timeout, numbers.Real) or
                                         isinstance(self.timeout, bool) or self.timeout <= 0):
            raise ValueError(f"timeout must be None or a number > 0, got {self.timeout!r}.")
        if not isinstance(self.refit, (bool, np.bool_)):
            raise ValueError(f"refit must be True or False, got {self.refit!r}.")
        n_jobs = 1 if self.n_jobs is None else self.n_jobs
        if not isinstance(n_jobs, numbers.Integral) or isinstance(n_jobs, bool) or n_jobs == 0 \
                or n_jobs < -1:
            raise ValueError(f"n_jobs must be an int >= 1 or -1, got {self.n_jobs!r}.")
        n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
        if self.study_name is not None and not isinstance(self.study_name, str):
            raise ValueError(f"study_name must be None or a str, got {self.study_name!r}.")
        if self.storage is not None and not isinstance(
                self.storage, (str, os.PathLike, optuna.storages.BaseStorage)):
            raise ValueError(f"storage must be None, a URL, a path or an optuna storage; got "
                             f"{self.storage!r}.")
        if n_jobs > 1 and isinstance(self.storage, optuna.storages.BaseStorage):
            raise ValueError(
                "n_jobs > 1 needs storage=None, a database URL or a journal file path (worker "
                "processes open the storage themselves), not an optuna storage object."
            )
        for name in ("heartbeat_interval", "grace_period"):
            value = getattr(self, name)
            if value is None and name == "grace_period":
                continue
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1 (seconds), got {value!r}.")
        if not isinstance(self.verbose, numbers.Integral) or self.verbose < 0:
            raise ValueError(f"verbose must be an int >= 0, got {self.verbose!r}.")
        if isinstance(self.scoring, (dict, list, tuple, set)):
            raise ValueError("scoring must be one metric (a str or a callable); "
                             "multi-metric search is not supported.")
        space = SearchSpace(self.search_space, grid=grid)
        known = self.estimator.get_params(deep=True)
        unknown = [n for n in space.param_names if n not in known]
        if unknown:
            raise ValueError(
                f"search_space names {', '.join(repr(n) for n in unknown)}, which "
                f"{type(self.estimator).__name__} does not take. Its parameters: "
                f"{', '.join(sorted(known))}."
            )
        return space, n_jobs, make_pruner(self.pruner)

    def _seed(self):
        if self.random_state is None:
            return None
        return int(check_random_state(self.random_state).randint(2**31 - 1 - 1024))

    # --------------------------------------------------------------- fitting
    def fit(self, X, y):
        """Run the search (this process's workers), then refit the best parameters.

        Parameters
        ----------
        X : array-like or indexable of shape (n_samples, ...)
            Training data, indexed along the first axis (flat or image arrays,
            DataFrames, lists).
        y : array-like of shape (n_samples,)
            Targets.

        Returns
        -------
        self : ArchitectureSearchCV
            The fitted search.
        """
        space, n_jobs, pruner = self._check_params()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but y is None.")
        X, y = indexable(X, y)
        classifier = is_classifier(self.estimator)
        cv = check_cv(self.cv, y, classifier=classifier)
        splits = [(np.asarray(train), np.asarray(test)) for train, test in cv.split(X, y)]
        self.n_splits_ = len(splits)
        self.scorer_ = check_scoring(self.estimator, scoring=self.scoring)
        self.multimetric_ = False
        classes = np.unique(np.asarray(y)) if classifier else None
        grace = self.grace_period if self.grace_period is not None else 2 * self.heartbeat_interval

        temp_dir = None
        storage_spec = self.storage
        if isinstance(storage_spec, os.PathLike):
            storage_spec = os.fspath(storage_spec)
        if n_jobs > 1 and storage_spec is None:
            temp_dir = tempfile.mkdtemp(prefix="skmnist-search-")
            storage_spec = os.path.join(temp_dir, "study.journal")
        job = WorkerJob(
            estimator=clone(self.estimator), search_space=self.search_space,
            grid=space.grid, X=X, y=y, splits=splits, scorer=self.scorer_, classes=classes,
            storage=storage_spec, study_name=self.study_name,
            sampler=self.sampler, seed=self._seed(), pruner=pruner, n_trials=self.n_trials,
            timeout=self.timeout, heartbeat_interval=self.heartbeat_interval,
            grace_period=grace, verbose=self.verbose if n_jobs == 1 else 0,
            builders=export_builders() if n_jobs > 1 else {},
        )
        try:
            with quiet_optuna():
                storage = make_storage(storage_spec, heartbeat_interval=self.heartbeat_interval,
                                       grace_period=grace)
                study = open_study(job, space, storage)
                job.study_name = study.study_name
                if n_jobs == 1:
                    objective = CVObjective(job.estimator, space, X, y, splits, self.scorer_,
                                            classes, storage, self.heartbeat_interval, grace)
                    run_worker(study, storage, objective, job, space)
                else:
                    from joblib import Parallel, delayed

                    Parallel(n_jobs=n_jobs, backend="loky")(
                        delayed(run_worker_process)(job, i) for i in range(n_jobs))
                if temp_dir is not None:
                    memory = optuna.storages.InMemoryStorage()
                    optuna.copy_study(from_study_name=study.study_name, from_storage=storage,
                                      to_storage=memory)
                    study = optuna.load_study(study_name=study.study_name, storage=memory,
                                              sampler=study.sampler, pruner=study.pruner)
        finally:
            if temp_dir is not None:
                shutil.rmtree(temp_dir, ignore_errors=True)
        self.study_ = study
        self.cv_results_ = build_cv_results(study, space, self.n_splits_)
        best = best_index(self.cv_results_)
        if best is None:
            errors = [e for e in self.cv_results_["error"] if e]
            detail = f" The first error: {errors[0]}" if errors else ""
            raise ValueError(
                f"No trial of study {study.study_name!r} completed "
                f"({len(self.cv_results_['params'])} evaluated).{detail}"
            )
        self.best_index_ = best
        self.best_params_ = dict(self.cv_results_["params"][best])
        self.best_score_ = float(self.cv_results_["mean_test_score"][best])
        if self.refit:
            start = time.perf_counter()
            self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_)
            self.best_estimator_.fit(X, y)
            self.refit_time_ = time.perf_counter() - start
        return self

    # ------------------------------------------------------------ predicting
    def _check_refitted(self, method):
        check_is_fitted(self)
        if not self.refit:
            raise AttributeError(
                f"{type(self).__name__} was fitted with refit=False; {method} needs "
                "refit=True (or refit best_params_ yourself)."
            )

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict with the refitted best estimator.

        Parameters
        ----------
        X : array-like
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        self._check_refitted("predict")
        return self.best_estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the refitted best estimator.

        Parameters
        ----------
        X : array-like
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        self._check_refitted("predict_proba")
        return self.best_estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from the refitted best estimator.

        Parameters
        ----------
        X : array-like
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        self._check_refitted("predict_log_proba")
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the refitted best estimator.

        Parameters
        ----------
        X : array-like
            Input data.

        Returns
        -------
        scores : ndarray
        """
        self._check_refitted("decision_function")
        return self.best_estimator_.decision_function(X)

    def score(self, X, y):
        """Score of the refitted best estimator on X, y, with ``scorer_``.

        Parameters
        ----------
        X : array-like
            Input data.
        y : array-like of shape (n_samples,)
            True targets.

        Returns
        -------
        score : float
        """
        self._check_refitted("score")
        return self.scorer_(self.best_estimator_, X, y)

    @property
    def classes_(self):
        """The class labels of ``best_estimator_``."""
        self._check_refitted("classes_")
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self):
        """Number of features seen by ``best_estimator_``."""
        try:
            self._check_refitted("n_features_in_")
        except Exception as exc:
            raise AttributeError(str(exc)) from exc
        return self.best_estimator_.n_features_in_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "cv_results_")

