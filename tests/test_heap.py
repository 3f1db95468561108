"""The malloc tuning for training: where it applies, where the choice is someone else's."""

import os
import subprocess
import sys

import pytest

from skmnist import _heap

GLIBC_LINUX = sys.platform.startswith("linux") and _heap._libc() is not None


@pytest.mark.parametrize(("environ", "reason"), [
    ({}, None),
    ({"SKMNIST_MALLOC_TUNING": "0"}, "SKMNIST_MALLOC_TUNING=0"),
    ({"SKMNIST_MALLOC_TUNING": " 0"}, "SKMNIST_MALLOC_TUNING=0"),
    ({"SKMNIST_MALLOC_TUNING": "1"}, None),
    ({"MALLOC_TRIM_THRESHOLD_": "100000"}, "glibc's malloc configured by the environment"),
    ({"MALLOC_ARENA_MAX": "2"}, "glibc's malloc configured by the environment"),
    ({"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"},
     "glibc's malloc configured by the environment"),
    ({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX"}, None),
    ({"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"},
     "another allocator is preloaded"),
    ({"LD_PRELOAD": "libtcmalloc_minimal.so.4"}, "another allocator is preloaded"),
])
def test_who_decides(monkeypatch, environ, reason):
    monkeypatch.setattr(sys, "platform", "linux")
    assert _heap._why_not(environ) == reason


def test_other_systems_are_left_alone(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert _heap._why_not({}) == "not 64-bit Linux"


def test_values_are_glibcs_own_upper_bounds():
    assert _heap.MMAP_THRESHOLD == 32 * 2**20 and _heap.TRIM_THRESHOLD == 64 * 2**20


def _fresh_process(code, **env):
    environ = {k: v for k, v in os.environ.items()
               if k != _heap.ENV and not k.startswith("MALLOC_")}
    environ.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environ, check=True, timeout=300).stdout.split()


FIT = """
import numpy as np
from skmnist import SkMNISTClassifier, _heap
print(_heap._state["done"])
X = np.random.RandomState(0).rand(40, 64).astype(np.float32); y = np.arange(40) % 2
SkMNISTClassifier(arch="mlp", max_epochs=1, device="{device}", random_state=0).fit(X, y)
print(_heap._state["done"], _heap._state["applied"], _heap._state["reason"])
print(_heap.tune_heap())
"""


@pytest.mark.skipif(not GLIBC_LINUX, reason="needs glibc on Linux")
def test_a_cpu_fit_tunes_the_heap_once():
    assert _fresh_process(FIT.format(device="cpu")) == ["False", "True", "True", "None", "True"]


@pytest.mark.skipif(not GLIBC_LINUX, reason="needs glibc on Linux")
def test_the_opt_out_leaves_malloc_alone():
    out = _fresh_process(FIT.format(device="cpu"), SKMNIST_MALLOC_TUNING="0")
    assert out[:3] == ["False", "True", "False"] and out[-1] == "False"


def test_tune_heap_calls_mallopt_once(monkeypatch):
    calls = []

    class FakeLibc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(_heap, "_state", {"done": False, "applied": False, "reason": None})
    monkeypatch.setattr(_heap, "_why_not", lambda environ=None: None)
    monkeypatch.setattr(_heap, "_libc", FakeLibc)
    assert _heap.tune_heap() and _heap.tune_heap()
    assert calls == [(-3, 32 * 2**20), (-1, 64 * 2**20)]


def test_a_refused_mallopt_is_reported(monkeypatch):
    class Refusing:
        def mallopt(self, param, value):
            return 0

    monkeypatch.setattr(_heap, "_state", {"done": False, "applied": False, "reason": None})
    monkeypatch.setattr(_heap, "_why_not", lambda environ=None: None)
    monkeypatch.setattr(_heap, "_libc", Refusing)
    assert _heap.tune_heap() is False and _heap._state["reason"] == "mallopt refused"
