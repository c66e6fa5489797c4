"""What a solver minimizes (:class:`Objective`) and what every evaluation offers (:class:`EvaluationCore`).

The cost itself comes from :func:`partopt.problem.evaluate`, which hands each problem kind to
its own evaluation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from partopt import formulas as f

if TYPE_CHECKING:
    from partopt.chain.costs import CostTensors
    from partopt.problem import AnyEvaluation
    from partopt.shared.evaluation import ScheduleSummary

__all__ = ["OBJECTIVES", "EvaluationCore", "Objective"]

#: What an :class:`Objective` can judge: an evaluation, or a search's FIFO summary.
Judged: TypeAlias = "AnyEvaluation | ScheduleSummary"

OBJECTIVES = ("hard", "penalty")


class EvaluationCore:
    """What every evaluation (a chain's, a scenario's, a horizon's) offers beyond its fields: the
    reward of eq. (14), and what ``print`` shows, its core fields in a few readable lines rather
    than the dataclass's every field (``repr`` still has them)."""

    def reward(self, beta: float) -> float:
        """Eq. (14): -(total delay + beta psi), with beta in s per s."""
        ev: Any = self
        return f.reward(ev.total_delay, ev.penalty, beta)

    def summary(self) -> str:
        """Total delay, energy, penalty and the constraint flags, one line each."""
        ev: Any = self
        lines = [
            f"total delay  {ev.total_delay:.6g} s",
            f"energy       {ev.energy:.6g} J",
            f"penalty psi  {ev.penalty:.4g} s",
            f"deadlines met: {ev.deadlines_met}; budget kept: {ev.budget_kept}; feasible: {ev.feasible}",
        ]
        problems = getattr(ev, "problems", ())
        if problems:
            lines.append(f"invalid schedule: {len(problems)} problems, first: {problems[0]}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


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
