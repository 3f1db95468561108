"""Where a study lives, and how a crashed worker's trial is found and retried.

* ``None``: Optuna's in-memory storage (one process).
* A database URL (``sqlite:///search.db``, ``postgresql+psycopg2://...``,
  ``mysql+pymysql://...``): :class:`optuna.storages.RDBStorage` with Optuna's
  own heartbeat. A worker records a heartbeat for its running trial every
  ``heartbeat_interval`` seconds; a running trial whose heartbeat is older
  than ``grace_period`` is marked FAIL by the next worker that looks, and
  :class:`optuna.storages.RetryHeartbeatStaleTrialCallback` enqueues it again
  with the same parameters.
* A file path (no ``://``): Optuna's journal file
  (:class:`optuna.storages.journal.JournalFileBackend`), for several
  processes on one machine. Optuna 5.0's journal storage has no heartbeat,
  so the same scheme is run here on top of the public storage API: the
  worker writes ``skmnist:heartbeat = [trial number, unix time]`` as a trial
  system attribute, and stale trials are failed and enqueued again with the
  same retry callback.
* An ``optuna.storages.BaseStorage`` instance is used as it is (an RDB
  storage with its own heartbeat settings keeps them; other persistent
  storages get the journal-style heartbeat).
"""

import contextlib
import threading
import time
import warnings
from datetime import datetime

import optuna
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import (
    InMemoryStorage,
    JournalStorage,
    RDBStorage,
    RetryHeartbeatStaleTrialCallback,
)
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from optuna.trial import TrialState

HEARTBEAT_ATTR = "skmnist:heartbeat"
# How often a crashed trial is enqueued again before it is left failed.
MAX_RETRY = 3


@contextlib.contextmanager
def quiet_optuna():
    """Silence Optuna's per-trial INFO logs and experimental warnings for a while."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def _retry_callback():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)


def is_url(storage):
    return isinstance(storage, str) and "://" in storage


def make_storage(storage, *, heartbeat_interval, grace_period):
    """Build the Optuna storage for ``storage`` (None, URL, path or instance)."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if is_url(storage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            engine_kwargs = {"pool_pre_ping": True}
            if storage.startswith("sqlite"):
                # Several processes on one file: wait for the lock, don't fail.
                engine_kwargs = {"connect_args": {"timeout": 60}}
            return RDBStorage(
                storage,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=int(heartbeat_interval),
                grace_period=int(grace_period),
                heartbeat_stale_trial_callback=_retry_callback(),
            )
    if isinstance(storage, str):
        # A worker killed while appending to the file leaves its lock behind;
        # appends take milliseconds, so a stale lock is broken after a few
        # seconds instead of Optuna's default 30.
        lock = JournalFileSymlinkLock(storage, grace_period=max(3, min(30, int(grace_period))))
        return JournalStorage(JournalFileBackend(storage, lock_obj=lock))
    raise ValueError(
        "storage must be None, a database URL (e.g. 'sqlite:///search.db', "
        "'postgresql+psycopg2://user@host/db'), the path of a journal file, or an "
        f"optuna storage; got {storage!r}."
    )


def has_native_heartbeat(storage):
    return isinstance(storage, RDBStorage) and storage.get_heartbeat_interval() is not None


def needs_own_heartbeat(storage):
    """Persistent storages without Optuna's heartbeat get this module's."""
    return not isinstance(storage, InMemoryStorage) and not has_native_heartbeat(storage)


class TrialHeartbeat:
    """Record ``skmnist:heartbeat`` for one running trial from a daemon thread.

    Parameters
    ----------
    storage : optuna.storages.BaseStorage
    trial_id : int
    number : int
        The trial's number (a retried trial copies its predecessor's system
        attributes, so the number tells whose heartbeat it is).
    interval : float
        Seconds between heartbeats.
    """

    def __init__(self, storage, trial_id, number, interval):
        self.storage = storage
        self.trial_id = trial_id
        self.number = number
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None

    def _beat(self):
        self.storage.set_trial_system_attr(self.trial_id, HEARTBEAT_ATTR,
                                           [self.number, time.time()])

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self._beat()
            except (UpdateFinishedTrialError, RuntimeError, KeyError):
                return

    def __enter__(self):
        self._beat()
        self._thread = threading.Thread(target=self._run, name="skmnist-heartbeat",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _last_sign_of_life(trial):
    beat = trial.system_attrs.get(HEARTBEAT_ATTR)
    if isinstance(beat, (list, tuple)) and len(beat) == 2 and beat[0] == trial.number:
        return float(beat[1])
    start = trial.datetime_start or datetime.now()
    return start.timestamp()


def fail_stale_trials(study, storage, *, grace_period):
    """Mark running trials whose worker stopped beating as FAIL and enqueue them again.

    Storages with Optuna's heartbeat use Optuna's own routine (and the retry
    callback configured in the storage); other persistent storages use
    ``skmnist:heartbeat``. Returns the numbers of the trials failed here
    (unknown, hence empty, for Optuna's routine).
    """
    if isinstance(storage, InMemoryStorage):
        return []
    if has_native_heartbeat(storage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        return []
    now = time.time()
    failed = []
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if now - _last_sign_of_life(trial) <= grace_period:
            continue
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        try:
            changed = storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
        except UpdateFinishedTrialError:  # another worker was first, or it just finished
            continue
        if changed:
            failed.append(trial.number)
            _retry_callback()(study, storage.get_trial(trial_id))
    return failed


def trial_id_of(storage, study, number):
    """The storage's id of trial ``number`` (public API only)."""
    study_id = storage.get_study_id_from_name(study.study_name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, number)
