"""Safe persistence: save and load fitted skmnist estimators without pickle.

A saved model is one zip file of JSON metadata, the weights and the
optimizer state (read back with ``torch.load(weights_only=True)``, which
cannot run code) and a checksum; writes are atomic. The file format lives in
:mod:`skmnist._archive`; what an estimator saves, and how it is rebuilt, is
the estimator's own protocol (``_saved_state()`` and
``_from_saved_state()``, see :mod:`skmnist._base`). This module joins the
two for the estimators of :data:`SAVEABLE`.
"""

import os

from . import _archive
from ._base import load_saved
from ._classifier import SkMNISTClassifier
from ._finetune import SkMNISTFineTuner

#: The estimator classes save and load know.
SAVEABLE = {cls.__name__: cls for cls in (SkMNISTClassifier, SkMNISTFineTuner)}

__all__ = ["load", "save"]


def save(estimator, path):
    """Save a fitted skmnist estimator to ``path`` without pickle.

    Parameters
    ----------
    estimator : SkMNISTClassifier or SkMNISTFineTuner
        A fitted estimator whose parameters are plain values (a registered
        ``arch`` name, a named ``optimizer``, an int or None ``random_state``).
    path : str or os.PathLike
        The file to write (conventionally ending in ``.skmnist``). An
        existing file is replaced atomically.

    Returns
    -------
    path : str
        The path written.

    See Also
    --------
    load : Read the file back.

    Notes
    -----
    The write goes to a temporary file in the same directory which is then
    renamed over ``path``: readers see either the old file or the new one,
    never a partial file. Weights are moved to the CPU before saving, so a
    model trained on a GPU loads on a CPU-only machine.

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
    """
    cls_name = type(estimator).__name__
    if cls_name not in SAVEABLE or not isinstance(estimator, SAVEABLE[cls_name]):
        raise ValueError(
            f"save() takes a fitted skmnist estimator ({', '.join(SAVEABLE)}), got "
            f"{cls_name}. Save Pipelines and searches with joblib.dump (trusted files only)."
        )
    if not hasattr(estimator, "net_"):
        raise ValueError(f"This {cls_name} is not fitted yet; call fit before save.")
    return _archive.write(path, **estimator._saved_state())


def load(path, *, device="auto"):
    """Load an estimator saved with :func:`save`.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.
    device : str, default="auto"
        Where to put the model: ``"auto"`` (a CUDA GPU when present, else
        the CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns
    -------
    estimator : SkMNISTClassifier or SkMNISTFineTuner
        The fitted estimator, predicting exactly as when it was saved.

    Raises
    ------
    ValueError
        If the file is truncated, tampered with, of another format, or was
        written by an incompatible version.

    See Also
    --------
    save : Write the file.

    Examples
    --------
    >>> import skmnist
    >>> clf = skmnist.load("model.skmnist")  # doctest: +SKIP
    """
    return load_saved(os.fspath(path), tuple(SAVEABLE.values()), device=device)
