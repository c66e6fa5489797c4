"""The cost of a horizon's placements (model Part III): :class:`HorizonEvaluation` and
:func:`evaluate_horizon`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from partopt import formulas as f
from partopt.chain.evaluation import Evaluation, evaluate_chain
from partopt.horizon.model import validate_horizon_placement
from partopt.objective import EvaluationCore

if TYPE_CHECKING:
    from partopt.horizon.model import Horizon


@dataclass(frozen=True)
class HorizonEvaluation(EvaluationCore):
    """The cost of one placement of every slot (seconds and joules).

    Attributes
    ----------
    placement : tuple of tuple of int
        One placement per slot.
    slots : tuple of Evaluation
        Each slot priced alone (its delays, energy, deadlines, own budget).
    slot_delay, slot_energy, slot_penalty : tuple of float
        Per slot: L(t) (s), E(t) (J), psi(t) (s).
    remaining_energy : tuple of float
        E^r after each slot (J); negative once the battery has run out.
    total_delay, energy, penalty : float
        Sums over the slots (s, J, s).
    energy_max_j : float
        The battery (J).
    """

    placement: tuple[tuple[int, ...], ...]
    slots: tuple[Evaluation, ...]
    slot_delay: tuple[float, ...]
    slot_energy: tuple[float, ...]
    slot_penalty: tuple[float, ...]
    remaining_energy: tuple[float, ...]
    total_delay: float
    energy: float
    penalty: float
    energy_max_j: float

    @property
    def valid(self) -> bool:
        """Always True: slots have no schedule to break."""
        return True

    @property
    def battery_kept(self) -> bool:
        """True when the summed energy is within E^max (E^r never below zero)."""
        return bool(f.within(self.energy, self.energy_max_j))

    @property
    def empty_slot(self) -> int | None:
        """The first slot (0-based) after which the battery is short, or None when it never is."""
        spent = np.cumsum(self.slot_energy)
        short = ~f.within(spent, self.energy_max_j)
        return int(np.argmax(short)) if short.any() else None

    @property
    def deadlines_met(self) -> bool:
        """True when every slot meets every block deadline."""
        return all(ev.deadlines_met for ev in self.slots)

    @property
    def budget_kept(self) -> bool:
        """True when the battery and every slot's own budget are kept."""
        return self.battery_kept and all(ev.budget_kept for ev in self.slots)

    @property
    def feasible(self) -> bool:
        """Deadlines met, budgets and battery kept."""
        return self.deadlines_met and self.budget_kept

    @property
    def local_delay(self) -> float:
        """Delay of blocks run on the devices (s)."""
        return float(sum(ev.local_delay for ev in self.slots))

    @property
    def edge_delay(self) -> float:
        """Delay of blocks run on servers (s)."""
        return float(sum(ev.edge_delay for ev in self.slots))


def evaluate_horizon(horizon: Horizon, placements: Sequence, start_s: None = None) -> HorizonEvaluation:
    """Price one placement per slot (see :func:`partopt.evaluate`); errors name the slot. ``start_s``
    must be None (only scenarios have start times)."""
    if start_s is not None:
        raise ValueError("start_s: start times belong to scenarios; a horizon's slots have no schedule")
    slots = [
        evaluate_chain(inst, row) for inst, row in zip(horizon.slots, validate_horizon_placement(horizon, placements))
    ]
    energy = np.array([ev.energy for ev in slots])
    remaining = horizon.energy_max_j - np.cumsum(energy)
    return HorizonEvaluation(
        placement=tuple(ev.placement for ev in slots),
        slots=tuple(slots),
        slot_delay=tuple(ev.total_delay for ev in slots),
        slot_energy=tuple(energy.tolist()),
        slot_penalty=tuple(ev.penalty for ev in slots),
        remaining_energy=tuple(remaining.tolist()),
        total_delay=float(sum(ev.total_delay for ev in slots)),
        energy=float(energy.sum()),
        penalty=float(sum(ev.penalty for ev in slots)),
        energy_max_j=horizon.energy_max_j,
    )
