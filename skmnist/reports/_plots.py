"""The report's figures: confusion matrix, learning curves, misclassified images.

Figures are built as :class:`matplotlib.figure.Figure` objects, never through
``pyplot``'s global state, so nothing is shown on screen, no figure leaks
between calls, and the user's backend is left alone: ``Figure.savefig``
renders PNG files with the Agg renderer whatever backend is active.
"""

import math
import textwrap

import numpy as np

# Scalar per-epoch keys of a skorch history worth plotting, with their style.
_LOSS_KEYS = (("train_loss", "training loss", "-"), ("valid_loss", "validation loss", "--"))
_ACC_KEYS = (("train_acc", "training accuracy", "-"), ("valid_acc", "validation accuracy", "--"))


def _figure(**kwargs):
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        raise ImportError(
            "skmnist's reports need matplotlib: pip install matplotlib") from None
    return Figure(layout="constrained", **kwargs)


def _label_text(label, target_names, classes):
    """The display name of ``label``: its entry in ``target_names`` if given."""
    if target_names is None:
        return str(label)
    index = np.flatnonzero(np.asarray(classes) == label)
    return str(target_names[index[0]]) if index.size else str(label)


def _history_rows(history):
    """Per-epoch dicts from a skorch History, a list of dicts, or an estimator."""
    if history is None:
        return []
    if hasattr(history, "history_"):
        history = history.history_
    if hasattr(history, "to_list"):
        history = history.to_list()
    if not isinstance(history, (list, tuple)):
        return []
    return [row for row in history if isinstance(row, dict)]


