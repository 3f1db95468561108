"""OnnxClassifier: predict with an exported model on ONNX Runtime, without torch.

This module imports numpy, scikit-learn, onnxruntime (when a model is
loaded) and :mod:`skmnist._shapes`, the library's one input check: a
service can run skmnist models with ``onnxruntime`` and ``numpy`` alone.
"""

import numbers
import os
import threading
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .._shapes import validate_pixels
from ._metadata import METADATA_KEY, decode_classes, loads, onnx_labels
from ._optional import require

_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Loaded:
    """A loaded model: the session and what its metadata says."""

    key: tuple
    session: object
    metadata: dict
    classes: np.ndarray
    label_order: np.ndarray  # argsort of the graph's label values
    label_values: np.ndarray  # the graph's label values, sorted
    input_name: str
    sample_shape: tuple  # per-sample shape of the graph input (X is reshaped to it)
    outputs: tuple  # (label output, probabilities output)


def _check_params(estimator):
    if not isinstance(estimator.path, (str, os.PathLike)):
        raise TypeError(f"path must be the path of an .onnx file, got {estimator.path!r}.")
    if estimator.n_jobs is not None and not (
            isinstance(estimator.n_jobs, numbers.Integral) and not isinstance(
                estimator.n_jobs, bool) and (estimator.n_jobs >= 1 or estimator.n_jobs == -1)):
        raise ValueError(f"n_jobs must be None, -1 or an int >= 1, got {estimator.n_jobs!r}.")
    if not (isinstance(estimator.batch_size, numbers.Integral)
            and not isinstance(estimator.batch_size, bool) and estimator.batch_size >= 1):
        raise ValueError(f"batch_size must be an int >= 1, got {estimator.batch_size!r}.")
    if estimator.providers is not None and (
            isinstance(estimator.providers, str) or not all(
                isinstance(p, (str, tuple)) for p in estimator.providers)):
        raise ValueError(
            "providers must be None or a list of ONNX Runtime execution providers such as "
            f"['CPUExecutionProvider'], got {estimator.providers!r}.")


def _load(estimator, key):
    ort = require("onnxruntime", "OnnxClassifier")
    path = os.fspath(estimator.path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"OnnxClassifier: no such model file: {path!r}.")
    options = ort.SessionOptions()
    if estimator.n_jobs is not None:
        options.intra_op_num_threads = 0 if estimator.n_jobs == -1 else int(estimator.n_jobs)
    providers = (list(estimator.providers) if estimator.providers is not None
                 else ["CPUExecutionProvider"])
    try:
        session = ort.InferenceSession(path, options, providers=providers)
    except Exception as exc:  # ONNX Runtime's own exception types
        raise ValueError(
            f"{path!r} is not an ONNX model ONNX Runtime can load: {exc}") from None
    text = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    if text is None:
        raise ValueError(
            f"{path!r} was not written by skmnist.export_onnx: it has no {METADATA_KEY!r} "
            "metadata entry (class labels, input shape). Export the model with "
            "skmnist.export_onnx, or run other ONNX models with onnxruntime directly.")
    metadata = loads(text, path)
    classes = decode_classes(metadata["classes"])
    values = onnx_labels(classes)
    order = np.argsort(values, kind="stable")
    layout = metadata.get("graph_input_shape") or [int(metadata["n_features_in"])]
    return _Loaded(
        key=key, session=session, metadata=metadata, classes=classes, label_order=order,
        label_values=values[order], input_name=session.get_inputs()[0].name,
        sample_shape=tuple(int(s) for s in layout),
        outputs=(metadata["label"], metadata["probabilities"]))


