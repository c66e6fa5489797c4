"""A horizon of slots sharing one battery (model Part III): :class:`Horizon` and its evaluation.

Slots t = 1..T each hold one Part I instance; the device starts with E^max joules and
each slot's device energy E(t) is taken from what remains, E^r(t) = E^max - sum_{i<t}
E(i) (eq. 11). A solution places every slot's chain; it keeps the battery when
sum_t E(t) <= E^max, that is when E^r never goes below zero.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from partopt import formulas as f
from partopt.chain import Evaluation, EvaluationCore, evaluate_chain
from partopt.model import FORMAT as INSTANCE_FORMAT
from partopt.model import (
    Instance,
    InstanceError,
    InstanceTypeError,
    check_keys,
    drop_none,
    name_field,
    number_field,
    prefixed,
)

__all__ = ["FORMAT", "Horizon", "HorizonEvaluation", "evaluate_horizon"]

FORMAT = "partopt.horizon/1"
_KEYS = {"format", "name", "energy_max_j", "slots"}


@dataclass(frozen=True)
class Horizon:
    """T slots, each a Part I instance, drawing on one battery.

    Parameters
    ----------
    slots : tuple of Instance
        The slots' chains, in time order. A slot's own ``energy_budget_j``, if any,
        caps that slot alone, on top of the battery.
    energy_max_j : float
        E^max, the battery at the start of slot 1 (J).
    name : str or None
        Optional label.
    """

    slots: tuple[Instance, ...]
    energy_max_j: float
    name: str | None = None

    def __post_init__(self):
        slots = self.slots
        if isinstance(slots, (str, bytes, Mapping)) or not isinstance(slots, Sequence):
            raise InstanceTypeError("slots", f"must be a list of instances, got {type(slots).__name__}")
        if len(slots) == 0:
            raise InstanceError("slots", "needs at least one slot (T >= 1)")
        for t, inst in enumerate(slots):
            if not isinstance(inst, Instance):
                raise InstanceTypeError(f"slots[{t}]", f"must be an Instance, got {type(inst).__name__}")
        object.__setattr__(self, "slots", tuple(slots))
        object.__setattr__(self, "energy_max_j", number_field(self.energy_max_j, "energy_max_j", lower="nonneg"))
        object.__setattr__(self, "name", name_field(self.name, "name"))

    def replace(self, **changes) -> "Horizon":
        """A copy with some fields changed (validated like a new horizon)."""
        return dataclasses.replace(self, **changes)

    @property
    def num_slots(self) -> int:
        """T."""
        return len(self.slots)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Horizon":
        """Build a horizon from a ``partopt.horizon/1`` dict; errors name the field (``slots[3].blocks[2].cycles``)."""
        check_keys(d, _KEYS, {"format", "energy_max_j", "slots"}, "")
        if d["format"] != FORMAT:
            raise InstanceError("format", f"must be {FORMAT!r}")
        raw = d["slots"]
        if not isinstance(raw, list):
            raise InstanceTypeError("slots", f"must be a list, got {type(raw).__name__}")
        slots = []
        for t, slot in enumerate(raw):
            if not isinstance(slot, Mapping):
                raise InstanceTypeError(f"slots[{t}]", f"must be an instance object, got {type(slot).__name__}")
            try:
                slots.append(Instance.from_dict({"format": INSTANCE_FORMAT, **slot}))
            except (InstanceError, InstanceTypeError) as error:
                raise prefixed(error, f"slots[{t}]") from None
        return cls(slots=tuple(slots), energy_max_j=d["energy_max_j"], name=d.get("name"))

    def to_dict(self) -> dict[str, Any]:
        """The ``partopt.horizon/1`` dict (each slot an instance object without its format tag)."""
        slots = [{k: v for k, v in inst.to_dict().items() if k != "format"} for inst in self.slots]
        return drop_none({"format": FORMAT, "name": self.name, "energy_max_j": self.energy_max_j, "slots": slots})

    def __repr__(self) -> str:
        return f"Horizon(name={self.name!r}, T={self.num_slots}, energy_max_j={self.energy_max_j:g})"


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


def evaluate_horizon(horizon: Horizon, placements: Sequence) -> HorizonEvaluation:
    """Price one placement per slot (see :func:`partopt.evaluate`); errors name the slot."""
    if isinstance(placements, (str, bytes, Mapping)) or not isinstance(placements, Sequence):
        raise InstanceTypeError("placement", f"must be a list of one placement per slot, got "
                                f"{type(placements).__name__}")
    if len(placements) != horizon.num_slots:
        raise InstanceError("placement", f"needs one placement per slot ({horizon.num_slots}), got {len(placements)}")
    slots = []
    for t, (inst, placement) in enumerate(zip(horizon.slots, placements)):
        try:
            slots.append(evaluate_chain(inst, placement))
        except (InstanceError, InstanceTypeError) as error:  # placement[m] -> placement[t][m]
            raise type(error)(error.field.replace("placement", f"placement[{t}]", 1), error.problem) from None
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
