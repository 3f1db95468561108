"""Safe persistence: save and load fitted skmnist estimators without pickle.

A saved model is one zip file holding

* ``metadata.json``: the estimator class, its parameters, its fitted
  attributes (``classes_``, input shape, scaling statistics, history) and
  the versions of the libraries that wrote it;
* ``weights.pt``: the module's ``state_dict``, read back with
  ``torch.load(weights_only=True)``, which cannot run code;
* ``optimizer.pt``: the optimizer state, so training can continue;
* ``SHA256``: a checksum over the three files above.

Files are written to a temporary file in the target directory and renamed
into place, so a crash never leaves a half-written model behind.
"""

import hashlib
import io
import json
import numbers
import os
import tempfile
import zipfile

import numpy as np
import sklearn
import skorch
import torch

from . import __version__
from ._classifier import SkMNISTClassifier
from ._engine import resolve_device
from ._finetune import SkMNISTFineTuner

__all__ = ["load", "save"]

FORMAT = "skmnist-model"
FORMAT_VERSION = 1
_MEMBERS = ("metadata.json", "weights.pt", "optimizer.pt")
_TUPLE_PARAMS = ("hidden_units", "channels", "image_shape")
_ESTIMATORS = {"SkMNISTClassifier": SkMNISTClassifier, "SkMNISTFineTuner": SkMNISTFineTuner}
# Fitted state written to JSON: name -> kind.
_FITTED = {
    "classes_": "labels",
    "n_features_in_": "int",
    "feature_names_in_": "labels",
    "input_shape_": "tuple",
    "arch_": "str",
    "input_mean_": "array",
    "input_std_": "array",
    "n_iter_": "int",
    "interrupted_": "json",
    "_input_kind": "str",
    "_seed": "int",
    "_run_epochs": "int",
    # SkMNISTFineTuner
    "model_input_shape_": "tuple",
    "base_recipe_": "json",
    "pretrained_classes_": "labels",
    "head_replaced_": "json",
    "frozen_": "json",
}


