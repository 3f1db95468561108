"""The package's import structure: no cycles, layers import downward only.

The imports are read from the source with ``ast``, counting imports inside
functions too (a cycle hidden in a function is still a cycle).
"""

import ast
import pathlib
import subprocess
import sys

import pytest

import skmnist

PACKAGE = pathlib.Path(skmnist.__file__).parent


def _modules():
    """``{module name: (path, is_package)}`` for every module of skmnist."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


def _imports(name, path, is_package, modules):
    """The skmnist modules ``name`` imports (anywhere in the file)."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            submodules = {f"{target}.{a.name}" for a in node.names} & set(modules)
            found.update(submodules)
            if node.module or len(submodules) < len(node.names):
                # ``from .x import name`` imports x; ``from . import _sub`` only _sub
                found.add(target)
    return {m for m in found if m in modules and m != name}


@pytest.fixture(scope="module")
def graph():
    modules = _modules()
    return {name: _imports(name, path, is_pkg, modules)
            for name, (path, is_pkg) in modules.items()}


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles(graph):
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    toy = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(toy) == [["a", "b", "c"]]


def test_models_import_no_estimator_code(graph):
    for name, deps in graph.items():
        if name.startswith("skmnist.models"):
            assert all(d.startswith("skmnist.models") or d in ("skmnist._validation",)
                       for d in deps), (name, deps)


def test_models_import_neither_sklearn_nor_skorch():
    for path in (PACKAGE / "models").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                 for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in ast.walk(tree)
                  if isinstance(n, ast.ImportFrom) and not n.level}
        assert not names & {"sklearn", "skorch", "optuna"}, path


def test_low_level_modules_know_no_estimator(graph):
    estimators = {"skmnist._base", "skmnist._classifier", "skmnist._finetune",
                  "skmnist.persistence", "skmnist"}
    for low in ("skmnist._archive", "skmnist._training", "skmnist._engine",
                "skmnist._dense_step", "skmnist._exit", "skmnist._heap",
                "skmnist._shapes", "skmnist._validation", "skmnist._version"):
        assert not graph[low] & estimators, (low, graph[low])


def test_only_the_cli_imports_the_cli(graph):
    for name, deps in graph.items():
        if not (name.startswith("skmnist.cli") or name.endswith("__main__")):
            assert not any(d.startswith("skmnist.cli") for d in deps), name


def test_import_skmnist_does_not_import_the_cli():
    code = ("import sys, skmnist; "
            "print(sorted(m for m in sys.modules if m.startswith('skmnist.cli')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def _imported_after(code):
    probe = (f"{code}\nimport sys\n"
             "print(sorted(m for m in ('torch', 'sklearn', 'skorch', 'optuna') "
             "if m in sys.modules))")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip().splitlines()[-1]


def test_import_skmnist_imports_no_torch_until_an_estimator_is_used():
    assert _imported_after("import skmnist; skmnist.__version__") == "[]"
    assert "torch" in _imported_after("from skmnist import SkMNISTClassifier")


@pytest.mark.parametrize("argv", [["--help"], ["info", "--help"], ["train", "--help"],
                                  ["search", "--help"], ["predict", "--help"],
                                  ["export", "--help"], ["evaluate", "--help"],
                                  ["finetune", "--help"]])
def test_cli_help_imports_neither_torch_nor_sklearn(argv):
    code = ("import contextlib, io, sys\nfrom skmnist.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    try:\n        main({argv!r})\n    except SystemExit:\n        pass")
    assert _imported_after(code) == "[]"


def test_public_names_resolve_lazily():
    assert sorted(skmnist.__all__) == skmnist.__all__
    for name in skmnist.__all__:
        assert getattr(skmnist, name) is not None
        assert name in dir(skmnist)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        skmnist.nope
