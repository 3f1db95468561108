"""``cv_results_`` of a study, in the layout of :class:`~sklearn.model_selection.GridSearchCV`."""

import warnings

import numpy as np
from optuna.trial import TrialState

from ._trial import (
    EPOCHS_ATTR,
    ERROR_ATTR,
    FIT_TIMES_ATTR,
    SCORE_TIMES_ATTR,
    SPLIT_SCORES_ATTR,
    is_evaluated,
)

# Ranking order of the states: complete trials first, then pruned, then failed.
_STATE_ORDER = {"COMPLETE": 0, "PRUNED": 1, "FAIL": 2}


def evaluated_trials(study, space):
    """The study's evaluated trials (no duplicates, no crashed attempts) and their params."""
    out = []
    for trial in study.get_trials(deepcopy=False):
        if not is_evaluated(trial):
            continue
        params = space.decode(trial.params)
        if params is None:
            continue
        out.append((trial, params))
    return out


def _masked(values):
    """A masked object array (numeric when possible), masked where a value is absent."""
    n = len(values)
    data = np.empty(n, dtype=object)
    mask = np.ones(n, dtype=bool)
    for i, (present, value) in enumerate(values):
        if present:
            data[i] = value
            mask[i] = False
    present_values = [v for p, v in values if p]
    if present_values and all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                              for v in present_values):
        numeric = np.zeros(n)
        numeric[~mask] = np.asarray(present_values, dtype=float)
        if all(isinstance(v, (int, np.integer)) for v in present_values):
            numeric = numeric.astype(int)
        return np.ma.MaskedArray(numeric, mask=mask)
    return np.ma.MaskedArray(data, mask=mask)


def build_cv_results(study, space, n_splits):
    """The ``cv_results_`` dict of the evaluated trials of ``study``, in trial order."""
    rows = evaluated_trials(study, space)
    n = len(rows)
    split_scores = np.full((n, n_splits), np.nan)
    fit_times = np.full((n, n_splits), np.nan)
    score_times = np.full((n, n_splits), np.nan)
    states, epochs, numbers, errors = [], [], [], []
    for i, (trial, _) in enumerate(rows):
        attrs = trial.user_attrs
        for target, key in ((split_scores, SPLIT_SCORES_ATTR), (fit_times, FIT_TIMES_ATTR),
                            (score_times, SCORE_TIMES_ATTR)):
            values = attrs.get(key)
            if values is not None and len(values) == n_splits:
                target[i] = values
        states.append(trial.state.name)
        epochs.append(int(attrs.get(EPOCHS_ATTR, 0)))
        numbers.append(trial.number)
        errors.append(attrs.get(ERROR_ATTR, ""))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: failed trials
        results = {
            "mean_fit_time": np.nanmean(fit_times, axis=1),
            "std_fit_time": np.nanstd(fit_times, axis=1),
            "mean_score_time": np.nanmean(score_times, axis=1),
            "std_score_time": np.nanstd(score_times, axis=1),
        }
        mean = np.nanmean(split_scores, axis=1)
        std = np.nanstd(split_scores, axis=1)
    names = space.param_names
    for name in names:
        results[f"param_{name}"] = _masked(
            [(name in params, params.get(name)) for _, params in rows])
    results["params"] = [params for _, params in rows]
    for k in range(n_splits):
        results[f"split{k}_test_score"] = split_scores[:, k]
    results["mean_test_score"] = mean
    results["std_test_score"] = std
    results["rank_test_score"] = _rank(states, mean)
    results["state"] = np.asarray(states, dtype=object)
    results["epochs_trained"] = np.asarray(epochs, dtype=int)
    results["trial_number"] = np.asarray(numbers, dtype=int)
    results["error"] = np.asarray(errors, dtype=object)
    return results


def _rank(states, mean):
    """Rank 1 is best: complete trials by score, then pruned ones, then failed ones."""
    keys = [(_STATE_ORDER.get(state, 3), -m if np.isfinite(m) else np.inf)
            for state, m in zip(states, mean)]
    ranks = np.zeros(len(keys), dtype=np.int32)
    previous, rank = None, 0
    for position, i in enumerate(sorted(range(len(keys)), key=keys.__getitem__)):
        if keys[i] != previous:
            rank, previous = position + 1, keys[i]
        ranks[i] = rank
    return ranks


def best_index(cv_results):
    """Index of the best complete trial (ties: the earliest), or None."""
    complete = np.flatnonzero((cv_results["state"] == TrialState.COMPLETE.name)
                              & np.isfinite(cv_results["mean_test_score"]))
    if complete.size == 0:
        return None
    scores = cv_results["mean_test_score"][complete]
    return int(complete[np.argmax(scores)])
