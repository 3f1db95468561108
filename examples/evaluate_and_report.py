"""Evaluate a classifier and write a report: metrics, plots, Markdown and HTML.

This example trains :class:`skmnist.SkMNISTClassifier` on the MNIST sample
bundled with skmnist, holding out a validation fraction so the learning
curves show validation loss and accuracy too, then calls
:func:`skmnist.reports.write_report` on 1,000 held-out images. The folder
``skmnist_example_report/`` then holds

* ``report.md`` and ``report.html``: accuracy, per-class precision, recall
  and F1, and the figures below (open the HTML file in a browser);
* ``confusion_matrix.png`` (scikit-learn's ``ConfusionMatrixDisplay``);
* ``learning_curves.png`` (from ``clf.history_``);
* ``misclassified.png``: the 25 mistakes the model was surest of, each
  titled with its predicted and true label;
* ``metrics.json``: the same numbers for scripts.

``skmnist evaluate --model PATH`` writes the same report from the command
line. Set ``SKMNIST_EXAMPLE_FAST=1`` to train on fewer images for one epoch
(CI). Run it with ``python examples/evaluate_and_report.py``.
"""

import os

from sklearn.model_selection import train_test_split

from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample
from skmnist.reports import write_report

FAST = os.environ.get("SKMNIST_EXAMPLE_FAST") == "1"
OUTPUT = "skmnist_example_report"

X, y = load_mnist_sample(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=1000 if FAST else 4000, test_size=1000, stratify=y, random_state=0
)

clf = SkMNISTClassifier(max_epochs=1 if FAST else 5, validation_fraction=0.1, random_state=0)
clf.fit(X_train, y_train)

result = write_report(clf, X_test, y_test, OUTPUT,
                      description="1,000 held-out images of the bundled MNIST sample")
print(f"accuracy: {result['accuracy']:.4f} "
      f"({result['metrics']['n_errors']} of {result['metrics']['n_samples']} misclassified)")
print(f"macro F1: {result['metrics']['macro avg']['f1-score']:.4f}")
for name, path in sorted(result["files"].items()):
    print(f"{name:>16}: {path}")
print(f"Open {result['files']['report_html']} in a browser to see the plots.")
