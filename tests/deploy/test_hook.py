"""Importing skmnist registers the skl2onnx converters, whichever is imported first."""

import subprocess
import sys
import textwrap
import warnings

import pytest

import skmnist.deploy._converters as converters
from skmnist.deploy import _hook

# Converts a pipeline of skmnist transformers (no torch export: fast) and checks that
# the estimators' converters are registered too (their conversion: test_converters.py).
CONVERT = textwrap.dedent("""
    import numpy as np
    from sklearn.pipeline import make_pipeline
    from skl2onnx._supported_operators import sklearn_operator_name_map
    X = np.arange(2 * 784, dtype=np.uint8).reshape(2, 784)
    pipe = make_pipeline(PixelScaler(), ImageReshaper()).fit(X)
    model = skl2onnx.to_onnx(pipe, X[:1])
    import onnxruntime as ort
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: X})[0]
    assert np.array_equal(out, pipe.transform(X))
    assert sklearn_operator_name_map[SkMNISTClassifier] == "SkmnistSkMNISTClassifier"
    print("converted")
""")


def run(code):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()


@pytest.mark.parametrize("imports", [
    "import skl2onnx\nimport skmnist\nfrom skmnist import SkMNISTClassifier\n"
    "from skmnist.preprocessing import ImageReshaper, PixelScaler\n",
    "import skmnist\nfrom skmnist import SkMNISTClassifier\n"
    "from skmnist.preprocessing import ImageReshaper, PixelScaler\nimport skl2onnx\n",
    "from skmnist.preprocessing import ImageReshaper, PixelScaler\nimport skl2onnx\n"
    "from skmnist import SkMNISTClassifier\n",
], ids=["skl2onnx-first", "skl2onnx-last", "in-between"])
def test_to_onnx_knows_skmnist_in_either_import_order(imports):
    assert run(imports + CONVERT)[-1] == "converted"


def test_neither_import_pulls_in_the_other_or_torch():
    code = ("import sys\nimport skmnist\n"
            "print(sorted(m for m in ('skl2onnx', 'onnx', 'torch') if m in sys.modules))\n"
            "import skl2onnx\n"
            "print(sorted(m for m in ('torch', 'skmnist._classifier') if m in sys.modules))\n"
            "print(type(skl2onnx.__loader__).__name__, "
            "type(skl2onnx.__spec__.loader).__name__)\n")
    assert run(code) == ["[]", "[]", "SourceFileLoader SourceFileLoader"]


def test_the_finder_is_installed_once_at_the_front():
    ours = [f for f in sys.meta_path if _hook._is_ours(f)]
    assert len(ours) == 1 and sys.meta_path[0] is ours[0]
    _hook.install()
    assert [f for f in sys.meta_path if _hook._is_ours(f)] == ours


def test_the_finder_answers_only_for_watched_modules():
    seen = []
    finder = _hook.PostImportFinder(callback=seen.append, watched={"json"})
    assert finder.find_spec("collections") is None
    spec = finder.find_spec("json")
    assert spec is not None and spec.name == "json"
    module = type(sys)("json")
    module.__spec__ = spec
    spec.loader.exec_module(module)
    assert seen == ["json"] and hasattr(module, "dumps")
    assert type(module.__loader__).__name__ == "SourceFileLoader"


def test_a_failing_registration_warns_instead_of_breaking_the_import(monkeypatch):
    def broken():
        raise RuntimeError("no luck")

    monkeypatch.setattr(converters, "register_loaded", broken)
    with pytest.warns(RuntimeWarning, match="could not register its skl2onnx converters.*"
                                            "no luck"):
        _hook._on_import("skl2onnx")
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _hook._on_import("skl2onnx")


def test_registering_is_idempotent_and_covers_every_class():
    names = {name for entries in converters._CONVERTERS.values() for name, *_ in entries}
    converters.register_all()
    assert {cls.__name__ for cls in converters._registered} == names
    assert converters.register_loaded() == []  # nothing left to register
