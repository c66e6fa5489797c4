"""A horizon of slots sharing one battery (model Part III): the :class:`Horizon`, its
evaluation, generator and solvers (the exact Pareto-front merge, and online policies:
myopic, fair share, Lyapunov drift-plus-penalty).

Its modules: ``model`` (Horizon), ``evaluation`` (:func:`evaluate_horizon`), ``generators``
(``horizon``), ``solvers``.
"""

from partopt.horizon.evaluation import HorizonEvaluation, evaluate_horizon
from partopt.horizon.model import Horizon

__all__ = ["Horizon", "HorizonEvaluation", "evaluate_horizon"]
