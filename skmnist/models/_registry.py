"""A name -> builder registry for the architectures (torch only)."""

import inspect
import pickle

_REGISTRY = {}

# The data-shape arguments every builder receives; everything else is a
# hyperparameter of the architecture.
SHAPE_PARAMS = ("in_channels", "height", "width", "n_classes")


def register_model(name):
    """Register an architecture builder under ``name``.

    The builder must be a function with keyword-only arguments
    ``in_channels``, ``height``, ``width`` and ``n_classes`` (the data's
    shape) plus any hyperparameters, each with a default, and return an
    ``torch.nn.Module`` mapping ``(n, in_channels, height, width)`` float
    tensors to ``(n, n_classes)`` logits.

    Parameters
    ----------
    name : str
        The name users pass as ``arch``.

    Returns
    -------
    decorator : callable
        Registers and returns the builder unchanged.

    Examples
    --------
    >>> from torch import nn
    >>> from skmnist.models import register_model, get_model
    >>> @register_model("tiny_linear")
    ... def tiny_linear(*, in_channels=1, height=28, width=28, n_classes=10):
    ...     return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * height * width, n_classes))
    >>> get_model("tiny_linear", n_classes=3)[1].out_features
    3
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"A model name must be a non-empty string, got {name!r}.")

    def decorator(builder):
        params = inspect.signature(builder).parameters
        missing = [p for p in SHAPE_PARAMS if p not in params]
        if missing:
            raise TypeError(
                f"Builder {builder.__name__!r} for model {name!r} must accept the "
                f"keyword-only arguments {SHAPE_PARAMS}; missing {missing}."
            )
        _REGISTRY[name] = builder
        return builder

    return decorator


def list_models():
    """Return the names of the registered architectures, sorted.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from skmnist.models import list_models
    >>> [name for name in ("cnn", "lenet5", "mlp") if name in list_models()]
    ['cnn', 'lenet5', 'mlp']
    """
    return sorted(_REGISTRY)


def export_builders(names=None):
    """Pickled copies of user-registered builders, for other processes.

    A registry lives in one process: a builder registered in a script or a
    notebook is unknown to joblib/loky worker processes, which do not run
    that code. The estimators and the search's worker jobs carry these
    payloads when they are pickled, and :func:`import_builders` registers
    them on the other side. Builders are pickled with ``cloudpickle`` (a
    dependency), by value when they live in ``__main__`` or a
    notebook, by reference when they can be imported. skmnist's own
    architectures are never exported: every process registers them.

    Parameters
    ----------
    names : iterable of str or None
        Names to export; None exports every user-registered builder.
        Unknown names and built-in ones are skipped.

    Returns
    -------
    payloads : dict
        Name -> pickled builder (bytes); empty when there is nothing to
        export.
    """
    import cloudpickle

    names = _REGISTRY if names is None else names
    payloads = {}
    for name in names:
        builder = _REGISTRY.get(name) if isinstance(name, str) else None
        if builder is None or getattr(builder, "__module__", "").startswith("skmnist."):
            continue
        try:
            payloads[name] = cloudpickle.dumps(builder)
        except Exception:  # an unpicklable builder: the worker reports the unknown name
            continue
    return payloads


def import_builders(payloads):
    """Register builders exported by :func:`export_builders` that are missing here.

    A name already registered in this process keeps its builder. A payload
    that cannot be unpickled here (e.g. its module is not importable) is
    skipped: using the name then fails with the usual "unknown
    architecture" error.

    Parameters
    ----------
    payloads : dict
        Name -> pickled builder.
    """
    for name, payload in (payloads or {}).items():
        if name in _REGISTRY:
            continue
        try:
            builder = pickle.loads(payload)
        except Exception:
            continue
        if callable(builder):
            _REGISTRY[name] = builder


def _get_builder(name):
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown architecture {name!r}. Known architectures: "
            f"{', '.join(list_models())}. Register new ones with "
            "skmnist.models.register_model."
        ) from None


def model_hyperparameters(name):
    """Return the hyperparameters of architecture ``name`` with their defaults.

    Parameters
    ----------
    name : str
        A registered architecture name.

    Returns
    -------
    params : dict
        Hyperparameter name -> default value, without the data-shape
        arguments (``in_channels``, ``height``, ``width``, ``n_classes``).

    Examples
    --------
    >>> from skmnist.models import model_hyperparameters
    >>> sorted(model_hyperparameters("mlp"))
    ['dropout', 'hidden_units']
    """
    builder = _get_builder(name)
    return {
        p.name: p.default
        for p in inspect.signature(builder).parameters.values()
        if p.name not in SHAPE_PARAMS and p.kind is not p.VAR_KEYWORD
    }


def get_model(name, **params):
    """Build the architecture registered as ``name``.

    Parameters
    ----------
    name : str
        A name from :func:`list_models`.
    **params
        The data shape (``in_channels``, ``height``, ``width``,
        ``n_classes``) and the architecture's hyperparameters.

    Returns
    -------
    module : torch.nn.Module
        A freshly initialised module.

    Raises
    ------
    ValueError
        If ``name`` is unknown or a parameter is not accepted.

    Examples
    --------
    >>> import torch
    >>> from skmnist.models import get_model
    >>> net = get_model("cnn", in_channels=1, height=28, width=28, n_classes=10)
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """
    builder = _get_builder(name)
    accepted = inspect.signature(builder).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(
            f"Architecture {name!r} does not take the parameter(s) {unknown}; "
            f"it takes {sorted(p for p in accepted if p not in SHAPE_PARAMS)} "
            f"plus the data shape {list(SHAPE_PARAMS)}."
        )
    return builder(**params)
