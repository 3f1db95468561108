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

Reading treats the file as untrusted input (anyone who edits a file can
recompute its checksum). Nothing is decompressed before its size is known
to be sane: :func:`read_metadata` reads only the metadata (at most
:data:`MAX_METADATA_BYTES`) and returns the other members unread, as
:class:`Members`; the estimator checks the metadata, works out how large
its weights must be, and only then has :meth:`Members.read` inflate them,
never more than the sizes the zip directory declares. Only the zip methods
this module writes (stored, deflated) are accepted, and a tensor member
must be a tensor archive of stored records before ``torch.load`` sees it.
"""

import hashlib
import io
import json
import math
import os
import struct
import tempfile
import zipfile
import zlib

import numpy as np
import torch

FORMAT = "skmnist-model"
FORMAT_VERSION = 1
MEMBERS = ("metadata.json", "weights.pt", "optimizer.pt")
TENSOR_MEMBERS = ("weights.pt", "optimizer.pt")

#: The largest ``metadata.json`` read (parameters, fitted attributes, history).
MAX_METADATA_BYTES = 16 * 2**20
#: The largest tensor member written or read (the weights of a 500M-parameter model).
MAX_TENSOR_BYTES = 2 * 2**30
#: How much ``weights.pt`` may expand when inflated, once over :data:`EXPANSION_FLOOR`.
#: Trained weights barely compress (about 1.1x); a member that expands more is a
#: zip bomb, not a model. (The optimizer state may hold many zeros; it is bounded
#: by the size of the weights instead.)
MAX_EXPANSION = 32
EXPANSION_FLOOR = 2**20

_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
# What zipfile, zlib and struct raise on a malformed archive; anything else is a bug.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
               struct.error, zlib.error, NotImplementedError, RuntimeError, OverflowError)
_JSON_KINDS = ("labels", "array", "tuple", "int", "str", "json")
# numpy dtype kinds a saved array may have: booleans, integers, floats, strings.
_LABEL_KINDS = "biufU"
_ARRAY_KINDS = "biuf"


def _mib(n_bytes):
    return f"{n_bytes / 2**20:,.1f} MiB"


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
    if isinstance(value, np.floating):
        return float(value)
    return value


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _saved_dtype(text, kinds):
    """The numpy dtype a file names, if it is a plain one of ``kinds`` (else None)."""
    if not isinstance(text, str) or len(text) > 16:
        return None
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError, SyntaxError):
        return None
    if dtype.kind not in kinds or dtype.shape != () or dtype.fields is not None:
        return None
    return dtype


def decode(kind, value):
    """The inverse of :func:`encode`, checking the JSON value first.

    A file is untrusted input: every value is checked for the form
    :func:`encode` writes before numpy sees it (a plain dtype, a flat list
    of numbers or strings whose length matches the shape), so a malformed
    one raises a ``ValueError`` saying what is wrong, never numpy's error
    or a huge allocation.
    """
    if kind not in _JSON_KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if kind == "labels":
        if not isinstance(value, dict) or set(value) != {"dtype", "values"} \
                or not isinstance(value["values"], list):
            raise ValueError("expected {'dtype': ..., 'values': [...]}")
        values = value["values"]
        if not all(isinstance(v, (str, int, float)) for v in values):
            raise ValueError("labels must be strings or numbers")
        if value["dtype"] == "object":
            array = np.empty(len(values), dtype=object)
            array[:] = values
            return array
        dtype = _saved_dtype(value["dtype"], _LABEL_KINDS)
        if dtype is None:
            raise ValueError(f"unsupported dtype {value['dtype']!r}")
        if dtype.kind == "U":
            if not all(isinstance(v, str) for v in values):
                raise ValueError(f"{dtype.name} labels must be strings")
            longest = max((len(v) for v in values if isinstance(v, str)), default=0)
            if dtype.itemsize > 4 * max(longest, 1):
                raise ValueError(f"dtype {dtype.str} is wider than its labels")
        elif not all(_is_number(v) or (dtype.kind == "b" and isinstance(v, bool))
                     for v in values):
            raise ValueError(f"{dtype.name} labels must be numbers")
        try:
            return np.asarray(values, dtype=dtype)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"values do not fit dtype {dtype.str} ({exc})") from None
    if kind == "array":
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) != {"dtype", "shape", "values"}:
            raise ValueError("expected {'dtype': ..., 'shape': [...], 'values': [...]}")
        dtype = _saved_dtype(value["dtype"], _ARRAY_KINDS)
        if dtype is None:
            raise ValueError(f"unsupported dtype {value['dtype']!r}")
        shape, values = value["shape"], value["values"]
        if not isinstance(shape, list) or len(shape) > 8 or \
                not all(_is_int(s) and s >= 0 for s in shape):
            raise ValueError(f"bad shape {shape!r}")
        count = 1
        for s in shape:
            count *= s
        if not isinstance(values, list) or len(values) != count:
            raise ValueError(f"shape {shape} needs {count} values, got "
                             f"{len(values) if isinstance(values, list) else values!r}")
        if not all(_is_number(v) for v in values):
            raise ValueError("values must be numbers")
        try:
            array = np.asarray(values, dtype=dtype).reshape(shape)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"values do not fit dtype {dtype.str} ({exc})") from None
        if dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError("values must be finite (the file holds NaN or infinity)")
        return array
    if kind == "tuple":
        if not isinstance(value, list) or not all(
                _is_int(v) or (_is_number(v) and math.isfinite(v)) for v in value):
            raise ValueError(f"expected a list of finite numbers, got {value!r:.80}")
        return tuple(value)
    if kind == "int" and not _is_int(value):
        raise ValueError(f"expected an integer, got {value!r}")
    if kind == "str" and not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def library_versions():
    """The versions written into every file."""
    import sklearn
    import skorch

    from ._version import __version__

    return {"skmnist": __version__, "torch": torch.__version__,
            "skorch": skorch.__version__, "scikit-learn": sklearn.__version__,
            "numpy": np.__version__}


# ------------------------------------------------------------------ zip files
def write_zip(path, members):
    """Write a zip file atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; an existing file is replaced atomically.
    members : list of (name, bytes, compress_type)
        The members, in order.

    Returns
    -------
    path : str
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"Cannot save to {path!r}: the directory {directory!r} does not exist.")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".skmnist-", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w") as archive:
                for name, data, compress_type in members:
                    archive.writestr(name, data, compress_type=compress_type)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            # Name the file the user asked for, not the temporary file written first.
            reason = exc.strerror or str(exc) or type(exc).__name__
            if exc.errno is not None:
                raise type(exc)(exc.errno, f"Cannot save to {path!r}: {reason}") from exc
            raise type(exc)(f"Cannot save to {path!r}: {reason}") from exc
        raise
    return path


