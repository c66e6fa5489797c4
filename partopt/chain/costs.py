"""Cost tensors: every block's delay and device energy for every (from, to) move.

The chain structure makes the whole cost of a placement a sum of per-block terms
that depend only on (a_{m-1}, a_m). ``CostTensors`` tabulates those terms from the
formulas of :mod:`partopt.formulas`; :func:`partopt.evaluate`, every exact solver
and the environment read their costs from here, so there is one source of cost.

:class:`InstanceBatch` stacks many instances of one shape (M, N) as arrays so that
the tensors of a whole batch are built in a few NumPy operations.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from partopt import formulas as f

if TYPE_CHECKING:
    from partopt.chain.model import Instance

__all__ = [
    "CostTensors",
    "InstanceBatch",
    "PathCosts",
    "along",
    "along_batch",
    "cost_tensors",
    "link_rates",
    "path_costs",
    "path_rates",
]


#: Largest cost tables (bytes) that :func:`cost_tensors` builds; larger solves are refused up front.
MAX_TENSOR_BYTES = 8 * 2**30


@dataclass(frozen=True)
class InstanceBatch:
    """B instances of one shape (M, N) as arrays (SI units, inf where a value is absent).

    Attributes
    ----------
    cycles, input_bits, param_bits, deadlines : ndarray (B, M)
        The blocks' fields (``cycles``: on the device).
    server_cycles : ndarray (B, M, N)
        Every block's cycles on every server (``cycles`` unless a block states its own).
    device_hz, tx_power_w, kappa : ndarray (B,)
        The devices' fields.
    server_hz, uplink_bps : ndarray (B, N)
        The servers' fields.
    backhaul_bps, output_bits, energy_budget_j : ndarray (B,)
        The instances' fields.
    """

    cycles: np.ndarray
    server_cycles: np.ndarray
    input_bits: np.ndarray
    param_bits: np.ndarray
    deadlines: np.ndarray
    device_hz: np.ndarray
    tx_power_w: np.ndarray
    kappa: np.ndarray
    server_hz: np.ndarray
    uplink_bps: np.ndarray
    backhaul_bps: np.ndarray
    output_bits: np.ndarray
    energy_budget_j: np.ndarray

    @property
    def size(self) -> int:
        """B, the number of instances."""
        return self.cycles.shape[0]

    @property
    def shape(self) -> tuple[int, int]:
        """(M, N) shared by all instances."""
        return (self.cycles.shape[1], self.server_hz.shape[1])

    @classmethod
    def stack(cls, instances: Sequence[Instance]) -> "InstanceBatch":
        """Stack instances that all have the same (M, N)."""
        if len(instances) == 0:
            raise ValueError("instances: need at least one instance to stack")
        shapes = {inst.shape for inst in instances}
        if len(shapes) != 1:
            raise ValueError(f"instances: all must have one shape (M, N), got {sorted(shapes)}")
        return cls(
            cycles=np.stack([i.cycles for i in instances]),
            server_cycles=np.stack([i.location_cycles[:, 1:] for i in instances]),
            input_bits=np.stack([i.input_bits for i in instances]),
            param_bits=np.stack([i.param_bits for i in instances]),
            deadlines=np.stack([i.deadlines for i in instances]),
            device_hz=np.array([i.device.cpu_hz for i in instances]),
            tx_power_w=np.array([i.device.tx_power_w for i in instances]),
            kappa=np.array([i.device.kappa for i in instances]),
            server_hz=np.stack([i.location_hz[1:] for i in instances]),
            uplink_bps=np.stack([i.uplink_bps for i in instances]),
            backhaul_bps=np.array([i.backhaul_bps for i in instances]),
            output_bits=np.array([i.output_bits for i in instances]),
            energy_budget_j=np.array([i.budget for i in instances]),
        )


@dataclass(frozen=True)
class CostTensors:
    """Per-block costs of every move, for B instances (B = 1 for a single instance).

    For m = 0 only i = 0 is meaningful: the raw input starts on the device. The
    energy table is built on first use (a solve without a budget never needs it).

    Attributes
    ----------
    batch : InstanceBatch
        The instances the tables price.
    transmission : ndarray (B, M, N+1, N+1)
        [b, m, i, j]: delay of block m's input moving from i to j (s).
    computation : ndarray (B, M, N+1)
        [b, m, j]: delay of block m on location j (s).
    return_delay : ndarray (B, N+1)
        [b, j]: delay of the output returning from j to the device (s).
    delay : ndarray (B, M, N+1, N+1)
        [b, m, i, j]: block delay L_m when a_{m-1} = i and a_m = j, return included for the last block (s).
    energy : ndarray (B, M, N+1, N+1)
        Device energy of that step (J).
    deadlines : ndarray (B, M)
        (s, inf for none).
    budget : ndarray (B,)
        (J, inf for none).
    """

    batch: InstanceBatch
    transmission: np.ndarray
    computation: np.ndarray
    return_delay: np.ndarray
    delay: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """(M, N)."""
        return (self.delay.shape[1], self.delay.shape[2] - 1)

    @property
    def deadlines(self) -> np.ndarray:
        """tau_m of every block, (B, M) (s, inf for none)."""
        return self.batch.deadlines

    @property
    def budget(self) -> np.ndarray:
        """Each instance's energy budget, (B,) (J, inf for none)."""
        return self.batch.energy_budget_j

    @functools.cached_property
    def energy(self) -> np.ndarray:
        """Device energy of every move, (B, M, N+1, N+1) (J): eq. (4) on moves that end on
        the device, eq. (7) on moves from the device to a server."""
        batch = self.batch
        energy = np.zeros(self.delay.shape)
        energy[:, :, :, 0] += f.local_computation_energy(batch.cycles, batch.device_hz[:, None], batch.kappa[:, None])[
            :, :, None
        ]
        energy[:, :, 0, 1:] += f.transmission_energy(
            batch.input_bits[:, :, None], batch.uplink_bps[:, None, :], batch.tx_power_w[:, None, None]
        )
        return energy

    def allowed(self) -> np.ndarray:
        """Moves that keep their block's deadline (constraint C2), shape (B, M, N+1, N+1)."""
        return f.within(self.delay, self.deadlines[:, :, None, None])


