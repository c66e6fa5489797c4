"""Where both exact shared-edge solvers (CP-SAT and MILP) start: per-task bounds, the
earliest-finish incumbent, and the answer when the limit passes while a model is built."""

from __future__ import annotations

import math
from dataclasses import dataclass

from partopt.evaluation import Objective
from partopt.result import SolverOutput
from partopt.scenario import Scenario
from partopt.solvers.shared.common import best_candidate, task_lower_bounds
from partopt.solvers.shared.heuristics import earliest_finish_schedule

__all__ = ["ExactStart", "exact_start", "incumbent_output"]


@dataclass(frozen=True)
class ExactStart:
    """What both exact solvers start from: per-task bounds on their objective share and on
    D_k alone (s), and the earliest-finish solution as hint and incumbent."""

    bounds: list[float]
    delay_low: list[float]
    incumbent: tuple[list, list]


def exact_start(scenario: Scenario, objective: Objective) -> ExactStart | SolverOutput:
    """The :class:`ExactStart` of ``scenario``, or the proof of infeasibility when under "hard"
    some task has no feasible placement even alone."""
    hard = objective.kind == "hard"
    bounds = task_lower_bounds(scenario, objective)
    if hard and any(math.isinf(b) for b in bounds):
        return SolverOutput(placement=None, proven_infeasible=True,
                            info={"reason": "a task has no feasible placement even alone"})
    delay_low = bounds if hard else task_lower_bounds(scenario, Objective("penalty", 0.0))  # on D_k alone
    return ExactStart(bounds, delay_low, earliest_finish_schedule(scenario, keep_deadlines=hard))


def incumbent_output(scenario: Scenario, objective: Objective, start: ExactStart, info: dict) -> SolverOutput:
    """The answer when the time limit passed while the model was built: the incumbent, not proven."""
    placement, start_s, _ = best_candidate(scenario, objective, [start.incumbent])
    return SolverOutput(placement=placement, start_s=start_s, timed_out=True, lower_bound=sum(start.bounds),
                        info={**info, "termination": "time limit reached while building the model"})
