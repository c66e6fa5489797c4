"""Seeded generator of horizons of slots sharing a battery (model Part III): ``horizon``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from partopt import generation
from partopt.chain.costs import along
from partopt.chain.solvers.dp import extreme_paths
from partopt.generation import Generator, get_generator
from partopt.horizon.model import Horizon
from partopt.objective import Objective

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class HorizonGenerator(Generator):
    """Horizons of slots sharing a battery (model Part III), each slot drawn from another generator.

    The battery is set to bind: E^max = E_low + ``battery`` (E_free - E_low), where E_low
    sums each slot's least device energy (deadlines kept) and E_free the energy of each
    slot's own optimum. ``battery`` = 1 lets every slot take its optimum; 0 leaves only
    the least-energy placements.

    Parameters
    ----------
    slots : int
        T (600 is the source paper's horizon).
    generator : str
        The slots' generator ("paper", "dil" or "random").
    slot_params : dict
        Its parameters, e.g. ``{"num_servers": 4}``.
    battery : float
        Where E^max lies between E_low and E_free, in [0, 1].
    """

    slots: int = 600
    generator: str = "paper"
    slot_params: Any = None
    battery: float = 0.5

    name = "horizon"

    def __post_init__(self):
        if isinstance(self.slots, bool) or not isinstance(self.slots, int) or self.slots < 1:
            raise ValueError(f"slots: must be an int >= 1, got {self.slots!r}")
        if self.slots > generation.MAX_SLOTS:
            raise ValueError(
                f"slots: {self.slots:,} is more than partopt.generation.MAX_SLOTS = "
                f"{generation.MAX_SLOTS:,} "
                f"(each slot is an instance in memory; raise the cap to allow it)"
            )
        if self.generator not in ("paper", "dil", "random"):
            raise ValueError(
                f"generator: must be 'paper', 'dil' or 'random' (one chain per slot), got {self.generator!r}"
            )
        if (
            isinstance(self.battery, bool)
            or not isinstance(self.battery, (int, float))
            or not 0.0 <= self.battery <= 1.0
        ):
            raise ValueError(f"battery: must be a number in [0, 1], got {self.battery!r}")
        if self.slot_params is not None and not isinstance(self.slot_params, dict):
            raise ValueError(
                f"slot_params: must be a dict of the slot generator's parameters, got {type(self.slot_params).__name__}"
            )
        get_generator(self.generator, **(self.slot_params or {}))  # names a bad parameter now

    def sample(self, rng: np.random.Generator):
        slot_gen = get_generator(self.generator, **(self.slot_params or {}))
        slots = tuple(slot_gen.sample(rng).replace(name=f"slot{t}") for t in range(self.slots))
        low = free = 0.0
        for inst in slots:
            energy = inst.costs.energy[0]
            fastest, _, frugal, _ = extreme_paths(Objective().step_cost(inst.costs)[0], energy)
            free += float(along(energy, fastest).sum())
            low += float(along(energy, frugal).sum())
        return Horizon(slots=slots, energy_max_j=low + self.battery * (free - low))