def _previous(placements: np.ndarray) -> np.ndarray:
    """a_{m-1} for every block m of placements (..., M), with a_0 = 0 (the device)."""
    return np.concatenate(
        [np.zeros((*placements.shape[:-1], 1), dtype=placements.dtype), placements[..., :-1]], axis=-1
    )


def along(table: np.ndarray, placements) -> np.ndarray:
    """``table[m, a_{m-1}, a_m]`` for every block m of each placement, with a_0 = 0.

    table: one instance's per-move table (M, L, L); placements: (M,) or (P, M) ints.
    Returns an array of the placements' shape.
    """
    placements = np.asarray(placements)
    return table[np.arange(placements.shape[-1]), _previous(placements), placements]


def along_batch(tables: np.ndarray, placements: np.ndarray) -> np.ndarray:
    """``tables[b, m, a_{m-1}, a_m]`` for B instances' tables (B, M, L, L) and placements (B, M), a_0 = 0."""
    placements = np.asarray(placements)
    rows = np.arange(len(placements))[:, None]
    return tables[rows, np.arange(placements.shape[1])[None, :], _previous(placements), placements]


def link_rates(uplink_bps: np.ndarray, backhaul_bps: np.ndarray) -> np.ndarray:
    """Rate between every pair of locations (bit/s), shape (B, N+1, N+1); inf on the diagonal.

    Device <-> server n: R_n; server <-> another server: R_max (docs/model.md, eq. 5).
    """
    uplink_bps = np.atleast_2d(uplink_bps)
    b, n = uplink_bps.shape
    rates = np.empty((b, n + 1, n + 1))
    rates[:] = np.asarray(backhaul_bps, dtype=float).reshape(b, 1, 1)
    rates[:, 0, 1:] = uplink_bps
    rates[:, 1:, 0] = uplink_bps
    idx = np.arange(n + 1)
    rates[:, idx, idx] = np.inf
    return rates


