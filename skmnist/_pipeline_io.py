"""Fitted Pipelines in the safe format: a JSON tree, skmnist models and audited skops steps.

A pipeline file is one zip (written atomically, like a model file) holding

* ``pipeline.json``: the format, the library versions and the tree of
  steps. Each node is one of

  - ``{"kind": "pipeline", "steps": [[name, node], ...], "verbose": ...,
    "transform_input": ...}``: a :class:`sklearn.pipeline.Pipeline`
    (nested ones too);
  - ``{"kind": "frozen", "estimator": node}``: a
    :class:`sklearn.frozen.FrozenEstimator`;
  - ``{"kind": "passthrough", "value": "passthrough" | null}``;
  - ``{"kind": "transformer", "class": ..., "params": ..., "fitted": ...}``:
    a transformer of :mod:`skmnist.preprocessing`, all in JSON (they hold
    only numbers, tuples and small arrays);
  - ``{"kind": "model", "class": ..., "member": "steps/N.skmnist"}``: a
    skmnist estimator, stored as a complete model file (the member can be
    extracted and read with :func:`skmnist.load`);
  - ``{"kind": "skops", "class": ..., "member": "steps/N.skops"}``: any
    other step (a scikit-learn estimator), stored with :mod:`skops.io`.

* the ``steps/N.*`` members, stored uncompressed (they compress themselves);
* ``SHA256``: a checksum over all the other members, against accidents.

Loading treats the file as untrusted input. The tree is checked (node
kinds, depth, member names, each member used once); transformers are
rebuilt with their ``fit``-time checks; models go through the model file's
checks (:mod:`skmnist._untrusted`); a skops member is audited with
``skops.io.get_untrusted_types`` and loaded only when every type it holds
is one skops trusts by default, a skmnist transformer, or a type the caller
names in ``trusted``. Types of skorch, torch and the skmnist estimators are
refused in a skops member even when named in ``trusted``: skorch keeps the
network and optimizer as one pickled blob that skops cannot audit, so
loading one would unpickle whatever the file holds. Saving refuses such a
step, naming it: put skmnist estimators directly in the Pipeline.
"""

import hashlib
import re
import zipfile

from sklearn.base import BaseEstimator
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from . import _archive
from .preprocessing import (
    ImageFlattener,
    ImageReshaper,
    ImageResizer,
    PixelScaler,
    PixelStandardizer,
)

FORMAT = "skmnist-pipeline"
FORMAT_VERSION = 1
TREE = "pipeline.json"
#: The transformers stored as JSON.
TRANSFORMERS = {cls.__name__: cls for cls in (
    ImageFlattener, ImageReshaper, ImageResizer, PixelScaler, PixelStandardizer)}
# Their type names as skops reports them: safe to trust in a skops step
# (they hold only numbers, tuples and numpy arrays, which skops audits itself).
_TRANSFORMER_TYPES = {f"{c.__module__}.{c.__qualname__}" for c in TRANSFORMERS.values()}
# Type names that are never loaded from a skops member, whatever ``trusted`` says.
_NEVER_TRUSTED = ("skmnist.", "skorch.", "torch.")
_MEMBER = re.compile(r"steps/[0-9]{1,6}\.(skmnist|skops)")
_MAX_DEPTH = 16
_MAX_NODES = 10_000
_SAFE_VALUES = (type(None), bool, int, float, str)


def _never_trusted(type_name):
    return type_name.startswith(_NEVER_TRUSTED) and type_name not in _TRANSFORMER_TYPES


def _where(path):
    return " > ".join(repr(name) for name in path)


# ---------------------------------------------------------------------- saving
def _plain(value, where):
    """A parameter as JSON (numpy scalars and 1-D arrays included)."""
    import numpy as np

    if isinstance(value, _SAFE_VALUES):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray) and value.ndim <= 1 and value.dtype.kind in "biuf":
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    raise ValueError(
        f"Step {where} has a parameter {value!r:.80} that the safe format cannot store "
        "(only numbers, strings, booleans, None and lists of them can).")


