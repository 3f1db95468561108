"""A model file is untrusted input: its contents are checked as ``fit`` checks its own.

:func:`skmnist.load`, resuming from a checkpoint and a fine-tuner's
``pretrained`` path rebuild an estimator from a file anyone may have
written or edited; its checksum is no defence (anyone can recompute it).
``BaseSkMNIST._from_saved_state`` calls the checks here in this order, so
that nothing large is allocated before the sizes it implies are known to
match what the file holds:

1. :func:`checked_estimator`: the parameters go through the estimator's own
   ``_check_params`` / ``_check_model_params`` (the checks of ``fit``), with
   the settings of the machine that wrote the file replaced
   (:data:`LOCAL_PARAMS`); each fitted attribute is decoded and checked
   against the others (input shape, feature count, scaling statistics,
   classes); the epoch counters are checked (:func:`runner_state`).
2. :func:`meta_module`: the architecture the metadata describes, built on
   torch's ``meta`` device (no memory), after :func:`check_layer_count` has
   bounded the number of layers by what ``weights.pt`` can hold.
   :func:`member_limits` says how many bytes ``weights.pt`` and
   ``optimizer.pt`` may then declare; they are inflated only within them.
3. :func:`check_weights` / :func:`sanitized_optimizer_state`: every tensor
   of the architecture present, of its shape and dtype, finite, and nothing
   else; the optimizer's numbers checked, its flags those of the estimator.

Every refusal is a ``ValueError`` that names the file and what is wrong.
"""

import math
import numbers

import numpy as np
import torch

from . import _archive
from ._shapes import resolve_image_shape

#: Settings of the machine that wrote a file, not obeyed where it is loaded:
#: parameter -> its value in the loaded estimator. (``device`` becomes the
#: ``device`` argument of :func:`skmnist.load`.) A checkpoint folder or a
#: pretrained model's path name places on that machine: obeying them would
#: let a file make ``partial_fit`` write to, or ``fit`` read from, any path;
#: a thread count fits the cores of that machine, not of this one.
LOCAL_PARAMS = {"checkpoint_dir": None, "resume": False, "pretrained": None, "n_jobs": None}
# Fitted attributes every file has (those of the first format version); any
# other one a file may lack (one added since, or feature_names_in_), and the
# loaded estimator then does not have it.
_REQUIRED_FITTED = ("classes_", "n_features_in_", "input_shape_", "arch_", "input_mean_",
                    "input_std_", "_input_kind", "model_input_shape_", "base_recipe_",
                    "pretrained_classes_", "head_replaced_", "frozen_")
_INPUT_KINDS = ("image", "tabular")
# History entries plotted and reported: numbers when present.
_NUMERIC_HISTORY = ("epoch", "dur", "train_loss", "valid_loss", "valid_acc")
# Every layer of an architecture stores at least one tensor, and a tensor
# costs more than this many bytes in a torch.save archive (its record is
# 64-byte aligned and has a local and a central zip header).
_MIN_BYTES_PER_TENSOR = 100
_SEED_LIMIT = 2**31


def _refuse(label, message):
    return ValueError(f"{label}: {message} The file was not written by skmnist.save, or was "
                      "edited; refusing to load it.")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


# ------------------------------------------------------------------ parameters
def _checked_params(cls, saved, device, label):
    defaults = cls().get_params(deep=False)  # __init__ only assigns
    unknown = sorted(set(saved) - set(defaults))
    if unknown:
        raise _refuse(label, f"it holds parameters {cls.__name__} does not take: "
                             f"{', '.join(map(repr, unknown))}.")
    # A parameter a file lacks (one added since it was written) takes its default.
    params = {**defaults, **saved}
    for key in cls._tuple_params:
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key])
    params.update({k: v for k, v in LOCAL_PARAMS.items() if k in params})
    params["device"] = device
    return params


def _run_check(label, check):
    try:
        return check()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{label} holds a parameter fit would refuse: {exc} Refusing to "
                         "load it.") from None


