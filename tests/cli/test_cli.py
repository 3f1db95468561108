"""The skmnist command as a whole: subcommands, exit codes, search wiring, progress."""

import subprocess
import sys
import types

import pytest

import skmnist
from skmnist.__main__ import main
from skmnist.cli import _common, _train
from skmnist.cli._common import progress, show_progress


def test_python_dash_m_runs_the_command():
    result = subprocess.run([sys.executable, "-m", "skmnist", "--version"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.strip() == f"skmnist {skmnist.__version__}"


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for command in ("train", "evaluate", "predict", "finetune", "search", "info"):
        assert f"    {command}" in text


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "finetune", "info"])
def test_each_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert f"usage: skmnist {command}" in capsys.readouterr().out


def test_info_mentions_optional_parts(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert "Reports (matplotlib):" in text and "Image files (Pillow):" in text
    assert "search: " in text


def test_unknown_command_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["fly"])
    assert exc.value.code == 2


def test_search_unavailable_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "skmnist.cli._search", None)
    assert main(["search", "--trials", "5", "--data", "sample"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skmnist: error: search is not available: ")
    assert err.count("\n") == 1
    assert main(["info"]) == 0  # the other commands still work
    assert "search: not available" in capsys.readouterr().out


def test_search_module_that_fails_does_not_break_the_cli(monkeypatch, capsys):
    fake = types.ModuleType("skmnist.cli._search")

    def add_search_parser(subparsers):
        subparsers.add_parser("search")
        raise RuntimeError("optuna is too old")

    fake.add_search_parser = add_search_parser
    monkeypatch.setitem(sys.modules, "skmnist.cli._search", fake)
    assert main(["search"]) == 2
    assert "RuntimeError: optuna is too old" in capsys.readouterr().err


def test_search_subcommand_is_wired_in(monkeypatch, capsys):
    fake = types.ModuleType("skmnist.cli._search")

    def add_search_parser(subparsers):
        parser = subparsers.add_parser("search", help="search")
        parser.add_argument("--trials", type=int, default=1)
        parser.set_defaults(func=lambda args: print(f"searched {args.trials}") or 0)

    fake.add_search_parser = add_search_parser
    monkeypatch.setitem(sys.modules, "skmnist.cli._search", fake)
    assert main(["search", "--trials", "3"]) == 0
    assert capsys.readouterr().out == "searched 3\n"


def test_ctrl_c_exits_130(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_train, "load_data", interrupted)
    assert main(["train", "-q"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_unexpected_errors_are_one_line_with_a_hint(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(_train, "load_data", broken)
    assert main(["train", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SKMNIST_DEBUG=1" in err
    monkeypatch.setenv("SKMNIST_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["train", "-q"])


def test_progress_counter_without_tqdm(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert list(progress(range(3), desc="Reading")) == [0, 1, 2]
    assert "Reading 3/3" in capsys.readouterr().err
    items = [1, 2]
    assert progress(items, enabled=False) is items


def test_progress_only_on_a_terminal_and_never_in_json_mode(monkeypatch):
    class Args:
        json = False
        quiet = False

    monkeypatch.setattr(sys, "stderr", types.SimpleNamespace(isatty=lambda: True))
    assert show_progress(Args())
    Args.json = True
    assert not show_progress(Args())
    Args.json, Args.quiet = False, True
    assert not show_progress(Args())
    monkeypatch.setattr(sys, "stderr", types.SimpleNamespace(isatty=lambda: False))
    Args.quiet = False
    assert not show_progress(Args())


def test_parse_test_size():
    assert _common.parse_test_size("1000") == 1000
    assert _common.parse_test_size("0.25") == 0.25
    assert _common.parse_test_size("3.0") == 3
