"""The one cost function: :func:`evaluate` and the :class:`Objective` that reads it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from partopt import formulas as f
from partopt.costs import path_costs
from partopt.model import Instance, validate_placement
from partopt.scenario import Scenario
from partopt.schedule import ScenarioEvaluation, evaluate_scenario

__all__ = ["Evaluation", "Objective", "evaluate", "OBJECTIVES", "ScenarioEvaluation"]

OBJECTIVES = ("hard", "penalty")


@dataclass(frozen=True)
class Evaluation:
    """The cost of one placement on one instance (seconds and joules).

    Per block m: ``transmission_delay`` (its input's move, eq. 5), ``computation_delay``
    (eqs. 3, 6), ``block_delay`` L_m (eqs. 8-9 corrected; the last block includes the
    output's return), ``block_energy`` (device energy, eqs. 4 and 7) and
    ``deadline_met``. Totals: ``total_delay`` L (eq. 10a), ``energy`` E, ``penalty``
    psi (eq. 13). ``local_delay`` and ``edge_delay`` split L by where blocks run.
    """

    placement: tuple[int, ...]
    transmission_delay: tuple[float, ...]
    computation_delay: tuple[float, ...]
    return_delay: float
    block_delay: tuple[float, ...]
    block_energy: tuple[float, ...]
    deadline_met: tuple[bool, ...]
    total_delay: float
    energy: float
    penalty: float
    local_delay: float
    edge_delay: float
    energy_budget_j: float | None

    @property
    def valid(self) -> bool:
        """Always True: one chain alone has no schedule to break."""
        return True

    @property
    def deadlines_met(self) -> bool:
        """True when every block meets its deadline (constraint C2)."""
        return all(self.deadline_met)

    @property
    def budget_kept(self) -> bool:
        """True when the device energy is within the budget (or there is none)."""
        return self.energy_budget_j is None or bool(f.within(self.energy, self.energy_budget_j))

    @property
    def feasible(self) -> bool:
        """True when the placement is feasible for problem P: deadlines met and budget kept."""
        return self.deadlines_met and self.budget_kept

    def reward(self, beta: float) -> float:
        """Eq. (14): -(L + beta psi)."""
        return f.reward(self.total_delay, self.penalty, beta)


@dataclass(frozen=True)
class Objective:
    """What a solver minimizes.

    ``hard`` (problem P): total delay subject to every deadline and the budget.
    ``penalty``: total delay + beta * psi subject to the budget only.
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

    def feasible(self, evaluation: Evaluation | ScenarioEvaluation) -> bool:
        """Whether ``evaluation`` satisfies this objective's constraints (an invalid schedule never does)."""
        if self.kind == "hard":
            return evaluation.feasible
        return evaluation.valid and evaluation.budget_kept

    def raw_value(self, evaluation: Evaluation | ScenarioEvaluation) -> float:
        """The minimized quantity, ignoring feasibility: L (hard) or L + beta psi (penalty)."""
        if self.kind == "hard":
            return evaluation.total_delay
        return evaluation.total_delay + self.beta * evaluation.penalty

    def value(self, evaluation: Evaluation | ScenarioEvaluation | None) -> float:
        """The objective value, inf when there is no placement or it breaks a constraint."""
        if evaluation is None or not self.feasible(evaluation):
            return math.inf
        return self.raw_value(evaluation)

    def step_cost(self, costs) -> np.ndarray:
        """This objective's cost for every move of :class:`partopt.costs.CostTensors`."""
        return costs.step_cost(self.kind, self.beta)

    def __str__(self) -> str:
        return self.kind if self.kind == "hard" else f"penalty(beta={self.beta:g})"


def evaluate(instance: Instance | Scenario, placement: Sequence, start_s: Sequence | None = None):
    """The exact cost of ``placement`` on ``instance``: delays, energy, penalty and flags.

    This is the single source of cost in partopt: solvers' objectives, the
    environment's reward and the benchmarks all come from it.

    Parameters
    ----------
    instance : Instance or Scenario
        One chain (Part I) or a shared-edge scenario (Part II).
    placement : sequence
        For an instance, one location per block (0 the device, 1..N a server); for a
        scenario, one such list per task.
    start_s : sequence of sequences of float, optional
        Scenarios only: every block's start time (s). None schedules the placement by
        FIFO dispatch; a given schedule is checked, and its problems reported.

    Returns
    -------
    Evaluation or ScenarioEvaluation
    """
    if isinstance(instance, Scenario):
        return evaluate_scenario(instance, placement, start_s)
    if start_s is not None:
        raise ValueError("start_s: start times belong to scenarios; one chain alone has no schedule")
    placement = validate_placement(instance, placement)
    path = path_costs(instance, placement)
    delay = path.delay
    met = f.within(delay, instance.deadlines)
    on_device = np.asarray(placement) == 0
    return Evaluation(
        placement=placement,
        transmission_delay=tuple(path.transmission.tolist()),
        computation_delay=tuple(path.computation.tolist()),
        return_delay=path.return_delay,
        block_delay=tuple(delay.tolist()),
        block_energy=tuple(path.energy.tolist()),
        deadline_met=tuple(bool(x) for x in met),
        total_delay=float(delay.sum()),
        energy=float(path.energy.sum()),
        penalty=f.penalty(delay, instance.deadlines),
        local_delay=float(delay[on_device].sum()),
        edge_delay=float(delay[~on_device].sum()),
        energy_budget_j=instance.energy_budget_j,
    )