def zip_bytes(members):
    """The bytes of a zip file of ``members`` (as :func:`write_zip` takes them)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, compress_type in members:
            archive.writestr(name, data, compress_type=compress_type)
    return buffer.getvalue()


class ZipReader:
    """An untrusted zip file, opened: its directory checked, members read within limits.

    ``source`` is a path or the bytes of a zip file; ``label`` names it in
    every error. Use as a context manager.
    """

    def __init__(self, source, label):
        self.label = label
        try:
            if isinstance(source, (bytes, bytearray)):
                self._zip = zipfile.ZipFile(io.BytesIO(source))
            else:
                self._zip = zipfile.ZipFile(source)
            infos = self._zip.infolist()
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            raise
        except _ZIP_ERRORS as exc:
            raise ValueError(
                f"{label} is not a readable skmnist model file (truncated or not a model "
                f"file: {exc}).") from None
        self.infos = {}
        for info in infos:
            if info.filename in self.infos:
                self.close()
                raise ValueError(
                    f"{label} holds two members named {info.filename!r}; a file written by "
                    "skmnist.save never does. Refusing to load it.")
            self.infos[info.filename] = info

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._zip.close()

    def size(self, name):
        """The size ``name`` declares once inflated."""
        return self.infos[name].file_size

    def read(self, name, limit):
        """Member ``name``, inflating at most ``limit`` bytes (and what its header declares)."""
        info = self.infos.get(name)
        if info is None:
            raise ValueError(f"{self.label} lacks its member {name!r}; it is not a complete "
                             "skmnist file.")
        if info.compress_type not in _METHODS:
            raise ValueError(
                f"{self.label}: member {name!r} uses zip compression method "
                f"{info.compress_type}; skmnist writes only stored or deflated members. "
                "Refusing to load it.")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise ValueError(f"{self.label}: member {name!r} is stored uncompressed but "
                             "declares two sizes. Refusing to load it.")
        if info.flag_bits & 0x1:
            raise ValueError(f"{self.label}: member {name!r} is encrypted; skmnist files never "
                             "are. Refusing to load it.")
        if info.file_size > limit:
            raise ValueError(
                f"{self.label}: member {name!r} would inflate to {_mib(info.file_size)}, more "
                f"than the {_mib(limit)} it can legitimately hold. Refusing to load it (a "
                "zip bomb or an edited file).")
        ratio = info.file_size / max(info.compress_size, 1)
        if name == "weights.pt" and info.file_size > EXPANSION_FLOOR and ratio > MAX_EXPANSION:
            raise ValueError(
                f"{self.label}: member {name!r} would expand {ratio:,.0f}-fold (from "
                f"{_mib(info.compress_size)} to {_mib(info.file_size)}); trained weights "
                "compress by about 1.1x, so this is a zip bomb, not a model. Refusing to "
                "load it.")
        try:
            # zipfile inflates a member in steps of at most the size asked for and
            # stops at the size its header declares, checking the CRC there: a
            # stream that inflates to more than it declares is never held in memory.
            with self._zip.open(info) as f:
                data = f.read(info.file_size)
        except _ZIP_ERRORS as exc:
            raise ValueError(
                f"{self.label}: member {name!r} is corrupt ({exc or type(exc).__name__}); "
                "the file was truncated, damaged or edited.") from None
        if len(data) != info.file_size:
            raise ValueError(f"{self.label}: member {name!r} is truncated.")
        return data


# ---------------------------------------------------------------- the model file
def _tensor_bytes(obj):
    """``torch.save`` of tensors moved to the CPU (a GPU model loads anywhere)."""
    obj = torch.utils._pytree.tree_map(
        lambda t: t.detach().cpu() if isinstance(t, torch.Tensor) else t, obj)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _checksum(blobs, names=MEMBERS):
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode())
        digest.update(len(blobs[name]).to_bytes(8, "little"))
        digest.update(blobs[name])
    return digest.hexdigest()


def model_members(metadata, weights, optimizer):
    """The members of a model file (as :func:`write_zip` takes them).

    Raises ``ValueError`` for a model whose tensors are larger than
    :func:`read_metadata` accepts: a file that could not be loaded is never
    written.
    """
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata}
    blobs = {
        "metadata.json": json.dumps(metadata, indent=1, sort_keys=True).encode(),
        "weights.pt": _tensor_bytes(weights),
        "optimizer.pt": _tensor_bytes(optimizer),
    }
    for name in TENSOR_MEMBERS:
        if len(blobs[name]) > MAX_TENSOR_BYTES:
            raise ValueError(
                f"The model's {name} takes {_mib(len(blobs[name]))}, more than the safe "
                f"format holds ({_mib(MAX_TENSOR_BYTES)}); save it with pickle/joblib "
                "instead (trusted files only).")
    if len(blobs["metadata.json"]) > MAX_METADATA_BYTES:
        raise ValueError(
            f"The model's metadata takes {_mib(len(blobs['metadata.json']))}, more than the "
            f"safe format holds ({_mib(MAX_METADATA_BYTES)}).")
    members = [(name, blobs[name], zipfile.ZIP_DEFLATED) for name in MEMBERS]
    members.append(("SHA256", _checksum(blobs).encode(), zipfile.ZIP_DEFLATED))
    return members


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
    return write_zip(path, model_members(metadata, weights, optimizer))


def parse_json(data, label, member):
    """``json.loads`` of a member, any failure a ``ValueError`` naming it."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, nesting
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ValueError(f"{label} has unreadable {member} ({reason}).") from None


