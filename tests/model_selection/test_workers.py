"""Many workers on one study: journal files and PostgreSQL, duplicates, crashed workers.

The PostgreSQL tests need a server: ``.ci/run`` starts one with
``.ci/postgres.sh`` and exports ``SKMNIST_TEST_POSTGRES_URL``; without it (or
when the server does not answer) they are skipped.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from skmnist.model_selection import ArchitectureSearchCV
from skmnist.model_selection._storage import make_storage
from skmnist.model_selection._trial import candidate_of, is_evaluated

from ._estimators import ToyClassifier, grid, toy_data

HERE = Path(__file__).parent
WORKER = HERE / "_worker.py"
POSTGRES_URL = os.environ.get("SKMNIST_TEST_POSTGRES_URL")


def _postgres_reason():
    if not POSTGRES_URL:
        return "SKMNIST_TEST_POSTGRES_URL is not set (run .ci/postgres.sh)"
    try:
        import sqlalchemy

        engine = sqlalchemy.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # no driver, no server, refused login: skip, don't fail
        return f"PostgreSQL at SKMNIST_TEST_POSTGRES_URL is not reachable: {exc}"
    return None


@pytest.fixture(scope="module")
def postgres_url():
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    return POSTGRES_URL


@pytest.fixture(params=["journal", "postgres"])
def shared_storage(request, tmp_path):
    if request.param == "journal":
        return str(tmp_path / "study.journal")
    return request.getfixturevalue("postgres_url")


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def _start_worker(storage, study_name, *args):
    return subprocess.Popen(
        [sys.executable, str(WORKER), storage, study_name, *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())


def _finish(proc, timeout):
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"worker {proc.pid} did not finish in {timeout} s:\n{out[-3000:]}")
    assert proc.returncode == 0, out[-3000:]
    return out


def _load(storage, study_name):
    store = make_storage(storage, heartbeat_interval=1, grace_period=2)
    return optuna.load_study(study_name=study_name, storage=store)


def _evaluated_candidates(study):
    return Counter(candidate_of(t) for t in study.get_trials(deepcopy=False) if is_evaluated(t))


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


# ------------------------------------------------------------------ journal
def test_n_jobs_two_worker_processes_share_a_temporary_journal():
    X, y = toy_data()
    grid = [{"arch": ["a"], "width": [1, 2, 3]}, {"arch": ["b"], "width": [1, 2, 3, 4]}]
    search = ArchitectureSearchCV(ToyClassifier(sleep=0.02), grid, cv=2, n_jobs=2).fit(X, y)
    res = search.cv_results_
    assert len(res["params"]) == 7
    assert len({repr(p) for p in res["params"]}) == 7
    assert set(res["state"]) == {"COMPLETE"}
    assert search.best_params_ == {"arch": "b", "width": 4}
    # The study was copied into memory; the temporary journal is gone.
    assert isinstance(search.study_._storage, optuna.storages.InMemoryStorage)
    workers = {t.user_attrs["worker"] for t in search.study_.trials}
    assert 1 <= len(workers) <= 2 and str(os.getpid()) not in " ".join(workers)


def test_a_racing_duplicate_is_pruned_without_training(tmp_path):
    """Two trials holding one grid point: the later-numbered one steps back."""
    X, y = toy_data()
    storage, name = str(tmp_path / "study.journal"), "race"
    grid = {"width": [1, 2]}
    ArchitectureSearchCV(ToyClassifier(), grid, cv=2, storage=storage, study_name=name,
                         n_trials=1).fit(X, y)
    study = _load(storage, name)
    # A trial that (as after a race between workers) holds point 0 again, waiting
    # to run: point 0 is already evaluated, so it must step back untrained.
    study.enqueue_trial({"candidate": 0})
    search = ArchitectureSearchCV(ToyClassifier(), grid, cv=2, storage=storage,
                                  study_name=name).fit(X, y)
    trials = search.study_.trials
    duplicates = [t for t in trials if t.user_attrs.get("duplicate_of") is not None]
    assert len(duplicates) == 1
    assert duplicates[0].state == TrialState.PRUNED
    assert duplicates[0].user_attrs["duplicate_of"] == 0
    assert "epochs_trained" not in duplicates[0].user_attrs  # nothing was trained
    assert len(search.cv_results_["params"]) == 2
    assert _evaluated_candidates(search.study_) == Counter([0, 1])


# ---------------------------------------------------------- crashed workers
def test_a_killed_workers_trial_is_retried_and_completed_trials_are_kept(shared_storage):
    """kill -9 a worker mid-trial; a second worker fails the stale trial and redoes it."""
    name = f"kill-{uuid.uuid4().hex[:8]}"
    # One trial: 2 folds x 3 epochs x 0.2 s = ~1.2 s.
    args = ("--points", 4, "--sleep", 0.2, "--epochs", 3, "--heartbeat", 1, "--grace", 2)
    first = _start_worker(shared_storage, name, *args)
    store = make_storage(shared_storage, heartbeat_interval=1, grace_period=2)
    try:
        def one_done_one_running():
            try:
                study = optuna.load_study(study_name=name, storage=store)
            except KeyError:  # the study does not exist yet
                return None
            trials = study.get_trials(deepcopy=False)
            done = [t for t in trials if t.state == TrialState.COMPLETE]
            # A trial that started just now has a second of training ahead of it.
            running = [t for t in trials if t.state == TrialState.RUNNING and
                       (datetime.now() - t.datetime_start).total_seconds() < 0.6]
            return (done, running) if done and running else None

        _wait_for(one_done_one_running, 90, "a complete and a just started trial")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    assert first.returncode == -signal.SIGKILL
    before = _load(shared_storage, name).get_trials()
    completed_before = {t.number: (t.value, t.params, t.datetime_complete)
                        for t in before if t.state == TrialState.COMPLETE}
    killed = [t.number for t in before if t.state == TrialState.RUNNING]
    assert completed_before and len(killed) == 1

    # The second worker runs in this process (no second interpreter start-up).
    X, y = toy_data()
    search = ArchitectureSearchCV(
        ToyClassifier(sleep=0.2, max_epochs=3), grid(4), cv=2, storage=shared_storage,
        study_name=name, refit=False, heartbeat_interval=1, grace_period=2, timeout=120)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4

    study = _load(shared_storage, name)
    trials = study.get_trials()
    # Every grid point complete exactly once.
    assert _evaluated_candidates(study) == Counter(range(4))
    assert all(t.state == TrialState.COMPLETE for t in trials if is_evaluated(t))
    # The killed trial failed and was retried with the same parameters.
    crashed = trials[killed[0]]
    assert crashed.state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed[0]]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    if candidate_of(crashed) is not None:  # (it may have died before choosing a point)
        assert candidate_of(retries[0]) == candidate_of(crashed)
    # What was complete before the crash is untouched.
    for number, (value, params, completed) in completed_before.items():
        assert (trials[number].value, trials[number].params,
                trials[number].datetime_complete) == (value, params, completed)
        assert trials[number].state == TrialState.COMPLETE


# --------------------------------------------------------------- postgresql
def test_three_cli_workers_on_postgres_evaluate_each_grid_point_once(postgres_url, tmp_path):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    space = tmp_path / "space.json"
    space.write_text(json.dumps([
        {"arch": ["mlp"], "hidden_units": [[4], [8], [12], [16], [20], [24]]},
        {"arch": ["cnn"], "channels": [[2], [3], [4]], "hidden_units": [[8], [16]]},
    ]))
    command = [sys.executable, "-m", "skmnist.model_selection", "search",
               "--storage", postgres_url, "--study-name", name, "--space", str(space),
               "--n-samples", "200", "--epochs", "1", "--cv", "2", "--pruner", "none",
               "--device", "cpu", "--quiet"]
    procs = [subprocess.Popen(command + (["--output", str(tmp_path / "out")] if i == 0 else []),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=_env())
             for i in range(3)]
    outputs = [_finish(proc, timeout=150) for proc in procs]
    study = _load(postgres_url, name)
    assert _evaluated_candidates(study) == Counter(range(12))
    evaluated = [t for t in study.trials if is_evaluated(t)]
    assert len(evaluated) == 12 and all(t.state == TrialState.COMPLETE for t in evaluated)
    workers = {t.user_attrs["worker"] for t in evaluated}
    assert len(workers) >= 2, workers  # the study was shared
    for out in outputs:
        assert "12 trials evaluated" in out
    assert (tmp_path / "out" / "summary.md").exists()
    assert (tmp_path / "out" / "optimization_history.png").exists()
