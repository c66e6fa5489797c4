"""The shared edge (model Part II): many tasks per slot competing for servers that run one
block at a time; the :class:`Scenario`, its evaluation, generator and solvers.

Its modules: ``model`` (Scenario, Task, ChainModel, EdgeDevice, EdgeServer),
``evaluation`` (:func:`evaluate_scenario`, FIFO dispatch), ``generators`` (``shared``),
``kernels`` (list scheduling and pricing kernels), ``solvers`` (CP-SAT, MILP, branch and
bound with a column-generation LP, the exact portfolio, heuristics).
"""

from partopt.shared.evaluation import ScenarioEvaluation, evaluate_scenario
from partopt.shared.model import ChainModel, EdgeDevice, EdgeServer, Scenario, Task

__all__ = [
    "ChainModel",
    "EdgeDevice",
    "EdgeServer",
    "Scenario",
    "ScenarioEvaluation",
    "Task",
    "evaluate_scenario",
]
