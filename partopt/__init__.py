"""partopt: place the blocks of a DNN on an IoT device or edge servers, fast and exactly.

    >>> import partopt
    >>> inst = partopt.generate("paper", seed=0)
    >>> result = partopt.solve(inst, solver="dp")
    >>> result.status, round(result.objective, 4)  # doctest: +SKIP

The model (units, formulas, file formats) is written in docs/model.md. ``import partopt``
loads NumPy only: OR-Tools, PuLP and torch load when a solver that needs them runs.
"""

from partopt.api import solve
from partopt.chain.costs import CostTensors, InstanceBatch, cost_tensors
from partopt.chain.evaluation import Evaluation
from partopt.chain.generators import DILGenerator, PaperGenerator, RandomGenerator
from partopt.chain.model import Block, Device, Instance, Server
from partopt.fields import InstanceError, InstanceTypeError
from partopt.files import read, write
from partopt.generation import generate, get_generator
from partopt.horizon.evaluation import HorizonEvaluation
from partopt.horizon.model import Horizon
from partopt.objective import Objective
from partopt.problem import evaluate, validate_placement
from partopt.profiles import load_profile
from partopt.registry import list_solvers, register_solver, unregister_solver
from partopt.result import InvalidBoundWarning, Result, Solution, SolverOutput, Status
from partopt.shared.evaluation import ScenarioEvaluation
from partopt.shared.model import ChainModel, EdgeDevice, EdgeServer, Scenario, Task
from partopt.stream.evaluation import StreamEvaluation
from partopt.stream.model import Battery, Stream

__version__ = "0.1.0"

__all__ = [
    "Battery",
    "Block",
    "ChainModel",
    "CostTensors",
    "DILGenerator",
    "Device",
    "EdgeDevice",
    "EdgeServer",
    "Evaluation",
    "Horizon",
    "HorizonEvaluation",
    "Instance",
    "InstanceBatch",
    "InstanceError",
    "InstanceTypeError",
    "InvalidBoundWarning",
    "Objective",
    "PaperGenerator",
    "RandomGenerator",
    "Result",
    "Scenario",
    "ScenarioEvaluation",
    "Server",
    "Solution",
    "SolverOutput",
    "Status",
    "Stream",
    "StreamEvaluation",
    "Task",
    "benchmark",  # noqa: F822 - loaded on first use by __getattr__
    "check_solver",  # noqa: F822 - loaded on first use by __getattr__
    "cost_tensors",
    "evaluate",
    "generate",
    "get_generator",
    "list_solvers",
    "load_profile",
    "profile",  # noqa: F822 - loaded on first use by __getattr__
    "read",
    "register_solver",
    "simulate",  # noqa: F822 - loaded on first use by __getattr__
    "solve",
    "unregister_solver",
    "validate_placement",
    "write",
]


def __getattr__(name):
    # Heavier entry points load on first use.
    if name == "check_solver":
        from partopt.bench.conformance import check_solver

        return check_solver
    if name == "benchmark":
        from partopt.bench.harness import benchmark

        return benchmark
    if name == "simulate":
        from partopt.stream.simulate import simulate

        return simulate
    if name == "profile":  # torch loads only when a profile is made
        from partopt.profiling import profile

        return profile
    raise AttributeError(f"module 'partopt' has no attribute {name!r}")
