"""One chain alone (model Part I): :class:`Evaluation` and :func:`evaluate_chain`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from partopt import formulas as f
from partopt.chain.costs import path_costs
from partopt.chain.model import Instance, validate_placement
from partopt.objective import EvaluationCore

__all__ = ["Evaluation", "evaluate_chain"]


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


def evaluate_chain(instance: Instance, placement: Sequence, start_s: None = None) -> Evaluation:
    """The exact cost of ``placement`` on one chain (see :func:`partopt.evaluate`); ``start_s``
    must be None (only scenarios have start times)."""
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