class _Writer:
    def __init__(self, saveable):
        self.saveable = saveable
        self.members = []

    def _member(self, suffix, data):
        name = f"steps/{len(self.members)}.{suffix}"
        self.members.append((name, data, zipfile.ZIP_STORED))
        return name

    def node(self, step, path):
        if step is None or (isinstance(step, str) and step == "passthrough"):
            return {"kind": "passthrough", "value": step}
        if type(step) is Pipeline:
            steps = []
            for name, sub in step.steps:
                steps.append([name, self.node(sub, (*path, name))])
            return {"kind": "pipeline", "steps": steps, "verbose": bool(step.verbose),
                    "transform_input": _plain(step.transform_input, _where(path) or "pipeline")}
        if type(step) is FrozenEstimator:
            return {"kind": "frozen", "estimator": self.node(step.estimator, (*path, "frozen"))}
        where = _where(path)
        if type(step) in self.saveable:
            if not hasattr(step, "net_"):
                raise ValueError(f"Step {where} ({type(step).__name__}) is not fitted; fit the "
                                 "pipeline before saving it.")
            data = _archive.zip_bytes(_archive.model_members(**step._saved_state()))
            return {"kind": "model", "class": type(step).__name__,
                    "member": self._member("skmnist", data)}
        if type(step) in TRANSFORMERS.values():
            try:
                check_is_fitted(step)
            except Exception:
                raise ValueError(f"Step {where} ({type(step).__name__}) is not fitted; fit "
                                 "the pipeline before saving it.") from None
            params = {k: _plain(v, where) for k, v in step.get_params(deep=False).items()}
            fitted = {name: _archive.encode(kind, getattr(step, name))
                      for name, kind in step._saved_attributes.items() if hasattr(step, name)}
            return {"kind": "transformer", "class": type(step).__name__, "params": params,
                    "fitted": fitted}
        return self._skops_node(step, where)

    def _skops_node(self, step, where):
        sio = _skops(where, "save")
        inside = _forbidden_inside(step)
        try:
            data = None if inside else sio.dumps(step, compression=zipfile.ZIP_DEFLATED)
        except Exception as exc:  # skops cannot represent it
            raise ValueError(
                f"Step {where} ({type(step).__name__}) cannot be stored with skops ({exc}). "
                "Save the pipeline with joblib (trusted files only).") from None
        refused = [inside] if inside else [
            t for t in sio.get_untrusted_types(data=data) if _never_trusted(t)]
        if refused:
            raise ValueError(
                f"Step {where} ({type(step).__name__}) holds {', '.join(refused[:4])}, which "
                "cannot be stored safely inside a scikit-learn object: skorch pickles the "
                "network into one opaque blob that skops cannot audit. Make the skmnist "
                "estimator a step of the Pipeline itself (or save it alone with "
                "skmnist.save).")
        return {"kind": "skops", "class": _type_name(type(step)),
                "member": self._member("skops", data)}


def _type_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _forbidden_inside(obj, _seen=None, _depth=0):
    """The name of a skmnist, skorch or torch object inside ``obj``, or None.

    Looks through containers and the attributes of estimators (parameters and
    fitted attributes, e.g. a ``VotingClassifier``'s ``estimators_``).
    """
    import numpy as np

    seen = set() if _seen is None else _seen
    if id(obj) in seen or _depth > 64 or isinstance(obj, (*_SAFE_VALUES, np.ndarray)):
        return None
    seen.add(id(obj))
    name = _type_name(type(obj))
    if _never_trusted(name):
        return name
    if isinstance(obj, dict):
        children = [*obj.keys(), *obj.values()]
    elif isinstance(obj, (list, tuple, set, frozenset)):
        children = list(obj)
    elif isinstance(obj, BaseEstimator):
        children = list(vars(obj).values())
    else:
        return None
    for child in children:
        found = _forbidden_inside(child, seen, _depth + 1)
        if found:
            return found
    return None


def _skops(where, action):
    try:
        import skops.io as sio
    except ImportError:
        raise ImportError(
            f"Step {where} is a scikit-learn object, which skmnist {action}s with skops: "
            "install it (pip install skops, or pip install 'skmnist[skops]').") from None
    return sio


def _checksum(blobs):
    digest = hashlib.sha256()
    for name in sorted(blobs):
        digest.update(name.encode())
        digest.update(len(blobs[name]).to_bytes(8, "little"))
        digest.update(blobs[name])
    return digest.hexdigest()


def pipeline_members(obj, saveable):
    """The members of a pipeline file for a Pipeline or FrozenEstimator ``obj``.

    ``saveable`` are the estimator classes stored as model files.
    """
    import json

    writer = _Writer(tuple(saveable))
    root = writer.node(obj, ())
    tree = {"format": FORMAT, "format_version": FORMAT_VERSION,
            "versions": _archive.library_versions(), "root": root}
    data = json.dumps(tree, indent=1, sort_keys=True).encode()
    if len(data) > _archive.MAX_METADATA_BYTES:
        raise ValueError("The pipeline's description is larger than the safe format holds.")
    members = [(TREE, data, zipfile.ZIP_DEFLATED), *writer.members]
    blobs = {name: blob for name, blob, _ in members}
    members.append(("SHA256", _checksum(blobs).encode(), zipfile.ZIP_DEFLATED))
    return members


