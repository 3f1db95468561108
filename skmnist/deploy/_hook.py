"""Registering the skl2onnx converters without importing skl2onnx (or torch) up front.

``import skmnist`` calls :func:`install`, which puts one small finder at the
front of ``sys.meta_path``. The finder only answers for a few module names
(:data:`WATCHED`): ``skl2onnx`` and the skmnist modules that define
convertible classes. When one of them has been imported, and ``skl2onnx``
is imported too, the converters of the skmnist classes loaded so far are
registered (:func:`skmnist.deploy._converters.register_loaded`). So
``skl2onnx.to_onnx`` finds them whichever is imported first, skmnist or
skl2onnx, while a program that never imports skl2onnx pays nothing but a
set lookup per new import, and one that imports skl2onnx but no skmnist
estimator does not import torch.

The finder finds nothing itself: it asks the other finders for the spec
and wraps the loader so that a callback runs once the module has executed;
the module keeps its own loader (``__loader__``, ``__spec__.loader``).
"""

import sys
import warnings

WATCHED = frozenset({
    "skl2onnx",
    "skmnist._classifier",
    "skmnist._finetune",
    "skmnist.preprocessing",
    "skmnist.model_selection._search",
})


def _on_import(name):
    """After a watched module executed: register what can be registered now."""
    if sys.modules.get("skl2onnx") is None:  # not imported (or blocked with None)
        return
    converters = sys.modules.get(f"{__package__}._converters")
    if converters is not None and not hasattr(converters, "register_loaded"):
        return  # it is importing skl2onnx itself, and registers when it is done
    try:
        from ._converters import register_loaded

        register_loaded()
    except Exception as exc:  # never break the user's import for the converters' sake
        warnings.warn(
            f"skmnist could not register its skl2onnx converters after importing {name} "
            f"({type(exc).__name__}: {exc}); skmnist.export_onnx still works, and "
            "skl2onnx.to_onnx will not know skmnist's estimators.", RuntimeWarning,
            stacklevel=2)


class _CallbackLoader:
    """A loader that runs ``callback(name)`` after the wrapped loader executed the module.

    Duck-typed, as the finder below, rather than an ``importlib.abc``
    subclass: that module alone would double what ``import skmnist`` costs.
    """

    def __init__(self, loader, callback):
        self._loader = loader
        self._callback = callback

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self._loader  # the module keeps its own loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        self._callback(module.__name__)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class PostImportFinder:
    """A ``sys.meta_path`` finder that watches :data:`WATCHED` imports (module docstring)."""

    def __init__(self, callback=_on_import, watched=WATCHED):
        self._callback = callback
        self._watched = watched
        # Names being searched for: Python holds a per-module import lock around
        # find_spec, so one name is never searched by two threads at once.
        self._searching = set()

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self._watched or fullname in self._searching:
            return None
        self._searching.add(fullname)
        try:
            spec = self._find_with_others(fullname, path, target)
        finally:
            self._searching.discard(fullname)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _CallbackLoader(spec.loader, self._callback)
        return spec

    def _find_with_others(self, fullname, path, target):
        for finder in list(sys.meta_path):
            if finder is self or _is_ours(finder):
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                return spec
        return None


def _is_ours(finder):
    # By name, so that a reloaded copy of this module recognises the first one.
    return type(finder).__name__ == "PostImportFinder" and type(finder).__module__ == __name__


def install():
    """Put the finder at the front of ``sys.meta_path`` (once per process)."""
    if not any(_is_ours(f) for f in sys.meta_path):
        sys.meta_path.insert(0, PostImportFinder())
