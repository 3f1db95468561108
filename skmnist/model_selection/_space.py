"""Search spaces: the parameter specs and their translation to Optuna.

A search space is a dict ``name -> spec`` or a list of such dicts (one per
architecture, like :class:`~sklearn.model_selection.GridSearchCV`'s list of
grids), so parameters that only one architecture takes stay with it. A spec
is a list of values (a grid axis, or a categorical choice), or one of the
small spec objects of this module (:class:`Categorical`, :class:`Float`,
:class:`Int`), or an ``optuna.distributions`` object.

Internally (:class:`SearchSpace`) two strategies are built from it:

* **grid**: every point of every sub-space, concatenated into one flat list
  of candidates. A trial records the index of its candidate as the Optuna
  parameter ``candidate`` plus each of the candidate's values under its own
  name (so dashboards and importance plots see ``arch``, ``lr``, ...).
* **sampled** (TPE, random): a trial first chooses the sub-space (through the
  parameter that tells the sub-spaces apart, usually ``arch``), then samples
  that sub-space's parameters.

Optuna stores only ``None``, bool, int, float and str values, so lists of
other values (tuples such as ``hidden_units=(64,)``) are stored under their
``repr`` and decoded back to the original objects.
"""

import itertools
import math
import numbers

from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

# The Optuna parameter holding a grid trial's candidate index.
CANDIDATE_PARAM = "candidate"
# The Optuna parameter choosing the sub-space when no parameter tells them apart.
SUBSPACE_PARAM = "subspace"


def _is_primitive(value):
    return value is None or isinstance(value, (bool, numbers.Integral, numbers.Real, str))


class Categorical:
    """A choice among a finite list of values.

    A plain list in a search space means the same thing; use this class to
    be explicit.

    Parameters
    ----------
    choices : sequence
        The values, at least one. Any objects with a distinct ``repr``
        (tuples such as ``(32, 64)`` included).

    See Also
    --------
    Float : A range of floats.
    Int : A range of integers.

    Examples
    --------
    >>> from skmnist.model_selection import Categorical
    >>> Categorical([(64,), (128,)])
    Categorical([(64,), (128,)])
    """

    def __init__(self, choices):
        self.choices = choices

    def __repr__(self):
        return f"Categorical({list(self.choices)!r})"

    def __eq__(self, other):
        return type(other) is type(self) and _same_values(list(self.choices), list(other.choices))

    __hash__ = None


class Float:
    """A range of floats, uniform or log-uniform (for ``sampler="tpe"`` or ``"random"``).

    Parameters
    ----------
    low : float
        Lower bound (included).
    high : float
        Upper bound (included), greater than ``low``.
    log : bool, default=False
        Sample uniformly in log space (e.g. learning rates); needs ``low > 0``.
    step : float, default=None
        Sample only ``low + k * step``; not with ``log``.

    See Also
    --------
    Int : A range of integers.
    Categorical : A finite list of values.

    Examples
    --------
    >>> from skmnist.model_selection import Float
    >>> Float(1e-4, 1e-2, log=True)
    Float(0.0001, 0.01, log=True)
    """

    def __init__(self, low, high, *, log=False, step=None):
        self.low = low
        self.high = high
        self.log = log
        self.step = step

    def __repr__(self):
        extra = (", log=True" if self.log else "") + (
            f", step={self.step!r}" if self.step is not None else "")
        return f"Float({self.low!r}, {self.high!r}{extra})"

    def __eq__(self, other):
        return type(other) is type(self) and (self.low, self.high, self.log, self.step) == (
            other.low, other.high, other.log, other.step)

    __hash__ = None


class Int:
    """A range of integers (for ``sampler="tpe"`` or ``"random"``).

    Parameters
    ----------
    low : int
        Lower bound (included).
    high : int
        Upper bound (included), at least ``low``.
    log : bool, default=False
        Sample uniformly in log space; needs ``low >= 1`` and ``step=1``.
    step : int, default=1
        Sample only ``low + k * step``.

    See Also
    --------
    Float : A range of floats.
    Categorical : A finite list of values.

    Examples
    --------
    >>> from skmnist.model_selection import Int
    >>> Int(16, 256, log=True)
    Int(16, 256, log=True)
    """

    def __init__(self, low, high, *, log=False, step=1):
        self.low = low
        self.high = high
        self.log = log
        self.step = step

    def __repr__(self):
        extra = (", log=True" if self.log else "") + (
            f", step={self.step!r}" if self.step != 1 else "")
        return f"Int({self.low!r}, {self.high!r}{extra})"

    def __eq__(self, other):
        return type(other) is type(self) and (self.low, self.high, self.log, self.step) == (
            other.low, other.high, other.log, other.step)

    __hash__ = None


def _same_values(a, b):
    return len(a) == len(b) and all(repr(x) == repr(y) for x, y in zip(a, b))