# --------------------------------------------------------------------- loading
def is_pipeline_file(archive):
    """Whether an opened :class:`~skmnist._archive.ZipReader` is a pipeline file."""
    return TREE in archive.infos


class _Loader:
    def __init__(self, blobs, saveable, *, device, trusted, label):
        self.blobs = blobs
        self.saveable = {cls.__name__: cls for cls in saveable}
        self.device = device
        self.trusted = set(trusted)
        self.label = label
        self.used = set()
        self.count = 0

    def fail(self, path, message):
        where = f" (step {_where(path)})" if path else ""
        return ValueError(f"{self.label}{where}: {message} Refusing to load it.")

    def member(self, node, path, suffix):
        name = node.get("member")
        if not isinstance(name, str) or not _MEMBER.fullmatch(name) \
                or not name.endswith("." + suffix):
            raise self.fail(path, f"the step names an invalid member {name!r:.60}.")
        if name in self.used:
            raise self.fail(path, f"member {name!r} is used by two steps.")
        if name not in self.blobs:
            raise self.fail(path, f"member {name!r} is missing.")
        self.used.add(name)
        return self.blobs[name]

    def node(self, node, path):
        self.count += 1
        if self.count > _MAX_NODES or len(path) > _MAX_DEPTH:
            raise self.fail(path, "the pipeline is nested too deeply or has too many steps.")
        if not isinstance(node, dict) or not isinstance(node.get("kind"), str):
            raise self.fail(path, "a step is not described by a JSON object with a 'kind'.")
        kind = node["kind"]
        if kind == "passthrough":
            if node.get("value") not in ("passthrough", None):
                raise self.fail(path, "a passthrough step must be 'passthrough' or null.")
            return node.get("value")
        if kind == "pipeline":
            return self.pipeline(node, path)
        if kind == "frozen":
            return FrozenEstimator(self.node(node.get("estimator"), (*path, "frozen")))
        if kind == "model":
            return self.model(node, path)
        if kind == "transformer":
            return self.transformer(node, path)
        if kind == "skops":
            return self.skops(node, path)
        raise self.fail(path, f"unknown step kind {kind!r:.40}.")

    def pipeline(self, node, path):
        steps = node.get("steps")
        if not isinstance(steps, list) or not steps or not all(
                isinstance(s, list) and len(s) == 2 and isinstance(s[0], str) for s in steps):
            raise self.fail(path, "a pipeline's steps must be a non-empty list of [name, step].")
        names = [name for name, _ in steps]
        if len(set(names)) != len(names):
            raise self.fail(path, f"the pipeline's step names repeat: {names}.")
        transform_input = node.get("transform_input")
        if transform_input is not None and not (
                isinstance(transform_input, list)
                and all(isinstance(t, str) for t in transform_input)):
            raise self.fail(path, "transform_input must be null or a list of names.")
        verbose = node.get("verbose", False)
        if not isinstance(verbose, bool):
            raise self.fail(path, "verbose must be true or false.")
        built = [(name, self.node(sub, (*path, name))) for name, sub in steps]
        return Pipeline(built, verbose=verbose, transform_input=transform_input)

    def model(self, node, path):
        blob = self.member(node, path, "skmnist")
        label = f"{self.label} (step {_where(path)})"
        metadata, members = _archive.read_metadata(blob, label=label)
        cls = self.saveable.get(metadata["class"])
        if cls is None or node.get("class") != metadata["class"]:
            raise self.fail(path, f"the step holds an unknown estimator class "
                                  f"{metadata['class']!r:.60}.")
        return cls._from_saved_state(metadata, members, device=self.device, path=label)

    def transformer(self, node, path):
        cls = TRANSFORMERS.get(node.get("class"))
        params, fitted = node.get("params"), node.get("fitted")
        if cls is None:
            raise self.fail(path, f"unknown transformer class {node.get('class')!r:.60}.")
        if not isinstance(params, dict) or not isinstance(fitted, dict):
            raise self.fail(path, "a transformer needs 'params' and 'fitted' objects.")
        defaults = cls().get_params(deep=False)
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise self.fail(path, f"{cls.__name__} does not take the parameters {unknown}.")
        params = {k: tuple(v) if k in cls._tuple_params and isinstance(v, list) else v
                  for k, v in {**defaults, **params}.items()}
        step = cls(**params)
        for name, kind in cls._saved_attributes.items():
            if name not in fitted:
                if name == "feature_names_in_":
                    continue
                raise self.fail(path, f"the fitted attribute {name} is missing.")
            try:
                setattr(step, name, _archive.decode(kind, fitted[name]))
            except ValueError as exc:
                raise self.fail(path, f"the fitted attribute {name} is malformed: {exc}.") \
                    from None
        try:
            step._check_saved_state()
        except (ValueError, TypeError) as exc:
            raise self.fail(path, f"{cls.__name__} fails fit's checks: {exc}") from None
        return step

    def skops(self, node, path):
        where = _where(path)
        sio = _skops(where, "load")
        data = _stored_copy(self.member(node, path, "skops"), f"{self.label} (step {where})")
        try:
            untrusted = sio.get_untrusted_types(data=data)
        except Exception as exc:  # a parser of untrusted bytes
            raise self.fail(path, f"the skops member cannot be read ({exc}).") from None
        never = [t for t in untrusted if _never_trusted(t)]
        if never:
            raise self.fail(path, f"the skops member holds {', '.join(never[:4])}: objects "
                                  "skops cannot audit (skorch pickles the network into one "
                                  "blob), never loaded from skops, even when trusted.")
        unknown = sorted(t for t in untrusted
                         if t not in _TRANSFORMER_TYPES and t not in self.trusted)
        if unknown:
            raise ValueError(
                f"{self.label} (step {where}): the step holds types that skops does not "
                f"trust by default: {unknown}. Loading them could run code the file chooses; "
                f"if you trust this file, pass trusted={unknown!r} to skmnist.load.")
        try:
            step = sio.loads(data, trusted=sorted(set(untrusted)))
        except Exception as exc:  # a parser of untrusted bytes: whatever it raises is the file's
            raise self.fail(path, f"skops cannot load the step ({type(exc).__name__}: "
                                  f"{exc}).") from None
        if not isinstance(step, BaseEstimator):
            raise self.fail(path, f"the step is a {type(step).__name__}, not an estimator.")
        return step


