"""Evaluation reports: metrics tables, plots and a Markdown/HTML summary.

:func:`write_report` evaluates a fitted classifier on labelled data and
writes ``report.md`` and ``report.html`` (linking the figures), ``metrics.json``,
``confusion_matrix.png``, ``learning_curves.png`` and ``misclassified.png``
into a folder; ``skmnist evaluate`` and ``skmnist train`` call it. The
figures are also available one by one.
"""

from ._plots import plot_confusion_matrix, plot_learning_curves, plot_misclassified
from ._report import REPORT_FILES, write_report

__all__ = [
    "REPORT_FILES",
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_misclassified",
    "write_report",
]
