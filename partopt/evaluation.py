"""The one cost function: :func:`evaluate` and the :class:`Objective` that reads it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from partopt import formulas as f
from partopt.chain import Evaluation, evaluate_chain
from partopt.costs import CostTensors
from partopt.horizon import Horizon, HorizonEvaluation, evaluate_horizon
from partopt.model import Instance
from partopt.scenario import Scenario
from partopt.schedule import ScenarioEvaluation, ScheduleSummary, evaluate_scenario

__all__ = ["Evaluation", "Objective", "evaluate", "OBJECTIVES", "ScenarioEvaluation", "HorizonEvaluation"]

AnyEvaluation = Evaluation | ScenarioEvaluation | HorizonEvaluation
#: What an :class:`Objective` can judge: an evaluation, or a search's FIFO summary.
Judged = AnyEvaluation | ScheduleSummary

OBJECTIVES = ("hard", "penalty")


@dataclass(frozen=True)
class Objective:
    """What a solver minimizes.

    Parameters
    ----------
    kind : {"hard", "penalty"}
        "hard" (problem P): total delay subject to every deadline and the budget.
        "penalty": total delay + beta psi subject to the budget only.
    beta : float
        Weight of the deadline penalty psi under "penalty" (s per s, >= 0).
    """

    kind: str = "hard"
    beta: float = 1.0

    def __post_init__(self):
        if self.kind not in OBJECTIVES:
            raise ValueError(f"objective: must be one of {OBJECTIVES}, got {self.kind!r}")
        beta = float(self.beta)
        if not math.isfinite(beta) or beta < 0:
            raise ValueError(f"beta: must be a finite number >= 0, got {self.beta!r}")
        object.__setattr__(self, "beta", beta)

    def feasible(self, evaluation: Judged) -> bool:
        """Whether ``evaluation`` satisfies this objective's constraints (an invalid schedule never does)."""
        if self.kind == "hard":
            return evaluation.feasible
        return evaluation.valid and evaluation.budget_kept

    def raw_value(self, evaluation: Judged) -> float:
        """The minimized quantity, ignoring feasibility: L (hard) or L + beta psi (penalty)."""
        if self.kind == "hard":
            return evaluation.total_delay
        return float(f.penalized_delay(evaluation.total_delay, evaluation.penalty, self.beta))

    def raw_cost(self, delay_s, deadline_s):
        """Element-wise cost of blocks with delays L_m and deadlines tau_m (s), ignoring
        feasibility: L_m (hard) or L_m + beta max(L_m - tau_m, 0) (penalty). Summed over a
        chain's blocks it gives :meth:`raw_value`."""
        if self.kind == "hard":
            return np.asarray(delay_s, dtype=float)
        return f.penalized_delay(delay_s, f.deadline_excess(delay_s, deadline_s), self.beta)

    def value(self, evaluation: AnyEvaluation | None) -> float:
        """The objective value, inf when there is no placement or it breaks a constraint."""
        if evaluation is None or not self.feasible(evaluation):
            return math.inf
        return self.raw_value(evaluation)

    def step_cost(self, costs: CostTensors) -> np.ndarray:
        """This objective's cost of every move of ``costs``, shape (B, M, N+1, N+1) (s): the
        :meth:`raw_cost`, and inf under "hard" where the move breaks its block's deadline (C2)."""
        cost = self.raw_cost(costs.delay, costs.deadlines[:, :, None, None])
        return np.where(costs.allowed(), cost, np.inf) if self.kind == "hard" else cost

    def __str__(self) -> str:
        return self.kind if self.kind == "hard" else f"penalty(beta={self.beta:g})"


def evaluate(instance: Instance | Scenario | Horizon, placement: Sequence, start_s: Sequence | None = None):
    """The exact cost of ``placement`` on ``instance``: delays, energy, penalty and flags.

    This is the single source of cost in partopt: solvers' objectives, the
    environment's reward and the benchmarks all come from it.

    Parameters
    ----------
    instance : Instance, Scenario or Horizon
        One chain (Part I), a shared-edge scenario (Part II) or a horizon of slots (Part III).
    placement : sequence
        For an instance, one location per block (0 the device, 1..N a server); for a
        scenario, one such list per task; for a horizon, one per slot.
    start_s : sequence of sequences of float, optional
        Scenarios only: every block's start time (s). None schedules the placement by
        FIFO dispatch; a given schedule is checked, and its problems reported.

    Returns
    -------
    Evaluation, ScenarioEvaluation or HorizonEvaluation
    """
    if isinstance(instance, Horizon):
        if start_s is not None:
            raise ValueError("start_s: start times belong to scenarios; a horizon's slots have no schedule")
        return evaluate_horizon(instance, placement)
    if isinstance(instance, Scenario):
        return evaluate_scenario(instance, placement, start_s)
    if start_s is not None:
        raise ValueError("start_s: start times belong to scenarios; one chain alone has no schedule")
    return evaluate_chain(instance, placement)