class _Labels:
    """Two-way map between values and the labels Optuna stores for them."""

    def __init__(self, values, where):
        values = list(values)
        self.identity = all(_is_primitive(v) for v in values)
        labels = values if self.identity else [repr(v) for v in values]
        keys = [repr(v) for v in values]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{where} lists a value more than once: {values!r}.")
        if not self.identity and len(set(labels)) != len(labels):
            raise ValueError(f"{where} holds values with the same repr: {values!r}.")
        self.values = values
        self.labels = labels
        self._value_of = {repr(label): value for label, value in zip(labels, values)}
        self._label_of = {repr(value): label for label, value in zip(labels, values)}

    def label(self, value):
        return self._label_of[repr(value)]

    def value(self, label):
        return self._value_of[repr(label)]

    def distribution(self):
        return CategoricalDistribution(self.labels)


def _normalise_spec(name, spec, where):
    """Check one spec; return a Categorical, Float or Int."""
    if isinstance(spec, CategoricalDistribution):
        spec = Categorical(list(spec.choices))
    elif isinstance(spec, FloatDistribution):
        spec = Float(spec.low, spec.high, log=spec.log, step=spec.step)
    elif isinstance(spec, IntDistribution):
        spec = Int(spec.low, spec.high, log=spec.log, step=spec.step)
    elif isinstance(spec, (list, tuple, range)):
        spec = Categorical(list(spec))
    if isinstance(spec, Categorical):
        choices = spec.choices
        if isinstance(choices, (str, bytes)) or not hasattr(choices, "__iter__"):
            raise ValueError(f"{where}[{name!r}]: Categorical needs a list of values, got "
                             f"{choices!r}.")
        choices = list(choices)
        if not choices:
            raise ValueError(f"{where}[{name!r}] is an empty list; give at least one value.")
        _Labels(choices, f"{where}[{name!r}]")  # checks the values
        return Categorical(choices)
    if isinstance(spec, (Float, Int)):
        kind = "Float" if isinstance(spec, Float) else "Int"
        number = numbers.Real if kind == "Float" else numbers.Integral
        for bound in ("low", "high"):
            value = getattr(spec, bound)
            if not isinstance(value, number) or isinstance(value, bool) or not math.isfinite(
                    value):
                raise ValueError(f"{where}[{name!r}]: {kind} {bound} must be a finite "
                                 f"{'number' if kind == 'Float' else 'integer'}, got {value!r}.")
        if spec.high < spec.low or (kind == "Float" and spec.high == spec.low):
            raise ValueError(f"{where}[{name!r}]: {kind} needs low < high, got "
                             f"low={spec.low!r}, high={spec.high!r}.")
        if spec.log and spec.low <= 0:
            raise ValueError(f"{where}[{name!r}]: a log range needs low > 0, got "
                             f"low={spec.low!r}.")
        if kind == "Float" and spec.log and spec.step is not None:
            raise ValueError(f"{where}[{name!r}]: Float takes log or step, not both.")
        if kind == "Int" and (not isinstance(spec.step, numbers.Integral) or spec.step < 1 or (
                spec.log and spec.step != 1)):
            raise ValueError(f"{where}[{name!r}]: Int step must be an integer >= 1 (1 with "
                             f"log), got {spec.step!r}.")
        return spec
    raise ValueError(
        f"{where}[{name!r}] must be a list of values, a Categorical, Float or Int, or an "
        f"optuna distribution; got {spec!r}."
    )


def _to_optuna(spec, labels=None):
    if isinstance(spec, Float):
        return FloatDistribution(spec.low, spec.high, log=bool(spec.log), step=spec.step)
    if isinstance(spec, Int):
        return IntDistribution(spec.low, spec.high, log=bool(spec.log), step=spec.step)
    return labels.distribution()


