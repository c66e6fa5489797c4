"""A horizon of slots sharing one battery (model Part III): :class:`Horizon`.

Slots t = 1..T each hold one Part I instance; the device starts with E^max joules and
each slot's device energy E(t) is taken from what remains, E^r(t) = E^max - sum_{i<t}
E(i) (eq. 11). A solution places every slot's chain; it keeps the battery when
sum_t E(t) <= E^max, that is when E^r never goes below zero.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

from partopt.chain.model import FORMAT as INSTANCE_FORMAT
from partopt.chain.model import Instance, validate_placement
from partopt.fields import InstanceError, InstanceTypeError, check_keys, drop_none, name_field, number_field, prefixed

__all__ = ["FORMAT", "Horizon", "validate_horizon_placement"]

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

    #: The problem kind (see :data:`partopt.problem.KINDS`).
    kind: ClassVar[str] = "horizon"
    #: The solver :func:`partopt.solve` runs when none is named.
    default_solver: ClassVar[str] = "horizon-exact"
    #: Whether a solution carries start times (checked by the evaluation) besides its placement.
    scheduled: ClassVar[bool] = False

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


def validate_horizon_placement(horizon: Horizon, placements: Any) -> tuple[tuple[int, ...], ...]:
    """Check one placement per slot and return them as tuples of ints; errors name the slot
    (``placement[3][2]``)."""
    if isinstance(placements, (str, bytes, Mapping)) or not isinstance(placements, Sequence):
        raise InstanceTypeError(
            "placement", f"must be a list of one placement per slot, got {type(placements).__name__}"
        )
    if len(placements) != horizon.num_slots:
        raise InstanceError("placement", f"needs one placement per slot ({horizon.num_slots}), got {len(placements)}")
    out = []
    for t, (inst, placement) in enumerate(zip(horizon.slots, placements)):
        try:
            out.append(validate_placement(inst, placement))
        except (InstanceError, InstanceTypeError) as error:  # placement[m] -> placement[t][m]
            raise type(error)(error.field.replace("placement", f"placement[{t}]", 1), error.problem) from None
    return tuple(out)
