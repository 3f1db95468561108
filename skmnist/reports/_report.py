"""write_report: metrics, plots and a Markdown/HTML summary for a fitted classifier."""

import datetime
import html
import json
import math
import os

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

from ._plots import _history_rows, plot_confusion_matrix, plot_learning_curves, plot_misclassified

#: The files :func:`write_report` writes, by key.
REPORT_FILES = {
    "report": "report.md",
    "report_html": "report.html",
    "metrics": "metrics.json",
    "confusion_matrix": "confusion_matrix.png",
    "learning_curves": "learning_curves.png",
    "misclassified": "misclassified.png",
}
_DPI = 110


def _plain(value):
    """``value`` as a JSON-friendly Python object (numpy scalars unwrapped)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _image_shape(estimator, X):
    """``(c, h, w)`` of the images in X, or None for tabular data.

    Taken from X's own shape when it holds images, else from the estimator's
    ``input_shape_``; flat rows of a square number (>= 64) of values are
    square images for other estimators.
    """
    shape = getattr(estimator, "input_shape_", None)
    X = np.asarray(X)
    if X.ndim == 3:
        return (1, *X.shape[1:])
    if X.ndim == 4:
        return tuple(X.shape[1:])
    if shape is not None:
        if len(shape) == 3 and shape[1] > 1 and shape[2] > 1 \
                and int(np.prod(shape)) == X.shape[1]:
            return tuple(int(s) for s in shape)
        return None
    side = math.isqrt(X.shape[1]) if X.ndim == 2 else 0
    if side >= 8 and side * side == X.shape[1]:  # flat square images (8x8 digits, MNIST)
        return (1, side, side)
    return None


def _model_summary(estimator):
    """Class, architecture, input shape, epochs and device, as far as the estimator has them."""
    summary = {"class": type(estimator).__name__}
    for key, attr in (("arch", "arch_"), ("input_shape", "input_shape_"), ("epochs", "n_iter_"),
                      ("device", "device_")):
        value = _plain(getattr(estimator, attr, None))
        if isinstance(value, tuple) and all(isinstance(_plain(v), int) for v in value):
            summary[key] = [int(v) for v in value]
        elif attr == "device_" and value is not None:
            summary[key] = str(value)
        elif isinstance(value, (int, str)) and not isinstance(value, bool):
            summary[key] = value
    return summary


def _markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
              for row in rows]
    return "\n".join(lines)


def _metric_rows(report, names):
    """Rows (name, precision, recall, F1, support) of a classification_report dict."""
    rows = []
    for name in names:
        m = report[name]
        rows.append([name, f"{m['precision']:.3f}", f"{m['recall']:.3f}",
                     f"{m['f1-score']:.3f}", str(int(m["support"]))])
    for avg in ("macro avg", "weighted avg"):
        m = report[avg]
        rows.append([f"*{avg}*", f"{m['precision']:.3f}", f"{m['recall']:.3f}",
                     f"{m['f1-score']:.3f}", str(int(m["support"]))])
    return rows


def _remove_stale(output_dir, written):
    for key, name in REPORT_FILES.items():
        path = os.path.join(output_dir, name)
        if key not in written and os.path.isfile(path):
            os.remove(path)


def write_report(estimator, X, y, output_dir, *, history=True, target_names=None,
                 title="Evaluation report", description=None, max_images=25):
    """Evaluate a fitted classifier on X, y and write a report with plots into a folder.

    The report holds the accuracy, per-class precision, recall and F1
    (:func:`sklearn.metrics.classification_report`), a confusion matrix
    (:class:`sklearn.metrics.ConfusionMatrixDisplay`), learning curves from
    the training history and a grid of the misclassified images the model
    was most confident about, each titled with its predicted and true label.

    Parameters
    ----------
    estimator : fitted classifier
        A skmnist estimator, or any scikit-learn classifier with
        ``predict`` (``predict_proba`` is used when present, to rank the
        mistakes and show their confidence).
    X : array-like of shape (n_samples, n_features) or image arrays
        The evaluation images, in a form the estimator accepts. Flat rows
        are drawn as images of the estimator's ``input_shape_``.
    y : array-like of shape (n_samples,)
        Their true labels.
    output_dir : str or os.PathLike
        The folder to write into; created if needed. Report files left
        there by an earlier call and not written this time are removed.
    history : bool, default=True
        Plot the learning curves from the estimator's ``history_`` (when it
        has one).
    target_names : sequence of str, default=None
        Display names of the estimator's ``classes_``, in the same order.
    title : str, default="Evaluation report"
        The report's heading.
    description : str, default=None
        A line saying what data this is, shown under the heading.
    max_images : int, default=25
        At most this many misclassified images in the grid.

    Returns
    -------
    result : dict
        ``"accuracy"`` (float), ``"metrics"`` (the dict also written to
        ``metrics.json``) and ``"files"``: the path of every file written,
        keyed ``"report"`` (``report.md``), ``"report_html"``,
        ``"metrics"``, ``"confusion_matrix"``, and ``"learning_curves"`` and
        ``"misclassified"`` when there was something to draw.

    See Also
    --------
    plot_learning_curves : The learning-curve figure alone.
    plot_misclassified : The grid of mistakes alone.
    sklearn.metrics.classification_report : The per-class table.

    Notes
    -----
    Links in ``report.md`` and ``report.html`` are relative, so the folder
    can be moved or shared as a whole. Figures are rendered off-screen
    (Agg); nothing opens a window.

    Examples
    --------
    >>> import tempfile
    >>> from skmnist import SkMNISTClassifier
    >>> from skmnist.datasets import load_mnist_sample
    >>> from skmnist.reports import write_report
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = SkMNISTClassifier(arch="mlp", max_epochs=1, device="cpu", random_state=0)
    >>> clf = clf.fit(X[::10], y[::10])
    >>> result = write_report(clf, X[5::50], y[5::50], tempfile.mkdtemp())
    >>> sorted(result["files"])
    ['confusion_matrix', 'learning_curves', 'metrics', 'misclassified', 'report', 'report_html']
    """
    output_dir = os.fspath(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    y = np.asarray(y)
    if len(y) == 0:
        raise ValueError("Cannot write a report on an empty data set (no samples).")
    classes = np.asarray(getattr(estimator, "classes_", np.unique(y)))
    if target_names is not None:
        target_names = [str(t) for t in target_names]
        if len(target_names) != len(classes):
            raise ValueError(
                f"target_names has {len(target_names)} names but the estimator has "
                f"{len(classes)} classes.")
    names = target_names if target_names is not None else [str(c) for c in classes]
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X))
        y_pred = classes[proba.argmax(axis=1)]
        confidence = proba.max(axis=1)
    else:
        y_pred = np.asarray(estimator.predict(X))
        confidence = None
    # Labels in y the model does not know still count (as errors) in the table.
    labels = list(classes) + [c for c in np.unique(y) if c not in set(classes.tolist())]
    all_names = names + [str(c) for c in labels[len(classes):]]
    accuracy = float(accuracy_score(y, y_pred))
    report = classification_report(y, y_pred, labels=labels, target_names=all_names,
                                   output_dict=True, zero_division=0)
    wrong = np.flatnonzero(y_pred != y)
    if confidence is not None:
        wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]

    files = {}
    path = lambda key: os.path.join(output_dir, REPORT_FILES[key])  # noqa: E731

    display = plot_confusion_matrix(y, y_pred, labels=labels, target_names=all_names,
                                    title=f"Confusion matrix (accuracy {accuracy:.4f})")
    display.figure_.savefig(path("confusion_matrix"), dpi=_DPI)
    files["confusion_matrix"] = path("confusion_matrix")

    rows = _history_rows(getattr(estimator, "history_", None)) if history else []
    if rows:
        fig = plot_learning_curves(rows)
        if fig is not None:
            fig.savefig(path("learning_curves"), dpi=_DPI)
            files["learning_curves"] = path("learning_curves")

    shape = _image_shape(estimator, X)
    shown = wrong[:max_images]
    if shape is not None and len(shown):
        images = np.asarray(X)[shown]
        fig = plot_misclassified(
            images, y[shown], y_pred[shown], input_shape=shape,
            confidence=None if confidence is None else confidence[shown],
            target_names=target_names, classes=classes, max_images=max_images,
            title="Misclassified: predicted (probability) / true, most confident first")
        fig.savefig(path("misclassified"), dpi=_DPI)
        files["misclassified"] = path("misclassified")

    per_class = {name: {k: _plain(v) for k, v in report[name].items()} for name in all_names}
    metrics = {
        "title": title,
        "description": description,
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "model": _model_summary(estimator),
        "n_samples": int(len(y)),
        "n_errors": int(len(wrong)),
        "accuracy": accuracy,
        "macro avg": {k: _plain(v) for k, v in report["macro avg"].items()},
        "weighted avg": {k: _plain(v) for k, v in report["weighted avg"].items()},
        "per_class": per_class,
        "labels": [_plain(c) for c in labels],
        "confusion_matrix": confusion_matrix(y, y_pred, labels=labels).tolist(),
        "history": [{k: _plain(v) for k, v in row.items() if k != "batches"
                     and isinstance(_plain(v), (int, float, str, bool, type(None)))}
                    for row in rows],
        "files": {key: os.path.basename(p) for key, p in files.items()},
    }
    for key in ("report", "report_html", "metrics"):
        files[key] = path(key)
    metrics["files"].update({key: REPORT_FILES[key] for key in ("report", "report_html")})
    with open(path("metrics"), "w", encoding="utf-8") as fh:
        json.dump(metrics, fh, indent=1)
        fh.write("\n")
    sections = _sections(metrics, report, all_names, files, len(shown),
                         _curves_text(estimator, rows))
    with open(path("report"), "w", encoding="utf-8") as fh:
        fh.write(_to_markdown(title, sections))
    with open(path("report_html"), "w", encoding="utf-8") as fh:
        fh.write(_to_html(title, sections))
    _remove_stale(output_dir, files)
    return {"accuracy": accuracy, "metrics": metrics, "files": files}


def _curves_text(estimator, rows):
    """What each learning curve is: the data it was measured on, and when."""
    text = ("Per epoch, from the model's training history. The training loss (solid) is "
            "the mean loss over the epoch's training batches, measured while training "
            "(dropout and augmentation on), so it can sit above the validation loss.")
    if any("valid_loss" in row for row in rows):
        fraction = getattr(estimator, "validation_fraction", None)
        share = f"{fraction:.0%} of the training images" if fraction else "images"
        text += (f" The validation loss and accuracy (dashed) are measured after each epoch "
                 f"on {share} held out of training (validation_fraction), never trained on; "
                 "the held-out evaluation above is on other images again.")
    else:
        text += (" There is no validation curve: the model was trained on all its training "
                 "images (validation_fraction=None).")
    return text


def _sections(metrics, report, names, files, n_shown, curves_text=""):
    """The report's content as (heading, [blocks]) where a block is text, table or image."""
    model = metrics["model"]
    facts = [f"Model: {model['class']}"]
    if "arch" in model:
        facts.append(f"architecture `{model['arch']}`")
    if "input_shape" in model:
        facts.append("input " + "x".join(str(s) for s in model["input_shape"]))
    if "epochs" in model:
        facts.append(f"{model['epochs']} epoch(s) trained")
    intro = [("text", ", ".join(facts) + ".")]
    if metrics["description"]:
        intro.append(("text", f"Data: {metrics['description']}."))
    n, errors = metrics["n_samples"], metrics["n_errors"]
    intro.append(("strong", f"Accuracy: {metrics['accuracy']:.4f} "
                            f"({n - errors} of {n} correct, {errors} misclassified)"))
    sections = [(None, intro)]
    sections.append(("Per-class metrics", [
        ("table", (["class", "precision", "recall", "F1", "support"],
                   _metric_rows(report, names)))]))
    sections.append(("Confusion matrix", [
        ("text", "Rows are the true labels, columns the predicted ones."),
        ("image", (os.path.basename(files["confusion_matrix"]), "Confusion matrix"))]))
    if "learning_curves" in files:
        sections.append(("Learning curves", [
            ("text", curves_text),
            ("image", (os.path.basename(files["learning_curves"]), "Learning curves"))]))
    if "misclassified" in files:
        sections.append(("Misclassified images", [
            ("text", f"The {n_shown} most confident mistakes of {errors}; each is titled "
                     "with the predicted label (and its probability) and the true label."),
            ("image", (os.path.basename(files["misclassified"]), "Misclassified images"))]))
    elif errors == 0:
        sections.append(("Misclassified images", [("text", "None: every image is correct.")]))
    sections.append(("Files", [("links", [("metrics.json", "metrics.json"),
                                          ("report.html", "report.html"),
                                          ("report.md", "report.md")])]))
    return sections