@dataclass(frozen=True)
class PathCosts:
    """One placement's per-block costs (s, J), priced along the path only: O(M) work and memory.

    transmission[m], computation[m], delay[m] (return included for the last block),
    energy[m]; return_delay (s).
    """

    transmission: np.ndarray
    computation: np.ndarray
    return_delay: float
    delay: np.ndarray
    energy: np.ndarray


def path_rates(instance: Instance, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rate of the link from location ``src`` to ``dst`` (arrays of equal shape, bit/s): inf when
    equal, R_n between the device and server n, R_max between two servers (eq. 5)."""
    uplink = np.concatenate([[np.inf], instance.uplink_bps])
    rates = np.where((src == 0) | (dst == 0), uplink[np.maximum(src, dst)], instance.backhaul_bps)
    return np.where(src == dst, np.inf, rates)


def path_costs(instance: Instance, placement) -> PathCosts:
    """Price one placement block by block with the formulas of :mod:`partopt.formulas`
    (the same terms the cost tensors tabulate for every move)."""
    loc = np.asarray(placement, dtype=np.int64)
    prev = _previous(loc)
    rates = path_rates(instance, prev, loc)
    transmission = f.transmission_delay(instance.input_bits, rates)
    on_device = loc == 0
    hz = instance.location_hz[loc]
    cycles = instance.location_cycles[np.arange(loc.size), loc]
    computation = np.where(on_device, f.local_computation_delay(cycles, hz), f.edge_computation_delay(cycles, hz))
    last = int(loc[-1])
    back = float(f.transmission_delay(instance.output_bits, instance.uplink_bps[last - 1] if last else np.inf))
    delay = f.block_delay(transmission, computation)
    delay[-1] += back
    dev = instance.device
    energy = np.where(on_device, f.local_computation_energy(instance.cycles, dev.cpu_hz, dev.kappa), 0.0)
    sends = (prev == 0) & ~on_device
    energy = energy + np.where(sends, f.transmission_energy(instance.input_bits, rates, dev.tx_power_w), 0.0)
    return PathCosts(np.asarray(transmission, dtype=float), computation, back, delay, energy)


def cost_tensors(source: Instance | InstanceBatch) -> CostTensors:
    """Tabulate the costs of every move.

    Parameters
    ----------
    source : Instance or InstanceBatch
        One instance (B = 1) or B instances of one shape.

    Returns
    -------
    CostTensors
        Per-block delays and device energies of every (from, to) move.

    Raises
    ------
    ValueError
        The tables would take more than :data:`MAX_TENSOR_BYTES`.
    """
    batch = source if isinstance(source, InstanceBatch) else source.as_batch
    bsz = batch.size
    m_blocks, n = batch.shape
    need = 5 * 8 * bsz * m_blocks * (n + 1) ** 2  # bytes: five float tables of (B, M, N+1, N+1)
    if need > MAX_TENSOR_BYTES:
        raise ValueError(
            f"instance: the cost tables of B={bsz}, M={m_blocks}, N={n} need {need / 2**30:.1f} GiB, "
            f"more than the {MAX_TENSOR_BYTES / 2**30:.0f} GiB allowed "
            "(partopt.chain.costs.MAX_TENSOR_BYTES); "
            "evaluate() prices one placement without them"
        )
    rates = link_rates(batch.uplink_bps, batch.backhaul_bps)  # (B, L, L)
    hz = np.concatenate([batch.device_hz[:, None], batch.server_hz], axis=1)  # (B, L)

    transmission = f.transmission_delay(batch.input_bits[:, :, None, None], rates[:, None, :, :])
    computation = np.concatenate(
        [
            f.local_computation_delay(batch.cycles[:, :, None], hz[:, None, :1]),
            f.edge_computation_delay(batch.server_cycles, hz[:, None, 1:]),
        ],
        axis=2,
    )
    return_delay = f.transmission_delay(batch.output_bits[:, None], rates[:, :, 0])
    delay = f.block_delay(transmission, computation[:, :, None, :])
    delay[:, -1, :, :] += return_delay[:, None, :]

    return CostTensors(
        batch=batch, transmission=transmission, computation=computation, return_delay=return_delay, delay=delay
    )
