"""How many CPU threads torch uses inside ``fit`` and ``predict`` (the ``n_jobs`` parameter).

torch's CPU kernels run on an OpenMP pool of ``torch.get_num_threads()``
threads, by default one per core. On a machine where other processes keep
cores busy that is the worst choice: a parallel region waits at its barrier
for the thread the kernel has descheduled, so every layer of every batch
waits for another process's time slice. Measured on a 2-core machine with one
competing CPU-bound process (``benchmarks/README.md``), the default CNN
trained several times slower with 2 threads than with 1.

The policy (``n_jobs=None``, the default): use as many threads as there are
cores not kept busy by other processes right now, at least 1 and at most the
caller's ``torch.get_num_threads()`` (so ``torch.set_num_threads``,
``OMP_NUM_THREADS`` and the limits joblib's workers set all keep working).
"Right now" is the number of runnable tasks of the machine
(``/proc/loadavg``) less this process's own, sampled three times; a long fit
looks again every few seconds, at the start of an epoch. Without ``/proc``
(macOS, Windows) the caller's setting is used as it is.

An int pins the count (``-1``: every core the process may use, as in
scikit-learn): results are then reproducible bit for bit, since the order
of floating-point sums in some kernels depends on the number of threads.

Either way the caller's thread setting is restored when ``fit`` or
``predict`` returns.
"""

import math
import os
import time

import torch

from ._validation import check_int

# How often a long fit looks at the machine again (seconds).
RECHECK_SECONDS = 5.0
_SAMPLES = 3
_SAMPLE_GAP = 0.0005


def check_n_jobs(n_jobs):
    """Validate the ``n_jobs`` parameter: None, or a non-zero int."""
    if n_jobs is None:
        return None
    n_jobs = check_int(n_jobs, "n_jobs")
    if n_jobs == 0:
        raise ValueError(
            "n_jobs must be None (use the idle cores), a positive number of threads or a "
            "negative int (-1: every core, -2: all but one); got 0.")
    return n_jobs


def usable_cpus():
    """Cores this process may run on: its CPU affinity, within a cgroup CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    try:  # cgroup v2, e.g. a container started with --cpus=2
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


def _own_running_threads():
    running = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                # state is the field after the parenthesised command name
                running += f.read().rpartition(")")[2].split()[0] == "R"
        except OSError:  # a thread that just ended
            pass
    return running


def busy_cpus_elsewhere():
    """Runnable tasks of other processes now (median of 3 samples), or None without /proc."""
    samples = []
    try:
        for i in range(_SAMPLES):
            if i:
                time.sleep(_SAMPLE_GAP)
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].partition("/")[0])
            samples.append(max(0, running - _own_running_threads()))
    except (OSError, ValueError, IndexError):
        return None
    return sorted(samples)[len(samples) // 2]


def threads_for(n_jobs, *, ceiling):
    """The thread count ``n_jobs`` means now; ``ceiling`` is the caller's torch setting."""
    if n_jobs is not None:
        cpus = usable_cpus()
        return max(1, n_jobs if n_jobs > 0 else cpus + 1 + n_jobs)
    busy = busy_cpus_elsewhere()
    if busy is None:
        return ceiling
    return max(1, min(ceiling, usable_cpus() - busy))


class ThreadPolicy:
    """Apply ``n_jobs`` for the duration of a ``with`` block, then restore the caller's setting.

    Parameters
    ----------
    n_jobs : int or None
        The estimator's parameter (validated by :func:`check_n_jobs`).
    """

    def __init__(self, n_jobs):
        self.n_jobs = n_jobs
        self.threads = None
        self._caller = None
        self._checked = 0.0

    def __enter__(self):
        self._caller = torch.get_num_threads()
        self._apply()
        return self

    def __exit__(self, *exc):
        if torch.get_num_threads() != self._caller:
            torch.set_num_threads(self._caller)
        return False

    def _apply(self):
        self.threads = threads_for(self.n_jobs, ceiling=self._caller)
        self._checked = time.monotonic()
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)

    def recheck(self):
        """For ``n_jobs=None``: look at the machine again if it is time (between epochs)."""
        if self.n_jobs is None and time.monotonic() - self._checked >= RECHECK_SECONDS:
            self._apply()
