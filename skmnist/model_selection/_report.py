"""Summaries of a finished search: a table (Markdown, CSV) and PNG plots."""

import csv
import os
import warnings

import numpy as np

_COLUMNS = ("rank", "trial", "state", "epochs", "mean_score", "std_score", "params")


def summary_rows(search):
    """One dict per evaluated trial of a fitted search, best first."""
    res = search.cv_results_
    order = np.lexsort((res["trial_number"], res["rank_test_score"]))
    rows = []
    for i in order:
        params = ", ".join(f"{k}={v!r}" for k, v in res["params"][i].items())
        rows.append({
            "rank": int(res["rank_test_score"][i]),
            "trial": int(res["trial_number"][i]),
            "state": str(res["state"][i]),
            "epochs": int(res["epochs_trained"][i]),
            "mean_score": float(res["mean_test_score"][i]),
            "std_score": float(res["std_test_score"][i]),
            "params": params,
        })
    return rows


def markdown_table(rows, limit=None):
    """The rows as a Markdown table."""
    shown = rows if limit is None else rows[:limit]
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for row in shown:
        cells = []
        for col in _COLUMNS:
            value = row[col]
            cells.append(f"{value:.4f}" if isinstance(value, float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    if limit is not None and len(rows) > limit:
        lines.append(f"\n({len(rows) - limit} more rows)")
    return "\n".join(lines)


def write_csv(rows, path):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


def write_plots(study, folder):
    """Save optimization_history.png and param_importances.png; return (paths, messages)."""
    try:
        import matplotlib

        if "matplotlib.pyplot" not in __import__("sys").modules:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from optuna.visualization import matplotlib as optuna_plots
    except ImportError as exc:
        return [], [f"no plots: matplotlib is not installed ({exc}); pip install matplotlib"]
    from optuna.trial import TrialState

    paths, messages = [], []
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ax = optuna_plots.plot_optimization_history(study)
            path = os.path.join(folder, "optimization_history.png")
            ax.figure.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(ax.figure)
            paths.append(path)
        except Exception as exc:  # plotting must never lose a finished search
            messages.append(f"no optimization history plot: {exc}")
        # Importances over the parameters every complete trial has (conditional
        # ones are left out), never the grid's candidate index.
        common = None
        for trial in complete:
            names = set(trial.params) - {"candidate"}
            common = names if common is None else common & names
        varied = sorted(n for n in (common or ())
                        if len({repr(t.params[n]) for t in complete}) > 1)
        if len(complete) < 2 or not varied:
            messages.append("no parameter importance plot: it needs at least two complete "
                            "trials that differ in a parameter they all have")
        else:
            try:
                ax = optuna_plots.plot_param_importances(study, params=varied)
                path = os.path.join(folder, "param_importances.png")
                ax.figure.savefig(path, dpi=100, bbox_inches="tight")
                plt.close(ax.figure)
                paths.append(path)
            except Exception as exc:
                messages.append(f"no parameter importance plot: {exc}")
    return paths, messages
