"""A faster interpreter exit: the final garbage collection skips what is alive at exit.

When Python exits it runs the cyclic garbage collector over every object
still alive, and with torch, scikit-learn, SciPy and their imports loaded
that is a few hundred thousand objects: about 0.6 s of a 2-core machine's
time after the last line of a script (``benchmarks/README.md``, cold start).
Objects alive at exit are freed when the process ends whatever the collector
does, and Python does not promise to call ``__del__`` for them
(https://docs.python.org/3/reference/datamodel.html#object.__del__).

:func:`install` registers an ``atexit`` handler that calls
:func:`gc.freeze`: the final collections then leave those objects alone.
Nothing changes while the program runs (the collector works as before until
the handler runs); ``atexit`` handlers, ``weakref.finalize`` callbacks and the
flushing of ``sys.stdout``/``sys.stderr`` all still happen. Spack's command
line does the same (spack/spack#53020).

Set the environment variable ``SKMNIST_FAST_EXIT=0`` to keep Python's
full collection at exit (for instance in a leak checker that expects every
cycle collected).
"""

import atexit
import gc
import os

#: The environment variable that turns the fast exit off ("0").
ENV = "SKMNIST_FAST_EXIT"

_installed = False


def _freeze_at_exit():
    if os.environ.get(ENV, "1").strip() != "0":
        gc.freeze()


def install():
    """Register the ``atexit`` handler, once per process."""
    global _installed
    if not _installed:
        atexit.register(_freeze_at_exit)
        _installed = True