def _json_type(value):
    names = {dict: "object", list: "array", str: "string", bool: "boolean",
             type(None): "null", int: "number", float: "number"}
    return names.get(type(value), type(value).__name__)


def _check_structure(metadata, label):
    """The top level of the metadata: the keys every model file has, of the right types."""
    if not isinstance(metadata, dict):
        raise ValueError(
            f"{label} is not a skmnist model file: its metadata.json holds a JSON "
            f"{_json_type(metadata)}, not an object.")
    if metadata.get("format") != FORMAT:
        raise ValueError(
            f"{label} is not a skmnist model file (format {metadata.get('format')!r:.40}).")
    if metadata.get("format_version") != FORMAT_VERSION:
        from ._version import __version__

        raise ValueError(
            f"{label} uses format version {metadata.get('format_version')!r}, but this skmnist "
            f"({__version__}) reads version {FORMAT_VERSION}.")
    expected = {"class": str, "params": dict, "fitted": dict, "history": list}
    for key, kind in expected.items():
        if key not in metadata:
            raise ValueError(
                f"{label} has incomplete metadata: the key {key!r} is missing. The file was "
                "not written by skmnist.save, or was edited; refusing to load it.")
        if not isinstance(metadata[key], kind):
            raise ValueError(
                f"{label} has malformed metadata: {key!r} must be a JSON "
                f"{_json_type(kind())}, got a JSON {_json_type(metadata[key])}. Refusing to "
                "load it.")
    for i, row in enumerate(metadata["history"]):
        if not isinstance(row, dict):
            raise ValueError(
                f"{label} has a malformed training history: row {i} is a JSON "
                f"{_json_type(row)}, not an object of named values. Refusing to load it.")
    return metadata