def checked_estimator(cls, metadata, *, device, label):
    """An unfitted-then-filled ``cls`` from the file's parameters and fitted attributes.

    Parameters
    ----------
    cls : type
        The estimator class the file names.
    metadata : dict
        The file's metadata (its top level checked by :mod:`skmnist._archive`).
    device : str
        :func:`skmnist.load`'s ``device``: it becomes the ``device``
        parameter; the saved one, a setting of the machine that trained
        the model, is ignored.
    label : str
        Names the file in errors.

    Returns
    -------
    estimator : BaseSkMNIST
        With its parameters checked by ``_check_params`` and
        ``_check_model_params`` and the fitted attributes of
        ``cls._saved_attributes`` set and checked; no network yet.
    """
    estimator = cls(**_checked_params(cls, metadata["params"], device, label))
    _run_check(label, estimator._check_params)
    _run_check(label, estimator._check_model_params)
    fitted = metadata["fitted"]
    for name, kind in cls._saved_attributes.items():
        if name not in fitted:
            if name not in _REQUIRED_FITTED:
                continue
            raise _refuse(label, f"its fitted attribute {name} is missing.")
        try:
            value = _archive.decode(kind, fitted[name])
        except ValueError as exc:
            raise _refuse(label, f"its fitted attribute {name} is malformed: {exc}.") from None
        setattr(estimator, name, value)
    _check_fitted(estimator, label)
    return estimator


def _check_fitted(est, label):
    """The fitted attributes agree with each other and with the parameters, as after fit."""
    if est._input_kind not in _INPUT_KINDS:
        raise _refuse(label, f"_input_kind must be 'image' or 'tabular', got {est._input_kind!r}.")
    shape = est.input_shape_
    if len(shape) != 3 or not all(_is_int(s) and s >= 1 for s in shape):
        raise _refuse(label, f"input_shape_ must be 3 positive integers, got {shape}.")
    if est._input_kind == "tabular" and shape[:2] != (1, 1):
        raise _refuse(label, f"tabular input must have input_shape_ (1, 1, n), got {shape}.")
    n_fit = getattr(est, "_n_fit_samples", 1)
    if not (_is_int(n_fit) and n_fit >= 1):
        raise _refuse(label, f"_n_fit_samples must be a positive integer, got {n_fit!r}.")
    n_values = math.prod(shape)
    if est.n_features_in_ != n_values:
        raise _refuse(label, f"n_features_in_={est.n_features_in_} does not match "
                             f"input_shape_={shape} ({n_values} values).")
    if est.image_shape is not None:
        try:
            resolved = resolve_image_shape(est.image_shape, n_values)
        except ValueError:
            resolved = None
        if est._input_kind != "image" or resolved != shape:
            raise _refuse(label, f"image_shape={est.image_shape!r} does not match "
                                 f"input_shape_={shape}.")
    classes = est.classes_
    try:
        distinct = np.unique(classes)
    except TypeError:
        distinct = None
    if classes.ndim != 1 or len(classes) < 2 or distinct is None or \
            len(distinct) != len(classes) or not np.array_equal(distinct, classes):
        raise _refuse(label, "classes_ must be at least 2 distinct, sorted labels of one "
                             f"type, got {classes.tolist()!r:.200}.")
    names = getattr(est, "feature_names_in_", None)
    if names is not None and (names.ndim != 1 or len(names) != n_values
                              or not all(isinstance(n, str) for n in names)):
        raise _refuse(label, f"feature_names_in_ must be {n_values} column names.")
    if not isinstance(getattr(est, "interrupted_", False), bool):
        raise _refuse(label, "interrupted_ must be true or false.")
    est.interrupted_ = getattr(est, "interrupted_", False)
    seen = getattr(est, "input_range_", None)
    if seen is not None and (len(seen) != 2 or seen[0] > seen[1]):
        raise _refuse(label, f"input_range_ must be (smallest, largest), got {seen!r:.80}.")
    _check_scaling(est, label)


def _check_scaling(est, label):
    """``input_mean_``/``input_std_``: per channel ``(c, 1, 1)`` or per feature ``(1, 1, d)``."""
    c, _, w = est.input_shape_
    mean, std = est.input_mean_, est.input_std_
    if est.input_scaling is None:
        if mean is not None or std is not None:
            raise _refuse(label, "input_scaling=None, but the file holds scaling statistics.")
        return
    expected = (c, 1, 1) if est._input_kind == "image" else (1, 1, w)
    for name, value in (("input_mean_", mean), ("input_std_", std)):
        if value is None or value.dtype.kind != "f" or value.shape != expected:
            got = None if value is None else f"shape {value.shape}, dtype {value.dtype}"
            per = "channel" if est._input_kind == "image" else "feature"
            raise _refuse(label, f"{name} must be a float array of shape {expected} (one "
                                 f"value per {per}), got {got}.")
    with np.errstate(over="ignore"):
        mean32, std32 = mean.astype(np.float32), std.astype(np.float32)
    if not (np.isfinite(mean32).all() and np.isfinite(std32).all()) or (std32 <= 0).any():
        raise _refuse(label, "input_mean_ and input_std_ must be finite in float32, and "
                             "input_std_ positive.")
    est.input_mean_, est.input_std_ = mean32, std32


