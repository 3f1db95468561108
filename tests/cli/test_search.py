"""The ``skmnist search`` worker command (run in-process here)."""

import argparse
import json

import pytest

from skmnist.model_selection import Float, Int
from skmnist.cli import main as cli_main
from skmnist.cli._search import add_search_parser, load_space

def main(argv):
    """``skmnist search ...`` (the worker's own ``main`` was folded into the CLI's)."""
    return cli_main(argv if argv[:1] == ["search"] else ["search", *argv])


TINY = [{"arch": ["mlp"], "hidden_units": [[4], [8]]},
        {"arch": ["cnn"], "channels": [[2]], "hidden_units": [[8]]}]
COMMON = ["--n-samples", "100", "--epochs", "1", "--cv", "2", "--device", "cpu", "--quiet"]


@pytest.fixture
def tiny_space(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(TINY))
    return str(path)


def test_add_search_parser_registers_a_subcommand_with_a_func():
    parser = argparse.ArgumentParser(prog="skmnist")
    sub = parser.add_subparsers(dest="command")
    add_search_parser(sub)
    args = parser.parse_args(["search", "--storage", "sqlite:///x.db", "--study-name", "s",
                              "--n-trials", "5", "--sampler", "tpe", "--pruner", "hyperband"])
    assert args.command == "search" and args.n_trials == 5 and args.pruner == "hyperband"
    assert callable(args.func)


def test_json_space_lists_become_tuples_and_ranges_are_read(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps({"channels": [[8, 16], [16, 32]],
                                "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
                                "max_epochs": {"type": "int", "low": 1, "high": 3}}))
    space = load_space(str(path))
    assert space["channels"] == [(8, 16), (16, 32)]
    assert space["lr"] == Float(1e-4, 1e-2, log=True)
    assert space["max_epochs"] == Int(1, 3)
    assert load_space("small") is load_space("small")
    assert load_space("small")[1]["channels"] == [(8, 16), (16, 32), (32, 64)]
    with pytest.raises(ValueError, match="neither a preset"):
        load_space(str(tmp_path / "missing.json"))
    path.write_text(json.dumps({"lr": {"type": "float"}}))
    with pytest.raises(ValueError, match="'lr'"):
        load_space(str(path))


def test_a_grid_search_writes_summary_and_plots(tmp_path, tiny_space, capsys):
    out = tmp_path / "out"
    rc = main(["search", "--space", tiny_space, "--pruner", "none", "--output", str(out),
               *COMMON])
    assert rc == 0
    text = capsys.readouterr().out
    assert "3 trials evaluated (3 complete, 0 pruned), 6 fold-epochs trained" in text
    assert "| rank | trial | state |" in text and "best: {" in text
    summary = (out / "summary.md").read_text()
    assert summary.count("COMPLETE") == 3
    assert (out / "summary.csv").read_text().startswith("rank,trial,state,epochs")
    assert (out / "optimization_history.png").stat().st_size > 1000
    # Importances need a parameter that varies across all complete trials.
    assert (out / "param_importances.png").exists()


def test_workers_resume_a_study_in_a_file(tmp_path, tiny_space, capsys):
    storage = str(tmp_path / "study.journal")
    args = ["--storage", storage, "--study-name", "cli", "--space", tiny_space,
            "--pruner", "none", *COMMON]
    assert main(args + ["--n-trials", "1"]) == 0
    text = capsys.readouterr().out
    assert "1 trial evaluated" in text and "1 epoch," in text  # singular when it is one
    assert main(args) == 0  # a second worker finishes the grid
    assert "3 trials evaluated" in capsys.readouterr().out


def test_tpe_with_the_lr_preset(capsys):
    rc = main(["--sampler", "tpe", "--space", "lr", "--n-trials", "2", "--n-samples", "60",
               "--epochs", "1", "--cv", "2", "--device", "cpu", "-q"])
    assert rc == 0
    assert "2 trials evaluated" in capsys.readouterr().out


def test_errors_are_one_line_with_exit_1(tmp_path, capsys):
    assert main(["--storage", str(tmp_path / "s.journal"), *COMMON]) == 1
    assert "--study-name is required" in capsys.readouterr().err
    assert main(["--space", "lr", *COMMON]) == 1  # ranges with the grid sampler
    err = capsys.readouterr().err
    assert err.startswith("skmnist: error:") and "['lr']" in err
    assert main(["--sampler", "random", *COMMON]) == 1
    assert "n_trials is required" in capsys.readouterr().err
