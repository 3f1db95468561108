"""Safe persistence: save and load fitted skmnist models and Pipelines without pickle.

A saved model is one zip file of JSON metadata, the weights and the
optimizer state (read back with ``torch.load(weights_only=True)``, which
cannot run code) and a checksum; writes are atomic. The file format lives in
:mod:`skmnist._archive`; what an estimator saves, and how it is rebuilt, is
the estimator's own protocol (``_saved_state()`` and
``_from_saved_state()``, see :mod:`skmnist._base`), which checks a loaded
file as untrusted input (:mod:`skmnist._untrusted`). Fitted Pipelines are
stored by :mod:`skmnist._pipeline_io`: skmnist steps in the same formats,
scikit-learn steps with skops, audited. This module joins them for the
estimators of :data:`SAVEABLE`.
"""

import os

from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from . import _archive, _pipeline_io
from ._base import load_saved
from ._classifier import SkMNISTClassifier
from ._finetune import SkMNISTFineTuner

#: The estimator classes save and load know.
SAVEABLE = {cls.__name__: cls for cls in (SkMNISTClassifier, SkMNISTFineTuner)}

__all__ = ["load", "save"]


def save(estimator, path):
    """Save a fitted skmnist estimator, or a fitted Pipeline, to ``path`` without pickle.

    Parameters
    ----------
    estimator : SkMNISTClassifier, SkMNISTFineTuner, Pipeline or FrozenEstimator
        A fitted estimator whose parameters are plain values (a registered
        ``arch`` name, a named ``optimizer``, an int or None
        ``random_state``); or a fitted :class:`~sklearn.pipeline.Pipeline`
        (or :class:`~sklearn.frozen.FrozenEstimator`) whose steps are
        skmnist estimators, transformers of :mod:`skmnist.preprocessing`,
        nested Pipelines, ``"passthrough"``, or scikit-learn objects that
        :mod:`skops.io` can store (this needs ``skops``) and that hold no
        skmnist estimator.
    path : str or os.PathLike
        The file to write (conventionally ending in ``.skmnist``). An
        existing file is replaced atomically.

    Returns
    -------
    path : str
        The path written.

    Raises
    ------
    ValueError
        If the estimator is not fitted, has a parameter the format cannot
        hold, or is a pipeline with a step that cannot be stored safely
        (the message names the step).

    See Also
    --------
    load : Read the file back.

    Notes
    -----
    The write goes to a temporary file in the same directory which is then
    renamed over ``path``: readers see either the old file or the new one,
    never a partial file. Weights are moved to the CPU before saving, so a
    model trained on a GPU loads on a CPU-only machine. A Pipeline's
    ``memory`` (a cache on this machine) is not stored.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import skmnist
    >>> X, y = np.random.RandomState(0).rand(40, 64), np.arange(40) % 2
    >>> clf = skmnist.SkMNISTClassifier(max_epochs=1, device="cpu", random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skmnist")
    >>> _ = skmnist.save(clf, path)
    >>> bool((skmnist.load(path).predict_proba(X) == clf.predict_proba(X)).all())
    True

    A Pipeline of skmnist steps:

    >>> from sklearn.pipeline import make_pipeline
    >>> from skmnist.preprocessing import ImageReshaper, PixelScaler
    >>> pipe = make_pipeline(PixelScaler(max_value=1), ImageReshaper(),
    ...                      skmnist.SkMNISTClassifier(max_epochs=1, device="cpu",
    ...                                                random_state=0)).fit(X, y)
    >>> _ = skmnist.save(pipe, path)
    >>> bool((skmnist.load(path).predict(X) == pipe.predict(X)).all())
    True
    """
    if type(estimator) in (Pipeline, FrozenEstimator):
        return _archive.write_zip(
            path, _pipeline_io.pipeline_members(estimator, SAVEABLE.values()))
    cls_name = type(estimator).__name__
    if cls_name not in SAVEABLE or not isinstance(estimator, SAVEABLE[cls_name]):
        raise ValueError(
            f"save() takes a fitted skmnist estimator ({', '.join(SAVEABLE)}) or a fitted "
            f"Pipeline, got {cls_name}. Save a search's best_estimator_, or save other "
            "objects with joblib.dump (trusted files only).")
    if not hasattr(estimator, "net_"):
        raise ValueError(f"This {cls_name} is not fitted yet; call fit before save.")
    return _archive.write(path, **estimator._saved_state())


def _check_trusted(trusted):
    if trusted is None:
        return ()
    if isinstance(trusted, str) or not all(isinstance(t, str) for t in trusted):
        raise ValueError(
            f"trusted must be None or a list of type names (as skops.io.get_untrusted_types "
            f"reports them), got {trusted!r:.80}.")
    return tuple(trusted)


def load(path, *, device="auto", trusted=None):
    """Load a model or Pipeline saved with :func:`save`.

    The file is treated as untrusted input: loading runs no code from it,
    checks every parameter and fitted attribute as ``fit`` checks its own,
    and bounds the memory it takes before inflating anything (see the user
    guide's *Threat model*).

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.
    device : str, default="auto"
        Where to put the model(s): ``"auto"`` (a CUDA GPU when present,
        else the CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. It also
        becomes each loaded estimator's ``device`` parameter: the saved
        one belongs to the machine that trained the model.
    trusted : list of str, default=None
        For a pipeline with scikit-learn steps: type names, as
        :func:`skops.io.get_untrusted_types` reports them, to load besides
        those skops trusts by default (for instance a custom function in a
        ``FunctionTransformer``). Only name types you trust the file's
        author with: loading them can run code. Types of skorch, torch and
        the skmnist estimators are never loaded from a scikit-learn step.

    Returns
    -------
    estimator : SkMNISTClassifier, SkMNISTFineTuner, Pipeline or FrozenEstimator
        The fitted object, predicting exactly as when it was saved. Settings
        of the machine that saved it are not kept: ``checkpoint_dir`` is
        None, ``resume`` False, ``n_jobs`` None, a fine-tuner's
        ``pretrained`` None.

    Raises
    ------
    ValueError
        If the file is truncated, damaged, edited into something ``fit``
        would refuse, too large for what it describes, of another format
        or version, or (a pipeline) holds types that are not trusted. The
        message names the file, and the step of a pipeline.

    See Also
    --------
    save : Write the file.

    Examples
    --------
    >>> import skmnist
    >>> clf = skmnist.load("model.skmnist")  # doctest: +SKIP
    """
    trusted = _check_trusted(trusted)
    source = os.fspath(path)
    if not os.path.exists(source):
        raise FileNotFoundError(f"No saved model at {source!r}.")
    with _archive.ZipReader(source, repr(source)) as archive:
        pipeline = _pipeline_io.is_pipeline_file(archive)
    if pipeline:
        return _pipeline_io.load_pipeline(source, SAVEABLE.values(), device=device,
                                          trusted=trusted)
    return load_saved(source, tuple(SAVEABLE.values()), device=device)
