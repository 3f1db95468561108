"""The saved-model file: a zip of JSON metadata and tensor archives, with a checksum.

This module knows zip files, JSON and tensors, not estimators: what an
estimator saves and how it is rebuilt is the estimator's own business (its
``_saved_state`` / ``_from_saved_state`` protocol, see :mod:`skmnist._base`).

A file holds

* ``metadata.json``: the format, the estimator's class name, its parameters,
  its fitted attributes, its training history and the versions of the
  libraries that wrote it;
* ``weights.pt``: the module's ``state_dict``, read back with
  ``torch.load(weights_only=True)``, which cannot run code;
* ``optimizer.pt``: the optimizer state, so training can continue;
* ``SHA256``: a checksum over the three files above, against accidental
  corruption.

Writes go to a temporary file in the target directory which is then renamed
into place, so a crash never leaves a half-written model behind.
"""

import hashlib
import io
import json
import os
import tempfile
import zipfile

import numpy as np
import torch

FORMAT = "skmnist-model"
FORMAT_VERSION = 1
MEMBERS = ("metadata.json", "weights.pt", "optimizer.pt")


# ---------------------------------------------------------------- JSON values
def encode(kind, value):
    """A fitted attribute as JSON: ``kind`` is "labels", "array", "tuple", or plain."""
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


def decode(kind, value):
    """The inverse of :func:`encode`."""
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


def library_versions():
    """The versions written into every file."""
    import sklearn
    import skorch

    from ._version import __version__

    return {"skmnist": __version__, "torch": torch.__version__,
            "skorch": skorch.__version__, "scikit-learn": sklearn.__version__,
            "numpy": np.__version__}


# ---------------------------------------------------------------- the file
def _tensor_bytes(obj):
    """``torch.save`` of tensors moved to the CPU (a GPU model loads anywhere)."""
    obj = torch.utils._pytree.tree_map(
        lambda t: t.detach().cpu() if isinstance(t, torch.Tensor) else t, obj)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _checksum(blobs):
    digest = hashlib.sha256()
    for name in MEMBERS:
        digest.update(name.encode())
        digest.update(len(blobs[name]).to_bytes(8, "little"))
        digest.update(blobs[name])
    return digest.hexdigest()


def write(path, metadata, weights, optimizer):
    """Write a model file atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; an existing file is replaced atomically.
    metadata : dict
        JSON-serialisable metadata; ``format`` and ``format_version`` are added.
    weights, optimizer : dict
        ``state_dict()`` of the module and of the optimizer.

    Returns
    -------
    path : str
    """
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata}
    blobs = {
        "metadata.json": json.dumps(metadata, indent=1, sort_keys=True).encode(),
        "weights.pt": _tensor_bytes(weights),
        "optimizer.pt": _tensor_bytes(optimizer),
    }
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"Cannot save to {path!r}: the directory {directory!r} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=".skmnist-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name in MEMBERS:
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


def _read_blobs(path):
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [n for n in (*MEMBERS, "SHA256") if n not in names]
            if missing:
                raise ValueError(
                    f"{path!r} is not a complete skmnist model: it lacks {missing}.")
            blobs = {name: archive.read(name) for name in MEMBERS}
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


def read_metadata(path):
    """Check a model file and return ``(metadata, blobs)``; tensors are not read yet."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No saved model at {path!r}.")
    blobs = _read_blobs(path)
    try:
        metadata = json.loads(blobs["metadata.json"])
    except ValueError:
        raise ValueError(f"{path!r} has unreadable metadata.") from None
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a skmnist model file (format {metadata.get('format')!r}).")
    if metadata.get("format_version") != FORMAT_VERSION:
        from ._version import __version__

        raise ValueError(
            f"{path!r} uses format version {metadata.get('format_version')}, but this skmnist "
            f"({__version__}) reads version {FORMAT_VERSION}.")
    return metadata, blobs


def read_tensors(blob, device):
    """A ``weights.pt`` / ``optimizer.pt`` member, loaded with ``weights_only=True``."""
    return torch.load(io.BytesIO(blob), map_location=device, weights_only=True)