def _to_markdown(title, sections):
    out = [f"# {title}", ""]
    for heading, blocks in sections:
        if heading:
            out += [f"## {heading}", ""]
        for kind, value in blocks:
            if kind == "text":
                out.append(value)
            elif kind == "strong":
                out.append(f"**{value}**")
            elif kind == "table":
                out.append(_markdown_table(*value))
            elif kind == "image":
                out.append(f"![{value[1]}]({value[0]})")
            elif kind == "links":
                out.append(" · ".join(f"[{text}]({href})" for text, href in value))
            out.append("")
    return "\n".join(out)


_CSS = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "color:#222}table{border-collapse:collapse}td,th{padding:.25rem .75rem;"
        "border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child"
        "{text-align:left}img{max-width:100%;height:auto}")


def _to_html(title, sections):
    esc = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{esc(title)}</h1>"]
    for heading, blocks in sections:
        if heading:
            out.append(f"<h2>{esc(heading)}</h2>")
        for kind, value in blocks:
            if kind == "text":
                text = esc(value)
                while "`" in text and text.count("`") >= 2:
                    text = text.replace("`", "<code>", 1).replace("`", "</code>", 1)
                out.append(f"<p>{text}</p>")
            elif kind == "strong":
                out.append(f"<p><strong>{esc(value)}</strong></p>")
            elif kind == "table":
                header, rows = value
                out.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header)
                           + "</tr></thead><tbody>")
                for row in rows:
                    cells = [esc(c.strip("*")) for c in row]
                    if row[0].startswith("*"):
                        cells[0] = f"<em>{cells[0]}</em>"
                    out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
                out.append("</tbody></table>")
            elif kind == "image":
                out.append(f'<p><img src="{esc(value[0])}" alt="{esc(value[1])}"></p>')
            elif kind == "links":
                out.append("<p>" + " · ".join(f'<a href="{esc(href)}">{esc(text)}</a>'
                                               for text, href in value) + "</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