class OnnxClassifier(ClassifierMixin, BaseEstimator):
    """A predict-only classifier over an ONNX model written by :func:`skmnist.export_onnx`.

    It runs on ONNX Runtime and imports neither torch nor skorch, so a
    service can deploy a skmnist model with ``onnxruntime``, ``numpy`` and
    ``scikit-learn``. It is a fitted scikit-learn classifier from the start
    (``classes_``, ``predict``, ``predict_proba``, ``score``): it can go
    wherever scikit-learn takes a fitted classifier, for instance
    :class:`~sklearn.metrics.ConfusionMatrixDisplay` or a
    :class:`~sklearn.frozen.FrozenEstimator` inside
    :class:`~sklearn.calibration.CalibratedClassifierCV`. The model file is
    read when first used.

    Parameters
    ----------
    path : str or path-like
        An ``.onnx`` file written by :func:`skmnist.export_onnx`.
    providers : list of str, default=None
        ONNX Runtime execution providers, in order of preference; None is
        ``["CPUExecutionProvider"]``.
    n_jobs : int, default=None
        Threads of ONNX Runtime's operators (``intra_op_num_threads``); None
        and -1 use ONNX Runtime's default, one per physical core.
    batch_size : int, default=512
        Rows per ONNX Runtime call: bounds the memory of a large prediction
        without changing its results beyond float rounding.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels of the exported estimator.
    n_features_in_ : int
        Values per sample the model takes (flat rows, or images holding as
        many values).
    input_shape_ : tuple of int or None
        ``(channels, height, width)`` of one input image, ``(1, 1,
        n_features)`` for tabular input as in the skmnist estimators; None
        when the file does not say (a pipeline that starts with a
        scikit-learn step).
    input_mean_ : ndarray or None
        The exported skmnist estimator's ``input_mean_``, which tells the
        pixel range it was trained on (None for pipelines and unscaled
        models).
    metadata_ : dict
        Everything the file's ``"skmnist"`` metadata entry holds.

    See Also
    --------
    skmnist.export_onnx : Write the ``.onnx`` file this class reads.

    Notes
    -----
    ``fit`` does not train: it reads the model file again (after it was
    replaced, say) and returns the estimator. Pickling keeps the path only;
    the file is read again on first use after unpickling.

    Examples
    --------
    >>> import os, tempfile
    >>> from skmnist import OnnxClassifier, SkMNISTClassifier, export_onnx
    >>> from skmnist.datasets import load_mnist_sample
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = SkMNISTClassifier(arch="mlp", max_epochs=1, device="cpu", random_state=0)
    >>> clf = clf.fit(X[::10], y[::10])
    >>> path = export_onnx(clf, os.path.join(tempfile.mkdtemp(), "model.onnx"))
    >>> onnx_clf = OnnxClassifier(path)
    >>> onnx_clf.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> bool((onnx_clf.predict(X[:100]) == clf.predict(X[:100])).all())
    True
    >>> bool(abs(onnx_clf.predict_proba(X[:100]) - clf.predict_proba(X[:100])).max() < 1e-4)
    True
    """

    def __init__(self, path, *, providers=None, n_jobs=None, batch_size=512):
        self.path = path
        self.providers = providers
        self.n_jobs = n_jobs
        self.batch_size = batch_size

    # ------------------------------------------------------------- sklearn
    def __sklearn_is_fitted__(self):
        return True  # an exported model is fitted by construction

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.three_d_array = True
        return tags

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_model", None)  # an InferenceSession cannot be pickled
        return state

    def fit(self, X=None, y=None):
        """Read the model file (again); nothing is trained.

        Parameters
        ----------
        X : None
            Ignored.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The classifier, with the model read from ``path``.
        """
        self.__dict__.pop("_model", None)
        self._loaded()
        return self

    # ------------------------------------------------------ the loaded model
    def _loaded(self):
        _check_params(self)
        key = (os.fspath(self.path), None if self.providers is None else tuple(self.providers),
               self.n_jobs)
        model = self.__dict__.get("_model")
        if model is None or model.key != key:
            with _LOAD_LOCK:
                model = self.__dict__.get("_model")
                if model is None or model.key != key:
                    model = _load(self, key)
                    self._model = model
        return model

    @property
    def classes_(self):
        """The class labels, in the order of ``predict_proba``'s columns."""
        return self._loaded().classes

    @property
    def n_features_in_(self):
        """Values per sample."""
        return int(self._loaded().metadata["n_features_in"])

    @property
    def input_shape_(self):
        """``(channels, height, width)`` of an input image, or None."""
        shape = self._loaded().metadata.get("input_shape")
        return None if shape is None else tuple(int(s) for s in shape)

    @property
    def input_mean_(self):
        """The exported estimator's ``input_mean_`` (None for pipelines)."""
        mean = self._loaded().metadata.get("input_mean")
        return None if mean is None else np.asarray(mean, dtype=np.float32)

    @property
    def metadata_(self):
        """The file's ``"skmnist"`` metadata entry."""
        return dict(self._loaded().metadata)

    # ------------------------------------------------------------ predicting
    def _run(self, X):
        check_is_fitted(self)
        model = self._loaded()
        X = validate_pixels(self, X, reset=False, fitted_shape=self.input_shape_)
        X = np.asarray(X, dtype=np.float32).reshape((X.shape[0], *model.sample_shape))
        labels, probas = [], []
        for start in range(0, X.shape[0], self.batch_size):
            chunk = np.ascontiguousarray(X[start:start + self.batch_size])
            label, proba = model.session.run(list(model.outputs), {model.input_name: chunk})
            labels.append(np.asarray(label).ravel())
            probas.append(np.asarray(proba))
        return model, np.concatenate(labels), np.concatenate(probas)

    def predict_proba(self, X):
        """Class probabilities for X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, height, width) \
                or (n_samples, channels, height, width)
            Raw values, flat or as images, as the exported estimator's
            ``predict`` takes them.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float32
            Probabilities in the order of ``classes_``.
        """
        return self._run(X)[2]

    def predict(self, X):
        """Predict class labels for X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image arrays
            Raw values, as for :meth:`predict_proba`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_`` (the graph's label output).
        """
        model, labels, _ = self._run(X)
        if model.label_values.dtype.kind == "U":
            labels = labels.astype(str)
        pos = np.searchsorted(model.label_values, labels)
        pos = np.clip(pos, 0, len(model.label_values) - 1)
        if not np.array_equal(model.label_values[pos], labels):
            raise ValueError(
                f"{os.fspath(self.path)!r} returned labels that are not among its classes_; "
                "the file's graph and metadata disagree: export the model again.")
        return model.classes[model.label_order[pos]]