def _stored_copy(data, label):
    """A skops zip rebuilt with stored members, each inflated within its declared size.

    skops reads its members with ``ZipFile.read``, which inflates a deflated
    member in one call up to 2 GiB, whatever size the member declares; a
    copy whose members are stored (uncompressed) cannot do that.
    """
    members = []
    with _archive.ZipReader(data, label) as archive:
        total = 0
        for name, info in archive.infos.items():
            total += info.file_size
            if total > _archive.MAX_TENSOR_BYTES:
                raise ValueError(f"{label}: the skops member would inflate to more than "
                                 f"{_archive.MAX_TENSOR_BYTES / 2**30:.0f} GiB. Refusing to "
                                 "load it.")
            members.append((name, archive.read(name, info.file_size), zipfile.ZIP_STORED))
    return _archive.zip_bytes(members)


def load_pipeline(path, saveable, *, device, trusted):
    """The Pipeline (or FrozenEstimator) stored in the pipeline file ``path``."""
    label = repr(path)
    with _archive.ZipReader(path, label) as archive:
        names = [n for n in archive.infos if n != "SHA256"]
        if "SHA256" not in archive.infos:
            raise ValueError(f"{label} is not a complete skmnist pipeline: it lacks its "
                             "checksum.")
        blobs = {}
        for name in names:
            if name != TREE and not _MEMBER.fullmatch(name):
                continue  # not ours: never read
            info = archive.infos[name]
            if name != TREE and info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{label}: member {name!r} is compressed; skmnist stores "
                                 "steps uncompressed. Refusing to load it.")
            limit = _archive.MAX_METADATA_BYTES if name == TREE else info.file_size
            blobs[name] = archive.read(name, limit)
        checksum = archive.read("SHA256", 256).decode("ascii", "replace").strip()
    if _checksum(blobs) != checksum:
        raise ValueError(f"{label} failed its checksum: the file was modified or corrupted "
                         "after it was saved. Refusing to load it.")
    tree = _archive.parse_json(blobs.pop(TREE), label, TREE)
    if not isinstance(tree, dict) or tree.get("format") != FORMAT:
        raise ValueError(f"{label} is not a skmnist pipeline file.")
    if tree.get("format_version") != FORMAT_VERSION:
        from ._version import __version__

        raise ValueError(
            f"{label} uses pipeline format version {tree.get('format_version')!r:.20}, but "
            f"this skmnist ({__version__}) reads version {FORMAT_VERSION}.")
    loader = _Loader(blobs, saveable, device=device, trusted=trusted, label=label)
    root = loader.node(tree.get("root"), ())
    if set(blobs) - loader.used:
        raise ValueError(f"{label} holds members no step uses: "
                         f"{sorted(set(blobs) - loader.used)[:5]}. Refusing to load it.")
    return root