class Members:
    """The members of a model file whose metadata has been read: not inflated yet.

    ``sizes`` holds what each member declares; :meth:`read` inflates them
    once the caller has said how large each may be, and checks the checksum.
    """

    def __init__(self, source, label, sizes, metadata):
        self._source = source
        self.label = label
        self.sizes = sizes
        self._metadata = metadata  # the bytes that were parsed and checked

    def read(self, limits):
        """``{name: bytes}`` of every member, each within ``limits[name] = (low, high)``.

        The metadata's limit is :data:`MAX_METADATA_BYTES`; a tensor member's
        must not exceed :data:`MAX_TENSOR_BYTES`.
        """
        limits = {"metadata.json": (0, MAX_METADATA_BYTES), **limits}
        for name in TENSOR_MEMBERS:
            low, high = limits[name]
            size = self.sizes[name]
            if size < low:
                raise ValueError(
                    f"{self.label}: {name} holds {size:,} bytes, too few for the "
                    f"{low:,} bytes of tensors the metadata's architecture has. The file "
                    "was edited or is damaged; refusing to load it.")
            if size > high:
                raise ValueError(
                    f"{self.label}: {name} would inflate to {_mib(size)}, more than the "
                    f"{_mib(high)} the metadata's architecture can fill. Refusing to load "
                    "it (a zip bomb or an edited file).")
        with ZipReader(self._source, self.label) as archive:
            blobs = {name: archive.read(name, min(limits[name][1], MAX_TENSOR_BYTES))
                     for name in MEMBERS}
            checksum = archive.read("SHA256", 256).decode("ascii", "replace").strip()
        if blobs["metadata.json"] != self._metadata:
            raise ValueError(f"{self.label} changed while it was being read. Refusing to "
                             "load it; try again.")
        if _checksum(blobs) != checksum:
            raise ValueError(
                f"{self.label} failed its checksum: the file was modified or corrupted after "
                "it was saved. Refusing to load it.")
        return blobs


def read_metadata(source, *, label=None):
    """Open a model file: return ``(metadata, members)``; tensors are not read yet.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        The file, or the bytes of one (a model inside a pipeline file).
    label : str, default=None
        How errors name the file; ``repr(path)`` by default.

    Returns
    -------
    metadata : dict
        The JSON metadata, its top-level structure checked (format, version,
        ``class``, ``params``, ``fitted``, ``history``); the estimator checks
        the values.
    members : Members
        The other members, to be read once their sizes are known.
    """
    if not isinstance(source, (bytes, bytearray)):
        source = os.fspath(source)
        label = repr(source) if label is None else label
        if not os.path.exists(source):
            raise FileNotFoundError(f"No saved model at {source!r}.")
    with ZipReader(source, label) as archive:
        missing = [n for n in (*MEMBERS, "SHA256") if n not in archive.infos]
        if missing:
            raise ValueError(f"{label} is not a complete skmnist model: it lacks {missing}.")
        raw = archive.read("metadata.json", MAX_METADATA_BYTES)
        sizes = {name: archive.size(name) for name in MEMBERS}
    metadata = _check_structure(parse_json(raw, label, "metadata"), label)
    return metadata, Members(source, label, sizes, raw)


def _check_tensor_archive(blob, label, member):
    """A ``torch.save`` zip of stored records that add up to no more than the member."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as inner:
            infos = inner.infolist()
    except _ZIP_ERRORS:
        raise ValueError(
            f"{label}: {member} is not a tensor archive (torch.save's zip format): it may be "
            "a pickle, which skmnist never loads. Refusing to load it.") from None
    total = 0
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise ValueError(
                f"{label}: {member} holds a compressed or encrypted record "
                f"({info.filename!r}); torch.save writes neither. Refusing to load it.")
        total += info.file_size
    if total > len(blob):
        raise ValueError(
            f"{label}: {member}'s records claim {total:,} bytes in a {len(blob):,}-byte "
            "archive. Refusing to load it.")


def read_tensors(blob, *, label, member):
    """A ``weights.pt`` / ``optimizer.pt`` member, loaded on the CPU with ``weights_only=True``.

    Any failure is the file's: a ``ValueError`` naming it, never torch's
    ``UnpicklingError`` (whose advice to set ``weights_only=False`` would run
    the file's code).
    """
    _check_tensor_archive(blob, label, member)
    try:
        return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as exc:  # a parser of untrusted bytes: whatever it raises is the file's
        import pickle

        if isinstance(exc, pickle.UnpicklingError):
            reason = ("it holds Python objects other than tensors and plain containers (a "
                      "pickle payload?), which skmnist never loads")
        else:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(
            f"{label}: {member} is not a valid tensor archive: {reason}. Refusing to load "
            "it.") from None