def plot_learning_curves(history, *, title="Learning curves"):
    """Plot the losses (and accuracies) recorded per epoch during training.

    Parameters
    ----------
    history : skorch.history.History, list of dict or fitted estimator
        The training history: an estimator's ``history_``, the estimator
        itself, or a list of per-epoch dicts. The keys ``train_loss``,
        ``valid_loss``, ``train_acc`` and ``valid_acc`` are plotted when
        present; the others are ignored.
    title : str, default="Learning curves"
        The figure's title.

    Returns
    -------
    figure : matplotlib.figure.Figure or None
        One panel for the losses, and a second for the accuracies when the
        history holds any; None when there is nothing to plot.

    See Also
    --------
    write_report : Writes this figure with the rest of the report.

    Examples
    --------
    >>> from skmnist.reports import plot_learning_curves
    >>> fig = plot_learning_curves([{"epoch": 1, "train_loss": 0.9},
    ...                             {"epoch": 2, "train_loss": 0.5}])
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['loss']
    """
    rows = _history_rows(history)

    def series(key):
        points = [(row.get("epoch", i + 1), row[key]) for i, row in enumerate(rows)
                  if isinstance(row.get(key), (int, float)) and math.isfinite(row[key])]
        return tuple(zip(*points)) if points else None

    panels = [(keys, ylabel) for keys, ylabel in ((_LOSS_KEYS, "loss"), (_ACC_KEYS, "accuracy"))
              if any(series(key) for key, _, _ in keys)]
    if not panels:
        return None
    from matplotlib.ticker import MaxNLocator

    fig = _figure(figsize=(4.8 * len(panels), 3.6))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (keys, ylabel) in zip(axes, panels):
        for key, label, style in keys:
            points = series(key)
            if points:
                ax.plot(*points, style, marker="o" if len(points[0]) <= 40 else None,
                        markersize=4, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        epochs = [e for key, _, _ in keys if series(key) for e in series(key)[0]]
        first, last = min(epochs), max(epochs)
        if last - first < 12:  # a tick per epoch; a single epoch gets a sensible range
            ax.set_xticks(range(int(first), int(last) + 1))
            ax.set_xlim(first - 0.5 if last == first else None,
                        last + 0.5 if last == first else None)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    fig.suptitle(title)
    return fig


def plot_confusion_matrix(y_true, y_pred, *, labels, target_names=None, title=None):
    """Plot a confusion matrix with :class:`sklearn.metrics.ConfusionMatrixDisplay`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like of shape (n_classes,)
        The classes, in the order of the matrix's rows and columns.
    target_names : sequence of str, default=None
        Display names of ``labels``, in the same order.
    title : str, default=None
        The axes title.

    Returns
    -------
    display : sklearn.metrics.ConfusionMatrixDisplay
        The display; its figure is ``display.figure_``.

    Examples
    --------
    >>> from skmnist.reports import plot_confusion_matrix
    >>> disp = plot_confusion_matrix([0, 1, 1], [0, 1, 0], labels=[0, 1])
    >>> disp.confusion_matrix.tolist()
    [[1, 0], [1, 1]]
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    labels = list(labels)
    n = len(labels)
    names = [str(name) for name in (target_names if target_names is not None else labels)]
    side = min(14.0, max(4.8, 0.5 * n + 2.5))
    fig = _figure(figsize=(side + 1.0, side))
    ax = fig.add_subplot()
    display = ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=labels, display_labels=names, ax=ax, cmap="Blues",
        colorbar=True, include_values=n <= 30, values_format="d",
        xticks_rotation="vertical" if max(map(len, names), default=0) > 3 else "horizontal",
        text_kw={"fontsize": 9 if n <= 12 else 7},
    )
    if title:
        ax.set_title(title)
    return display


def _display_images(X, input_shape):
    """Images to draw, ``(n, h, w)`` or ``(n, h, w, 3)``, each scaled to [0, 1]."""
    c, h, w = input_shape
    X = np.asarray(X, dtype=np.float64).reshape(len(X), c, h, w)
    if c == 1:
        images = X[:, 0]
    elif c == 3:
        images = X.transpose(0, 2, 3, 1)
    else:
        images = X.mean(axis=1)
    axes = tuple(range(1, images.ndim))
    low = images.min(axis=axes, keepdims=True)
    high = images.max(axis=axes, keepdims=True)
    # uint8-like data keeps its absolute scale; other data is stretched per image.
    if low.min() >= 0 and high.max() > 1.0 and high.max() <= 255:
        return images / 255.0
    return (images - low) / np.where(high > low, high - low, 1.0)


def plot_misclassified(images, y_true, y_pred, *, input_shape, confidence=None,
                       target_names=None, classes=None, max_images=25, title=None):
    """Draw a grid of misclassified images titled with their predicted and true labels.

    Parameters
    ----------
    images : array-like of shape (n_errors, n_features) or image arrays
        The misclassified images, flat or not, in the order to draw them.
    y_true : array-like of shape (n_errors,)
        Their true labels.
    y_pred : array-like of shape (n_errors,)
        The labels predicted for them.
    input_shape : tuple of int
        ``(channels, height, width)`` of one image (an estimator's
        ``input_shape_``); 1 channel is drawn dark on light, 3 as RGB.
    confidence : array-like of shape (n_errors,), default=None
        The predicted class' probability, shown next to the prediction.
    target_names : sequence of str, default=None
        Display names for ``classes``, in the same order.
    classes : array-like, default=None
        The classes that ``target_names`` names.
    max_images : int, default=25
        Draw at most this many images (the first ones), five per row.
    title : str, default=None
        The figure's title.

    Returns
    -------
    figure : matplotlib.figure.Figure or None
        The grid, or None when there are no images.

    Examples
    --------
    >>> import numpy as np
    >>> from skmnist.reports import plot_misclassified
    >>> fig = plot_misclassified(np.zeros((3, 64)), [1, 2, 3], [7, 7, 7],
    ...                          input_shape=(1, 8, 8))
    >>> len(fig.axes), fig.axes[0].get_title()
    (3, 'pred 7\\ntrue 1')
    """
    n = min(len(y_true), max_images)
    if n == 0:
        return None
    cols = min(5, n)
    rows = math.ceil(n / cols)
    pictures = _display_images(np.asarray(images)[:n], input_shape)
    fig = _figure(figsize=(1.75 * cols, 2.05 * rows + (0.45 if title else 0)))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k >= n:
            continue
        picture = pictures[k]
        if picture.ndim == 2:
            ax.imshow(picture, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        else:
            ax.imshow(picture, interpolation="nearest")
        pred = textwrap.shorten(_label_text(y_pred[k], target_names, classes), 14,
                                placeholder="…")
        true = textwrap.shorten(_label_text(y_true[k], target_names, classes), 14,
                                placeholder="…")
        if confidence is not None:
            pred = f"{pred} ({confidence[k]:.2f})"
        ax.set_title(f"pred {pred}\ntrue {true}", fontsize=9, color="firebrick")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