class SearchSpace:
    """The checked search space and its Optuna encoding (internal).

    Parameters
    ----------
    search_space : dict or list of dict
        The user's search space.
    grid : bool
        Build the flat list of grid candidates (every spec must be a list).
    """

    def __init__(self, search_space, *, grid):
        self.grid = grid
        if isinstance(search_space, dict):
            spaces = [search_space]
        elif isinstance(search_space, (list, tuple)):
            spaces = list(search_space)
        else:
            raise ValueError(
                f"search_space must be a dict of parameter specs or a list of such dicts, "
                f"got {type(search_space).__name__}."
            )
        if not spaces:
            raise ValueError("search_space is empty: give at least one parameter to search.")
        self.subspaces = []
        for k, space in enumerate(spaces):
            where = "search_space" if len(spaces) == 1 else f"search_space[{k}]"
            if not isinstance(space, dict):
                raise ValueError(f"{where} must be a dict of parameter specs, got {space!r}.")
            if not space:
                raise ValueError(f"{where} is empty: give at least one parameter to search.")
            normal = {}
            for name, spec in space.items():
                if not isinstance(name, str) or not name:
                    raise ValueError(f"{where} has a parameter name that is not a string: "
                                     f"{name!r}.")
                if name in (CANDIDATE_PARAM, SUBSPACE_PARAM):
                    raise ValueError(f"{where}: the parameter name {name!r} is reserved.")
                normal[name] = _normalise_spec(name, spec, where)
                if grid and not isinstance(normal[name], Categorical):
                    raise ValueError(
                        f"{where}[{name!r}] is a range ({normal[name]!r}); sampler='grid' "
                        "needs a list of values for every parameter. Use a list, or "
                        "sampler='tpe' / 'random' with n_trials."
                    )
            self.subspaces.append(normal)
        if grid:
            self._build_grid()
        else:
            self._build_sampled()

    # ------------------------------------------------------------ common
    @property
    def param_names(self):
        """All parameter names, in order of first appearance."""
        names = []
        for space in self.subspaces:
            names.extend(n for n in space if n not in names)
        return names

    def fingerprint(self):
        """A string that changes whenever the space (or its strategy) does."""
        kind = "grid" if self.grid else "sampled"
        return f"{kind}:{self.subspaces!r}"

    # -------------------------------------------------------------- grid
    def _build_grid(self):
        self.candidates = []
        for space in self.subspaces:
            names = list(space)
            for values in itertools.product(*(space[n].choices for n in names)):
                self.candidates.append(dict(zip(names, values)))
        union = {}
        for cand in self.candidates:
            for name, value in cand.items():
                seen = union.setdefault(name, [])
                if all(repr(value) != repr(v) for v in seen):
                    seen.append(value)
        self._grid_labels = {name: _Labels(values, f"search_space[{name!r}]")
                             for name, values in union.items()}

    @property
    def n_candidates(self):
        return len(self.candidates)

    def grid_distribution(self, name):
        """The categorical distribution of parameter ``name`` over the whole grid."""
        return self._grid_labels[name].distribution()

    def grid_label(self, candidate, name):
        """The stored label of parameter ``name`` of candidate number ``candidate``."""
        return self._grid_labels[name].label(self.candidates[candidate][name])

    # ----------------------------------------------------------- sampled
    def _build_sampled(self):
        self.selector = None
        self.selector_labels = None
        if len(self.subspaces) > 1:
            self._find_selector()
        # Optuna name of each (sub-space, parameter): the plain name when the
        # parameter has the same spec wherever it appears, else tagged with
        # the sub-space, since one name must keep one distribution.
        self._names = []
        self._labels = []
        for k, space in enumerate(self.subspaces):
            names, labels = {}, {}
            for name, spec in space.items():
                if name == self.selector:
                    continue
                same = all(other[name] == spec for other in self.subspaces if name in other)
                tag = self.selector_labels.labels[k] if self.selector else k
                names[name] = name if same else f"{name}[{tag}]"
                if isinstance(spec, Categorical):
                    labels[name] = _Labels(spec.choices, f"search_space[{name!r}]")
            self._names.append(names)
            self._labels.append(labels)

    def _find_selector(self):
        """The parameter with one distinct single value per sub-space (e.g. ``arch``)."""
        for name in self.subspaces[0]:
            specs = [space.get(name) for space in self.subspaces]
            if not all(isinstance(s, Categorical) and len(s.choices) == 1 for s in specs):
                continue
            values = [s.choices[0] for s in specs]
            if len({repr(v) for v in values}) == len(values):
                self.selector = name
                self.selector_labels = _Labels(values, f"search_space[*][{name!r}]")
                return
        self.selector = SUBSPACE_PARAM
        self.selector_labels = _Labels(list(range(len(self.subspaces))), "sub-spaces")

    def suggest(self, trial):
        """Sample a point with ``trial``; return the estimator parameters."""
        k = 0
        params = {}
        if self.selector is not None:
            label = trial.suggest_categorical(self.selector, self.selector_labels.labels)
            k = self.selector_labels.labels.index(label)
            if self.selector != SUBSPACE_PARAM:
                params[self.selector] = self.selector_labels.value(label)
        space = self.subspaces[k]
        for name, spec in space.items():
            if name == self.selector:
                continue
            key = self._names[k][name]
            if isinstance(spec, Float):
                params[name] = trial.suggest_float(key, spec.low, spec.high, log=bool(spec.log),
                                                   step=spec.step)
            elif isinstance(spec, Int):
                params[name] = trial.suggest_int(key, spec.low, spec.high, log=bool(spec.log),
                                                 step=spec.step)
            else:
                labels = self._labels[k][name]
                params[name] = labels.value(trial.suggest_categorical(key, labels.labels))
        return params

    # ---------------------------------------------------------- decoding
    def decode(self, params):
        """Estimator parameters of a stored trial's Optuna ``params`` (None if foreign)."""
        try:
            if self.grid:
                return dict(self.candidates[params[CANDIDATE_PARAM]])
            k = 0
            out = {}
            if self.selector is not None:
                label = params[self.selector]
                k = self.selector_labels.labels.index(label)
                if self.selector != SUBSPACE_PARAM:
                    out[self.selector] = self.selector_labels.value(label)
            for name, spec in self.subspaces[k].items():
                if name == self.selector:
                    continue
                value = params[self._names[k][name]]
                if isinstance(spec, Categorical):
                    value = self._labels[k][name].value(value)
                out[name] = value
            return out
        except (KeyError, IndexError, ValueError, TypeError):
            return None