def _json_param(name, value):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (tuple, list)):
        return [_json_param(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_param(f"{name}[{k!r}]", v) for k, v in value.items()}
    raise ValueError(
        f"Parameter {name}={value!r} cannot be stored in the safe format (only numbers, "
        "strings, booleans, None, lists and dicts can). Use a registered arch name and a "
        "named optimizer, or save with pickle/joblib (only for files you trust)."
    )


def _saveable_params(estimator):
    params = estimator.get_params(deep=False)
    if "pretrained" in params and not isinstance(params["pretrained"], (str, os.PathLike)):
        # The weights are in this file; a path is kept, an in-memory model is not.
        params["pretrained"] = None
    elif "pretrained" in params:
        params["pretrained"] = os.fspath(params["pretrained"])
    if params.get("checkpoint_dir") is not None:
        params["checkpoint_dir"] = os.fspath(params["checkpoint_dir"])
    return {k: _json_param(k, v) for k, v in params.items()}


def check_saveable(estimator):
    """Raise ``ValueError`` if ``estimator``'s parameters cannot be saved safely.

    Parameters
    ----------
    estimator : SkMNISTClassifier or SkMNISTFineTuner
        The estimator to check (fitted or not).
    """
    _saveable_params(estimator)


def _encode(kind, value):
    if kind == "labels":
        arr = np.asarray(value)
        return {"dtype": arr.dtype.str if arr.dtype != object else "object",
                "values": arr.tolist()}
    if kind == "array":
        if value is None:
            return None
        arr = np.asarray(value)
        return {"dtype": arr.dtype.str, "shape": list(arr.shape), "values": arr.ravel().tolist()}
    if kind == "tuple":
        return list(value)
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    return value


def _decode(kind, value):
    if kind == "labels":
        dtype = object if value["dtype"] == "object" else np.dtype(value["dtype"])
        return np.asarray(value["values"], dtype=dtype)
    if kind == "array":
        if value is None:
            return None
        return np.asarray(value["values"], dtype=np.dtype(value["dtype"])).reshape(value["shape"])
    if kind == "tuple":
        return tuple(value)
    return value


def _to_bytes(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _checksum(blobs):
    digest = hashlib.sha256()
    for name in _MEMBERS:
        digest.update(name.encode())
        digest.update(len(blobs[name]).to_bytes(8, "little"))
        digest.update(blobs[name])
    return digest.hexdigest()


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
    if cls_name not in _ESTIMATORS or not isinstance(estimator, _ESTIMATORS[cls_name]):
        raise ValueError(
            f"save() takes a fitted skmnist estimator ({', '.join(_ESTIMATORS)}), got "
            f"{cls_name}. Save Pipelines and searches with joblib.dump (trusted files only)."
        )
    if not hasattr(estimator, "net_"):
        raise ValueError(f"This {cls_name} is not fitted yet; call fit before save.")
    params = _saveable_params(estimator)
    fitted = {name: _encode(kind, getattr(estimator, name))
              for name, kind in _FITTED.items() if hasattr(estimator, name)}
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": cls_name,
        "params": params,
        "fitted": fitted,
        "history": json.loads(json.dumps(estimator.history_.to_list(), default=float)),
        "versions": {"skmnist": __version__, "torch": torch.__version__,
                     "skorch": skorch.__version__, "scikit-learn": sklearn.__version__,
                     "numpy": np.__version__},
    }
    net = estimator.net_
    module = getattr(net.module_, "_orig_mod", net.module_)  # torch.compile's wrapper
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    optimizer_state = torch.utils._pytree.tree_map(
        lambda t: t.detach().cpu() if isinstance(t, torch.Tensor) else t,
        net.optimizer_.state_dict(),
    )
    blobs = {
        "metadata.json": json.dumps(metadata, indent=1, sort_keys=True).encode(),
        "weights.pt": _to_bytes(state),
        "optimizer.pt": _to_bytes(optimizer_state),
    }
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"Cannot save to {path!r}: the directory {directory!r} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=".skmnist-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name in _MEMBERS:
                    archive.writestr(name, blobs[name])
                archive.writestr("SHA256", _checksum(blobs))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _read_archive(path):
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [n for n in (*_MEMBERS, "SHA256") if n not in names]
            if missing:
                raise ValueError(
                    f"{path!r} is not a complete skmnist model: it lacks {missing}.")
            blobs = {name: archive.read(name) for name in _MEMBERS}
            checksum = archive.read("SHA256").decode("ascii", "replace").strip()
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, OSError) as exc:
        raise ValueError(
            f"{path!r} is not a readable skmnist model (truncated or not a model file: {exc})."
        ) from None
    if _checksum(blobs) != checksum:
        raise ValueError(
            f"{path!r} failed its checksum: the file was modified or corrupted after it was "
            "saved. Refusing to load it.")
    return blobs


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
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No saved model at {path!r}.")
    blobs = _read_archive(path)
    try:
        metadata = json.loads(blobs["metadata.json"])
    except ValueError:
        raise ValueError(f"{path!r} has unreadable metadata.") from None
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a skmnist model file (format {metadata.get('format')!r}).")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path!r} uses format version {metadata.get('format_version')}, but this skmnist "
            f"({__version__}) reads version {FORMAT_VERSION}.")
    cls = _ESTIMATORS.get(metadata.get("class"))
    if cls is None:
        raise ValueError(f"{path!r} holds an unknown estimator class {metadata.get('class')!r}.")
    params = dict(metadata["params"])
    for key in _TUPLE_PARAMS:
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key])
    estimator = cls(**params)
    for name, kind in _FITTED.items():
        if name in metadata["fitted"]:
            setattr(estimator, name, _decode(kind, metadata["fitted"][name]))
    estimator.interrupted_ = bool(getattr(estimator, "interrupted_", False))
    target = resolve_device(device)
    with torch.random.fork_rng(devices=[]):
        estimator._build_net(target)
    try:
        state = torch.load(io.BytesIO(blobs["weights.pt"]), map_location=target,
                           weights_only=True)
        getattr(estimator.net_.module_, "_orig_mod", estimator.net_.module_).load_state_dict(state)
        opt_state = torch.load(io.BytesIO(blobs["optimizer.pt"]), map_location=target,
                               weights_only=True)
        estimator.net_.optimizer_.load_state_dict(opt_state)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise ValueError(
            f"{path!r} does not match the architecture its metadata describes: {exc}") from None
    for row in metadata.get("history", []):
        estimator.net_.history.new_epoch()
        for key, value in row.items():
            if key != "batches":
                estimator.net_.history.record(key, value)
    estimator._best_loss = float("inf")
    estimator._no_improvement = 0
    return estimator
