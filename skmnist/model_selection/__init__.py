"""Optuna-driven architecture search that sees only scikit-learn estimators.

:class:`ArchitectureSearchCV` searches architectures and their settings
(grids, or ranges sampled by TPE or at random), cross-validated with fixed
splits and pruned epoch by epoch through ``partial_fit``; its study lives in
memory, in a file or in a database that any number of workers share.
"""

from ._search import ArchitectureSearchCV
from ._space import Categorical, Float, Int

__all__ = ["ArchitectureSearchCV", "Categorical", "Float", "Int"]