def runner_state(fitted, label):
    """The epoch runner's state (``n_iter_``, ``_seed``, ``_run_epochs``), checked."""
    state = {"seed": fitted.get("_seed", 0), "n_iter": fitted.get("n_iter_", 0),
             "run_epochs": fitted.get("_run_epochs", 0)}
    if not all(_is_int(v) and v >= 0 for v in state.values()) or state["seed"] >= _SEED_LIMIT \
            or state["run_epochs"] > state["n_iter"]:
        raise _refuse(label, "its epoch counters (n_iter_, _seed, _run_epochs) must be "
                             f"integers with 0 <= _run_epochs <= n_iter_ and 0 <= _seed < "
                             f"2**31, got {state}.")
    return state


def check_history(history, label):
    """Rows of named values whose plotted entries are numbers."""
    for i, row in enumerate(history):
        for key in _NUMERIC_HISTORY:
            value = row.get(key)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))):
                raise _refuse(label, f"history row {i} has {key}={value!r:.50}, not a number.")


# ----------------------------------------------------------------- sizes first
def _entries(value):
    if isinstance(value, (list, tuple)):
        return len(value) + sum(_entries(v) for v in value)
    if isinstance(value, dict):
        return sum(_entries(v) for v in value.values())
    return 0


def check_layer_count(metadata, weights_size, label):
    """Refuse list-valued parameters too long for the weights the file holds.

    Every entry of a layer list (``hidden_units``, ``channels``, ...) is a
    layer with at least one tensor, and ``weights.pt`` spends at least
    :data:`_MIN_BYTES_PER_TENSOR` bytes on each: checked before the
    architecture is built, so a file cannot ask for a million layers.
    """
    entries = _entries(metadata["params"]) + _entries(metadata["fitted"].get("base_recipe_"))
    if entries > weights_size // _MIN_BYTES_PER_TENSOR:
        raise _refuse(label, f"its parameters list {entries:,} layers, more than the "
                             f"{weights_size:,} bytes of weights.pt can hold.")


class _NoRandomInit(torch.overrides.TorchFunctionMode):
    """Skip the random initialisation of meta tensors, which have no values to set.

    (torch runs ``normal_`` on a meta tensor through a reference
    implementation that imports ``torch._dynamo``: 2 s and 150 MB, to do
    nothing.)
    """

    _RANDOM = {torch.Tensor.normal_, torch.Tensor.uniform_, torch.Tensor.exponential_,
               torch.Tensor.log_normal_, torch.Tensor.cauchy_, torch.Tensor.geometric_,
               torch.Tensor.random_, torch.Tensor.bernoulli_}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self._RANDOM and args and getattr(args[0], "is_meta", False):
            return args[0]
        return func(*args, **(kwargs or {}))


def meta_module(estimator, label):
    """The architecture of the file, built on torch's ``meta`` device: shapes, no memory."""
    try:
        with torch.device("meta"), _NoRandomInit():
            return estimator._rebuild_module()
    except ValueError as exc:
        raise ValueError(f"{label} describes an architecture skmnist cannot build: {exc} "
                         "Refusing to load it.") from None
    except (TypeError, RuntimeError, OverflowError, KeyError, AttributeError) as exc:
        raise _refuse(label, f"its architecture cannot be built ({type(exc).__name__}: "
                             f"{exc}).") from None


def member_limits(module, label):
    """``{member: (fewest, most bytes)}`` for the tensors of ``module`` (a meta module)."""
    state = module.state_dict()
    weights = sum(t.numel() * t.element_size() for t in state.values())
    params = sum(p.numel() * p.element_size() for p in module.parameters())
    if weights > _archive.MAX_TENSOR_BYTES:
        raise ValueError(
            f"{label} describes an architecture with {weights / 2**30:,.1f} GiB of weights, "
            f"more than skmnist.load accepts ({_archive.MAX_TENSOR_BYTES / 2**30:.0f} GiB). "
            "Refusing to load it.")
    # torch.save's own bytes: a fixed part and, per tensor, headers and its name.
    slack = 64 * 2**10 + 1024 * len(state) + 4 * sum(len(k) for k in state)
    # Optimizer state: at most two buffers per parameter (Adam's moments) and scalars.
    return {"weights.pt": (weights, weights + slack), "optimizer.pt": (0, 3 * params + 2 * slack)}


