"""The exactly-once rule for grid candidates, and the epoch plan."""

import threading
import time
from types import SimpleNamespace

from optuna.trial import TrialState
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neural_network import MLPClassifier

from skmnist import SkMNISTClassifier
from skmnist.model_selection._trial import duplicate_of, epoch_plan


def fake(number, state, candidate=None, **user_attrs):
    params = {} if candidate is None else {"candidate": candidate}
    return SimpleNamespace(number=number, state=state, params=params, system_attrs={},
                           user_attrs=user_attrs)


def check(trials, number, candidate, **kwargs):
    return duplicate_of(lambda: trials, number, candidate, **kwargs)


def test_an_earlier_live_trial_with_the_same_candidate_wins():
    for state in (TrialState.RUNNING, TrialState.WAITING):
        assert check([fake(3, state, 1), fake(5, TrialState.RUNNING, 1)], 5, 1) == 3
    # ... and the earlier trial itself does not step back for a later one.
    assert check([fake(3, TrialState.RUNNING, 1), fake(5, TrialState.RUNNING, 1)], 3, 1) is None


def test_an_evaluated_candidate_is_never_trained_again():
    for trial in (fake(9, TrialState.COMPLETE, 1), fake(9, TrialState.PRUNED, 1),
                  fake(9, TrialState.FAIL, 1, error="ValueError: boom")):
        assert check([trial], 2, 1) == 9


def test_crashed_attempts_and_duplicates_hold_nothing():
    crashed = fake(1, TrialState.FAIL, 1)  # failed by the heartbeat, not by an error
    duplicate = fake(2, TrialState.PRUNED, 1, duplicate_of=0)
    other = fake(3, TrialState.RUNNING, 2)
    assert check([crashed, duplicate, other], 4, 1) is None


def test_waits_for_an_earlier_trial_that_has_not_picked_yet():
    trials = [fake(1, TrialState.RUNNING)]  # picked nothing yet

    def pick_later():
        time.sleep(0.2)
        trials[0] = fake(1, TrialState.RUNNING, 7)

    thread = threading.Thread(target=pick_later)
    thread.start()
    assert check(trials, 2, 7, wait_s=5) == 1
    thread.join()
    # An earlier trial that never picks (its worker died) is waited for only so long.
    start = time.monotonic()
    assert check([fake(1, TrialState.RUNNING)], 2, 7, wait_s=0.2) is None
    assert time.monotonic() - start >= 0.2


def test_epoch_plan():
    assert epoch_plan(SkMNISTClassifier(max_epochs=7)) == (7, True)
    # "auto" is resolved by the model the first epoch builds.
    assert epoch_plan(SkMNISTClassifier()) == ("auto", True)
    assert epoch_plan(SGDClassifier(max_iter=4)) == (4, True)
    assert epoch_plan(MLPClassifier(max_iter=3)) == (3, True)
    # partial_fit exists only for some solvers: tested on the configured estimator.
    assert epoch_plan(MLPClassifier(solver="lbfgs", max_iter=3)) == (None, False)
    assert epoch_plan(LogisticRegression()) == (None, False)


def test_auto_epochs_are_searched_epoch_by_epoch():
    import numpy as np

    from skmnist.model_selection import ArchitectureSearchCV

    rng = np.random.RandomState(0)
    X = rng.rand(60, 6).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    # Tabular input: the MLP, which "auto" trains for 10 epochs.
    search = ArchitectureSearchCV(
        SkMNISTClassifier(hidden_units=(4,), device="cpu", random_state=0),
        {"lr": [1e-2]}, cv=2, refit=False).fit(X, y)
    assert search.cv_results_["epochs_trained"].tolist() == [10]
