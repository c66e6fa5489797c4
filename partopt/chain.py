"""One chain alone (model Part I): :class:`Evaluation` and :func:`evaluate_chain`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from partopt import formulas as f
from partopt.costs import path_costs
from partopt.model import Instance, validate_placement

__all__ = ["Evaluation", "evaluate_chain"]


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
        lines = [f"total delay  {ev.total_delay:.6g} s", f"energy       {ev.energy:.6g} J",
                 f"penalty psi  {ev.penalty:.4g} s",
                 f"deadlines met: {ev.deadlines_met}; budget kept: {ev.budget_kept}; feasible: {ev.feasible}"]
        problems = getattr(ev, "problems", ())
        if problems:
            lines.append(f"invalid schedule: {len(problems)} problems, first: {problems[0]}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True)
class Evaluation(EvaluationCore):
    """The cost of one placement on one instance (seconds and joules).

    Attributes
    ----------
    placement : tuple of int
        The placement priced.
    transmission_delay, computation_delay : tuple of float
        Per block m: its input's move (eq. 5) and its computation (eqs. 3, 6) (s).
    return_delay : float
        The result's return to the device (s).
    block_delay : tuple of float
        L_m (eqs. 8-9 corrected; the last block includes the return) (s).
    block_energy : tuple of float
        Device energy per block (eqs. 4 and 7) (J).
    deadline_met : tuple of bool
        Per block.
    total_delay, energy, penalty : float
        L (eq. 10a) (s), E (J), psi (eq. 13) (s).
    local_delay, edge_delay : float
        L split by where blocks run (s).
    energy_budget_j : float or None
        The instance's budget (J).
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


def evaluate_chain(instance: Instance, placement: Sequence) -> Evaluation:
    """The exact cost of ``placement`` on one chain (see :func:`partopt.evaluate`)."""
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