# ------------------------------------------------------------------- tensors
def check_weights(state, module, label):
    """Exactly the tensors of ``module``'s ``state_dict``: same names, shapes, dtypes; finite."""
    if not isinstance(state, dict):
        raise _refuse(label, f"weights.pt holds a {type(state).__name__}, not a state_dict.")
    expected = module.state_dict()
    unexpected = sorted(map(str, set(state) - set(expected)))
    missing = sorted(set(expected) - set(state))
    if unexpected or missing:
        raise ValueError(
            f"{label} does not match the architecture its metadata describes: weights.pt "
            f"lacks {missing[:5]} and has unexpected {unexpected[:5]}. Refusing to load it.")
    for key, ref in expected.items():
        tensor = state[key]
        if not isinstance(tensor, torch.Tensor) or tensor.layout != torch.strided \
                or tensor.device.type != "cpu" or tensor.dtype != ref.dtype \
                or tensor.shape != ref.shape:
            got = (f"{tuple(tensor.shape)} {tensor.dtype} {tensor.layout}"
                   if isinstance(tensor, torch.Tensor) else type(tensor).__name__)
            raise ValueError(
                f"{label} does not match the architecture its metadata describes: "
                f"weights.pt's {key!r} is {got}, the architecture's is {tuple(ref.shape)} "
                f"{ref.dtype}. Refusing to load it.")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise _refuse(label, f"weights.pt's {key!r} holds NaN or infinite values.")


def _is_numeric(value):
    """A hyperparameter's number (lr, momentum) or tuple of numbers (betas), not a flag."""
    values = value if isinstance(value, (tuple, list)) else (value,)
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                for v in values)


def _plain_number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0)


def sanitized_optimizer_state(saved, optimizer, label):
    """The file's optimizer state, checked, with the flags of ``optimizer``.

    The numbers of each parameter group (learning rate, betas, momentum,
    ...) come from the file, checked finite and non-negative; flags
    (``fused``, ``foreach``, ``amsgrad``, ``nesterov``, ...) are those of
    the optimizer this estimator's parameters build, never the file's. Each
    per-parameter state tensor must be finite and a scalar or of its
    parameter's shape.
    """
    if not isinstance(saved, dict) or set(saved) != {"state", "param_groups"} \
            or not isinstance(saved["state"], dict) or not isinstance(saved["param_groups"], list):
        raise _refuse(label, "optimizer.pt is not an optimizer state_dict.")
    built = optimizer.param_groups
    if len(saved["param_groups"]) != len(built):
        raise _refuse(label, f"optimizer.pt has {len(saved['param_groups'])} parameter groups, "
                             f"the model's optimizer {len(built)}.")
    groups, params_of = [], {}
    for i, (group, own) in enumerate(zip(saved["param_groups"], built)):
        ids = group.get("params") if isinstance(group, dict) else None
        if not isinstance(ids, list) or len(ids) != len(own["params"]) \
                or not all(_is_int(p) for p in ids):
            raise _refuse(label, f"optimizer.pt's parameter group {i} does not list the "
                                 f"group's {len(own['params'])} parameters.")
        clean = {k: v for k, v in own.items() if k != "params"}
        clean["params"] = ids
        for key, value in group.items():
            if key == "params" or not (key in own or key == "initial_lr"):
                continue
            if key != "initial_lr" and not _is_numeric(own[key]):
                continue  # a flag or a name (fused, foreach, ...): this estimator's own
            numbers_ = value if isinstance(value, (tuple, list)) else (value,)
            if not all(_plain_number(v) for v in numbers_):
                raise _refuse(label, f"optimizer.pt's {key}={value!r:.50} in group {i} is "
                                     "not a finite, non-negative number.")
            clean[key] = tuple(value) if isinstance(value, list) else value
        groups.append(clean)
        params_of.update(zip(ids, own["params"]))
    for pid, entry in saved["state"].items():
        if pid not in params_of or not isinstance(entry, dict):
            raise _refuse(label, f"optimizer.pt has state for an unknown parameter {pid!r:.20}.")
        param = params_of[pid]
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                ok = (value.layout == torch.strided and value.device.type == "cpu"
                      and (value.dim() == 0 or value.shape == param.shape)
                      and (not value.is_floating_point() or bool(torch.isfinite(value).all())))
            else:
                ok = isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and math.isfinite(value)
            if not ok:
                raise _refuse(label, f"optimizer.pt's state {key!r} of parameter {pid} does "
                                     "not fit the parameter (or is not finite).")
    return {"state": saved["state"], "param_groups": groups}
