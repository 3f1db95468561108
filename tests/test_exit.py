"""The fast interpreter exit: gc.freeze() at exit, nothing changed before, an opt-out."""

import os
import subprocess
import sys

import pytest

# An atexit handler registered before skmnist's runs after it (last in, first
# out): it sees whether skmnist froze the collector's objects.
SCRIPT = r"""
import atexit, gc, weakref

class Holder:
    pass

def report():
    print("frozen-at-exit", gc.get_freeze_count() > 0, flush=True)

atexit.register(report)
import skmnist._base  # what the estimators import
print("frozen-while-running", gc.get_freeze_count() > 0, flush=True)
# A cycle made while running is still collected as before.
a = Holder(); a.self = a; ref = weakref.ref(a); del a
gc.collect()
print("cycle-collected", ref() is None, flush=True)
keep = Holder()
weakref.finalize(keep, print, "finalizer-ran", flush=True)
"""


def _run(env_value):
    env = dict(os.environ)
    env.pop("SKMNIST_FAST_EXIT", None)
    if env_value is not None:
        env["SKMNIST_FAST_EXIT"] = env_value
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         env=env, check=True, timeout=120)
    return out.stdout.split("\n")


@pytest.mark.parametrize(("env_value", "frozen"), [(None, True), ("1", True), ("0", False),
                                                    (" 0 ", False)])
def test_exit_freezes_unless_turned_off(env_value, frozen):
    lines = _run(env_value)
    assert "frozen-while-running False" in lines
    assert "cycle-collected True" in lines
    assert "finalizer-ran" in lines
    assert f"frozen-at-exit {frozen}" in lines


def test_install_registers_once(monkeypatch):
    from skmnist import _exit
    calls = []
    monkeypatch.setattr(_exit, "_installed", False)
    monkeypatch.setattr(_exit.atexit, "register", calls.append)
    _exit.install()
    _exit.install()
    assert calls == [_exit._freeze_at_exit]
