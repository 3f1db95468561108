"""Keep freed memory in the process between training batches (glibc's malloc on Linux).

Each training batch allocates its activations and gradients (megabytes on a
CPU) and frees them at the end of the step. glibc's malloc serves blocks
above its *mmap threshold* with fresh ``mmap`` calls and hands the free top
of its heap back to the kernel above its *trim threshold*; both start at
128 KiB and rise only when a freed block was larger than the current
threshold, up to 32 MiB and 64 MiB on 64-bit systems (``mallopt(3)``). A
CNN's batch frees many blocks of a few megabytes at once, so the heap is
trimmed and regrown, and every page of every activation is a page fault the
kernel answers with zeroed memory. How often depends on what the process
allocated before (the thresholds move with it): one epoch of the default CNN
on the bundled sample took 1.51-1.97 s at batch 32 on a 2-core machine
(10,000 to 360,000 page faults), 1.51-1.54 s with the thresholds set
(``benchmarks/README.md``, ``bench_overhead.py --mode heap``).

:func:`tune_heap` sets both thresholds to those upper values at once
(``mallopt(M_MMAP_THRESHOLD, 32 MiB)``, ``mallopt(M_TRIM_THRESHOLD,
64 MiB)``): blocks up to 32 MiB come from the heap and up to 64 MiB of free
heap stays in the process. It is called at the start of a fit on the CPU,
once per process, and is not undone: glibc cannot go back to adjusting the
thresholds itself once they are set, and the values are the ones its own
adjustment moves towards. The cost is memory the process keeps: at most
64 MiB of free heap, besides what fragmentation holds.

Nothing is changed where the choice is someone else's: not on other systems
or C libraries (musl, macOS, Windows), not when another allocator is
preloaded (jemalloc, tcmalloc, mimalloc: ``LD_PRELOAD``), and not when the
process was started with glibc's own malloc settings (``MALLOC_*_``
environment variables, ``GLIBC_TUNABLES`` with ``glibc.malloc``). Set
``SKMNIST_MALLOC_TUNING=0`` to leave malloc alone.
"""

import ctypes
import os
import sys
import threading

#: The environment variable that turns the tuning off ("0").
ENV = "SKMNIST_MALLOC_TUNING"

# mallopt(3) parameter numbers (glibc's malloc.h) and the values set.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20   # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # what its dynamic adjustment pairs with it

# The environment variables through which glibc's malloc is configured at
# start-up (mallopt(3), "ENVIRONMENT"); any of them means the user chose.
_GLIBC_MALLOC_ENV = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_",
                     "MALLOC_MMAP_MAX_", "MALLOC_ARENA_MAX", "MALLOC_ARENA_TEST")
_OTHER_ALLOCATORS = ("jemalloc", "tcmalloc", "mimalloc", "hoard", "snmalloc")

_lock = threading.Lock()
_state = {"done": False, "applied": False, "reason": None}


def _why_not(environ=None):
    """Why the heap is left alone here (a short reason), or None where it may be tuned."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV, "1").strip() == "0":
        return f"{ENV}=0"
    if not sys.platform.startswith("linux") or sys.maxsize <= 2**32:
        return "not 64-bit Linux"
    if any(name in environ for name in _GLIBC_MALLOC_ENV) or \
            "glibc.malloc" in environ.get("GLIBC_TUNABLES", ""):
        return "glibc's malloc configured by the environment"
    preload = environ.get("LD_PRELOAD", "").lower()
    if any(name in preload for name in _OTHER_ALLOCATORS):
        return "another allocator is preloaded"
    return None


def _libc():
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only (musl has no such function)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return libc


def tune_heap():
    """Set glibc's mmap and trim thresholds for training, once per process.

    Returns True when the thresholds are (now or already) set by skmnist,
    False where the heap is left alone (see the module docstring).
    """
    with _lock:
        if _state["done"]:
            return _state["applied"]
        _state["done"] = True
        reason = _why_not()
        libc = None if reason else _libc()
        if libc is None:
            _state["reason"] = reason or "not glibc"
            return False
        ok = (libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
              and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
        _state["applied"] = ok
        _state["reason"] = None if ok else "mallopt refused"
        return ok
