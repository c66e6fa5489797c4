"""Problem data: blocks, the device, edge servers and the instance.

All types are frozen and validate themselves on construction. A bad value raises
:class:`InstanceError` (a ``ValueError``) or :class:`InstanceTypeError` (a
``TypeError``) whose ``field`` names the offending entry, e.g. ``blocks[3].cycles``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from partopt import formulas as f
from partopt.chain.costs import CostTensors, InstanceBatch, cost_tensors
from partopt.fields import (
    InstanceError,
    InstanceTypeError,
    build_field,
    check_keys,
    drop_none,
    name_field,
    number_field,
    short,
)

__all__ = [
    "FORMAT",
    "Block",
    "Device",
    "Instance",
    "Server",
    "validate_placement",
]

#: The format tag of instance files.
FORMAT = "partopt.instance/1"


@dataclass(frozen=True)
class Block:
    """One DNN block v_m.

    Parameters
    ----------
    cycles : float
        CPU cycles c_m.
    input_bits : float
        Size I_m of the feature map the block receives (bits).
    param_bits : float
        Size d_m of its weights (bits; state only, no cost).
    deadline_s : float or None
        The most delay tau_m the block tolerates (s), or None for no deadline.
    name : str
        Optional label.
    server_cycles : tuple of float or None
        The cycles the block takes on each server n = 1..N, where they differ from ``cycles``
        (times measured on that server times its clock, :meth:`Instance.from_profiles`); None:
        ``cycles`` on every location.
    """

    cycles: float
    input_bits: float
    param_bits: float = 0.0
    deadline_s: float | None = None
    name: str | None = None
    server_cycles: tuple[float, ...] | None = None

    def __post_init__(self):
        object.__setattr__(self, "cycles", number_field(self.cycles, "cycles", lower="nonneg"))
        object.__setattr__(self, "input_bits", number_field(self.input_bits, "input_bits", lower="nonneg"))
        object.__setattr__(self, "param_bits", number_field(self.param_bits, "param_bits", lower="nonneg"))
        object.__setattr__(
            self, "deadline_s", number_field(self.deadline_s, "deadline_s", lower="positive", optional=True)
        )
        name_field(self.name, "name")
        if self.server_cycles is not None:
            raw = self.server_cycles
            if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Sequence):
                raise InstanceTypeError("server_cycles", f"must be a list of numbers, got {type(raw).__name__}")
            object.__setattr__(
                self,
                "server_cycles",
                tuple(number_field(c, f"server_cycles[{n}]", lower="nonneg") for n, c in enumerate(raw)),
            )


@dataclass(frozen=True)
class Device:
    """The IoT device (location 0) of one task alone; its shared-edge form, with its own links
    and budget, is :class:`~partopt.shared.model.EdgeDevice` (why two: :mod:`partopt.shared.model`).

    Parameters
    ----------
    cpu_hz : float
        CPU frequency f^l (Hz).
    tx_power_w : float
        Transmit power p (W).
    kappa : float
        Energy coefficient of the chip (J/(cycle Hz^2)); 1e-26 as in the paper.
    """

    cpu_hz: float
    tx_power_w: float
    kappa: float = 1e-26

    def __post_init__(self):
        object.__setattr__(self, "cpu_hz", number_field(self.cpu_hz, "cpu_hz", lower="positive"))
        object.__setattr__(self, "tx_power_w", number_field(self.tx_power_w, "tx_power_w", lower="positive"))
        object.__setattr__(self, "kappa", number_field(self.kappa, "kappa", lower="nonneg"))


@dataclass(frozen=True)
class Server:
    """Edge server n (locations 1..N) as seen from the one device of Part I, its link included;
    on the shared edge, :class:`~partopt.shared.model.EdgeServer` (why two: :mod:`partopt.shared.model`).

    Parameters
    ----------
    cpu_hz : float
        CPU frequency F_n (Hz).
    uplink_bps : float
        Rate R_n of the wireless link between the device and this server, both ways (bit/s).
    name : str
        Optional label.
    """

    cpu_hz: float
    uplink_bps: float
    name: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "cpu_hz", number_field(self.cpu_hz, "cpu_hz", lower="positive"))
        object.__setattr__(self, "uplink_bps", number_field(self.uplink_bps, "uplink_bps", lower="positive"))
        name_field(self.name, "name")


_BLOCK_KEYS = {f.name for f in dataclasses.fields(Block)}
_DEVICE_KEYS = {f.name for f in dataclasses.fields(Device)}
_SERVER_KEYS = {f.name for f in dataclasses.fields(Server)}
_INSTANCE_KEYS = {
    "format",
    "name",
    "blocks",
    "device",
    "servers",
    "backhaul_bps",
    "output_bits",
    "energy_budget_j",
}
_REQUIRED = {
    "instance": {"format", "blocks", "device", "servers", "backhaul_bps"},
    "block": {"cycles", "input_bits", "param_bits"},
    "device": {"cpu_hz", "tx_power_w"},
    "server": {"cpu_hz", "uplink_bps"},
}


@dataclass(frozen=True)
class Instance:
    """A placement problem of one task alone (model Part I): a chain of blocks, the
    device, N servers and the links.

    Parameters
    ----------
    blocks : tuple of Block
        The chain v_1 .. v_M, in order.
    device : Device
        Location 0.
    servers : tuple of Server
        Locations 1..N.
    backhaul_bps : float
        Wired rate R_max between any two servers (bit/s).
    output_bits : float
        Size O of the result returned to the device after the last block (bits).
    energy_budget_j : float or None
        Cap on the device energy of one placement (J), or None.
    name : str or None
        Optional label.
    """

    blocks: tuple[Block, ...]
    device: Device
    servers: tuple[Server, ...]
    backhaul_bps: float
    output_bits: float = 0.0
    energy_budget_j: float | None = None
    name: str | None = None

    def __post_init__(self):
        blocks, servers = self.blocks, self.servers
        if isinstance(blocks, (str, bytes)) or not isinstance(blocks, Sequence):
            raise InstanceTypeError("blocks", f"must be a list of blocks, got {type(blocks).__name__}")
        if isinstance(servers, (str, bytes)) or not isinstance(servers, Sequence):
            raise InstanceTypeError("servers", f"must be a list of servers, got {type(servers).__name__}")
        if len(blocks) == 0:
            raise InstanceError("blocks", "needs at least one block (M >= 1)")
        if len(servers) == 0:
            raise InstanceError("servers", "needs at least one server (N >= 1)")
        for i, b in enumerate(blocks):
            if not isinstance(b, Block):
                raise InstanceTypeError(f"blocks[{i}]", f"must be a Block, got {type(b).__name__}")
            if b.server_cycles is not None and len(b.server_cycles) != len(servers):
                raise InstanceError(
                    f"blocks[{i}].server_cycles",
                    f"has {len(b.server_cycles)} entries, the instance has N={len(servers)} servers",
                )
        for i, s in enumerate(servers):
            if not isinstance(s, Server):
                raise InstanceTypeError(f"servers[{i}]", f"must be a Server, got {type(s).__name__}")
        if not isinstance(self.device, Device):
            raise InstanceTypeError("device", f"must be a Device, got {type(self.device).__name__}")
        object.__setattr__(self, "blocks", tuple(blocks))
        object.__setattr__(self, "servers", tuple(servers))
        object.__setattr__(self, "backhaul_bps", number_field(self.backhaul_bps, "backhaul_bps", lower="positive"))
        object.__setattr__(self, "output_bits", number_field(self.output_bits, "output_bits", lower="nonneg"))
        object.__setattr__(
            self,
            "energy_budget_j",
            number_field(self.energy_budget_j, "energy_budget_j", lower="nonneg", optional=True),
        )
        name_field(self.name, "name")
        self._check_derived()

    def _check_derived(self) -> None:
        """Refuse fields whose derived delays or energies are not finite (an overflow: e.g. kappa = 0
        times an infinite squared clock), naming them, and a chain whose slowest placement takes
        longer than :data:`~partopt.formulas.MAX_TIME_S`: every solver's arithmetic must stay finite
        and its times checkable, or an answer could pass as valid with a NaN cost."""
        dev = self.device
        uplinks = np.array([s.uplink_bps for s in self.servers])
        with np.errstate(all="ignore"):
            checks = [
                (
                    self.location_cycles / self.location_hz[None, :],
                    "cycles",
                    "the CPU speeds (cpu_hz)",
                    "its computation delay",
                ),
                (
                    f.local_computation_energy(self.cycles, dev.cpu_hz, dev.kappa)[:, None],
                    "cycles",
                    "device.kappa and device.cpu_hz",
                    "its local energy",
                ),
                (
                    self.input_bits[:, None] / np.append(uplinks, self.backhaul_bps)[None, :],
                    "input_bits",
                    "the link rates",
                    "its transmission delay",
                ),
                (
                    f.transmission_energy(self.input_bits[:, None], uplinks[None, :], dev.tx_power_w),
                    "input_bits",
                    "device.tx_power_w and the uplinks",
                    "its transmission energy",
                ),
            ]
            for values, field, other, what in checks:
                bad = np.argwhere(~np.isfinite(values))
                if bad.size:
                    m = int(bad[0][0])
                    raise InstanceError(
                        f"blocks[{m}].{field}",
                        f"with {other}, {what} is not finite (overflow); "
                        f"got {field}={getattr(self.blocks[m], field)!r}",
                    )
            if not np.all(np.isfinite(self.output_bits / uplinks)):
                raise InstanceError(
                    "output_bits", f"its return delay over the uplinks is not finite; got {self.output_bits!r}"
                )
            worst = float(
                np.sum(np.max(self.location_cycles / self.location_hz[None, :], axis=1))
                + np.sum(self.input_bits) / float(np.min(np.append(uplinks, self.backhaul_bps)))
            )
        if not worst <= f.MAX_TIME_S:
            raise InstanceError(
                "blocks",
                f"the chain's slowest placement takes {worst:.3g} s, more than the model's "
                f"{f.MAX_TIME_S:g} s (partopt.formulas.MAX_TIME_S), beyond which times "
                f"lose the precision schedules are checked to; scale cycles or bits down",
            )

    # ----------------------------------------------------------------- shape
    @property
    def num_blocks(self) -> int:
        """M, the number of blocks."""
        return len(self.blocks)

    @property
    def num_servers(self) -> int:
        """N, the number of edge servers."""
        return len(self.servers)

    @property
    def num_locations(self) -> int:
        """N + 1: the device and the servers."""
        return len(self.servers) + 1

    @property
    def shape(self) -> tuple[int, int]:
        """(M, N)."""
        return (self.num_blocks, self.num_servers)

    # ---------------------------------------------------------------- arrays
    @cached_property
    def cycles(self) -> np.ndarray:
        """c_m for every block (cycles), shape (M,)."""
        return np.array([b.cycles for b in self.blocks], dtype=float)

    @cached_property
    def location_cycles(self) -> np.ndarray:
        """The cycles of every block on every location, device first (cycles), shape (M, N+1):
        ``cycles`` everywhere, or on server n a block's own ``server_cycles[n - 1]``."""
        out = np.repeat(self.cycles[:, None], self.num_locations, axis=1)
        for m, b in enumerate(self.blocks):
            if b.server_cycles is not None:
                out[m, 1:] = b.server_cycles
        return out

    @cached_property
    def input_bits(self) -> np.ndarray:
        """I_m for every block (bits), shape (M,)."""
        return np.array([b.input_bits for b in self.blocks], dtype=float)

    @cached_property
    def param_bits(self) -> np.ndarray:
        """d_m for every block (bits), shape (M,)."""
        return np.array([b.param_bits for b in self.blocks], dtype=float)

    @cached_property
    def deadlines(self) -> np.ndarray:
        """tau_m for every block (s), inf where a block has no deadline; shape (M,)."""
        return np.array([math.inf if b.deadline_s is None else b.deadline_s for b in self.blocks])

    @cached_property
    def location_hz(self) -> np.ndarray:
        """CPU frequency of every location, device first (Hz), shape (N+1,)."""
        return np.array([self.device.cpu_hz] + [s.cpu_hz for s in self.servers], dtype=float)

    @cached_property
    def uplink_bps(self) -> np.ndarray:
        """R_n for every server (bit/s), shape (N,)."""
        return np.array([s.uplink_bps for s in self.servers], dtype=float)

    @property
    def budget(self) -> float:
        """The energy budget (J), inf when there is none."""
        return math.inf if self.energy_budget_j is None else self.energy_budget_j

    @cached_property
    def as_batch(self) -> InstanceBatch:
        """This instance as a :class:`partopt.chain.costs.InstanceBatch` of one (built once, then cached)."""
        budget = self.budget
        return InstanceBatch(
            cycles=self.cycles[None],
            server_cycles=self.location_cycles[None, :, 1:],
            input_bits=self.input_bits[None],
            param_bits=self.param_bits[None],
            deadlines=self.deadlines[None],
            device_hz=np.array([self.device.cpu_hz]),
            tx_power_w=np.array([self.device.tx_power_w]),
            kappa=np.array([self.device.kappa]),
            server_hz=self.location_hz[None, 1:],
            uplink_bps=self.uplink_bps[None],
            backhaul_bps=np.array([self.backhaul_bps]),
            output_bits=np.array([self.output_bits]),
            energy_budget_j=np.array([budget]),
        )

    @cached_property
    def costs(self) -> CostTensors:
        """The instance's :class:`partopt.chain.costs.CostTensors` (built once, then cached)."""
        return cost_tensors(self)

    # ------------------------------------------------------------------ I/O
    def replace(self, **changes) -> "Instance":
        """A copy with some fields changed (validated like a new instance)."""
        return dataclasses.replace(self, **changes)

    #: The problem kind (see :data:`partopt.problem.KINDS`).
    kind: ClassVar[str] = "chain"
    #: The solver :func:`partopt.solve` runs when none is named.
    default_solver: ClassVar[str] = "dp"
    #: Whether a solution carries start times (checked by the evaluation) besides its placement.
    scheduled: ClassVar[bool] = False

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Instance":
        """Build an instance from a ``partopt.instance/1`` dict; errors name the field."""
        check_keys(d, _INSTANCE_KEYS, _REQUIRED["instance"], "")
        if d["format"] != FORMAT:
            raise InstanceError("format", f"must be {FORMAT!r}, got {short(d['format'])}")
        raw_blocks, raw_servers = d["blocks"], d["servers"]
        if not isinstance(raw_blocks, list):
            raise InstanceTypeError("blocks", f"must be a list, got {type(raw_blocks).__name__}")
        if not isinstance(raw_servers, list):
            raise InstanceTypeError("servers", f"must be a list, got {type(raw_servers).__name__}")
        blocks = []
        for i, b in enumerate(raw_blocks):
            check_keys(b, _BLOCK_KEYS, _REQUIRED["block"], f"blocks[{i}]")
            blocks.append(build_field(Block, b, f"blocks[{i}]"))
        servers = []
        for i, s in enumerate(raw_servers):
            check_keys(s, _SERVER_KEYS, _REQUIRED["server"], f"servers[{i}]")
            servers.append(build_field(Server, s, f"servers[{i}]"))
        check_keys(d["device"], _DEVICE_KEYS, _REQUIRED["device"], "device")
        device = build_field(Device, d["device"], "device")
        return cls(
            blocks=tuple(blocks),
            device=device,
            servers=tuple(servers),
            backhaul_bps=d["backhaul_bps"],
            output_bits=0.0 if d.get("output_bits") is None else d["output_bits"],  # optional: null means none
            energy_budget_j=d.get("energy_budget_j"),
            name=d.get("name"),
        )

    @classmethod
    def from_profiles(
        cls,
        network: Any,
        device: Device,
        servers: Sequence[Server],
        server_networks: Any = None,
        *,
        num_blocks: int | None = None,
        backhaul_bps: float = 1e9,
        input_bits_per_element: int = 8,
        energy_budget_j: float | None = None,
        name: str | None = None,
    ) -> "Instance":
        """A chain from a network's profile, with times measured on the device and on the servers.

        Parameters
        ----------
        network : str, path or DNNProfile
            The network's profile (``partopt.profile``, a profile file or a shipped name). Its
            blocks, sizes and, when it is measured, the device's times: a block measured at t s
            gets ``cycles`` t * device.cpu_hz, so it runs on the device in t (``docs/model.md``).
            Unmeasured: cycles are FLOPs.
        device : Device
            The device that runs the network.
        servers : sequence of Server
            The edge servers, with their uplinks.
        server_networks : None, a profile, or a list of one profile (or None) per server
            The same network profiled on the servers: a block measured at t s on server n gets
            ``server_cycles[n - 1]`` t * servers[n - 1].cpu_hz, so it runs there in t. One profile
            stands for every server; None (or a None entry) leaves that server at ``cycles``.
            Each must have the network's units, in order, and every unit timed.
        num_blocks : int or None
            Blocks M (units merged as :meth:`partopt.profiles.DNNProfile.boundaries` does); None
            for the network's natural blocks.
        backhaul_bps, energy_budget_j, name
            As for the instance; ``input_bits_per_element`` the bits per value of the raw input.

        The ``mobile`` generator builds its chains here (device times only).
        """
        from partopt.profiles import load_profile

        profile = load_profile(network)
        servers = tuple(servers)
        if server_networks is None or not isinstance(server_networks, (list, tuple)):
            server_networks = [server_networks] * len(servers)
        if len(server_networks) != len(servers):
            raise InstanceError(
                "server_networks", f"has {len(server_networks)} entries, one per server needed ({len(servers)})"
            )
        bounds = profile.boundaries(num_blocks)
        on_servers: list[list[float] | None] = []
        for n, raw in enumerate(server_networks):
            if raw is None:
                on_servers.append(None)
                continue
            other = load_profile(raw)
            if [u.name for u in other.units] != [u.name for u in profile.units]:
                raise InstanceError(
                    f"server_networks[{n}]",
                    f"{other.network} does not have {profile.network}'s units ({len(other.units)} units "
                    f"against {len(profile.units)}, or other names): profile the same model on the server",
                )
            if not other.measured:
                untimed = [u.name for u in other.units if u.time_s is None]
                raise InstanceError(f"server_networks[{n}]", f"is not measured (no time for {', '.join(untimed[:5])})")
            on_servers.append([sum(u.time_s or 0.0 for u in other.units[lo:hi]) for lo, hi in bounds])
        blocks = []
        for m, pb in enumerate(profile.blocks(num_blocks)):
            cycles = pb.flops if pb.time_s is None else pb.time_s * device.cpu_hz
            server_cycles = None
            if any(t is not None for t in on_servers):
                server_cycles = tuple(cycles if t is None else t[m] * srv.cpu_hz for t, srv in zip(on_servers, servers))
            blocks.append(
                Block(
                    cycles=cycles,
                    input_bits=profile.input_elements * input_bits_per_element if m == 0 else pb.input_bits,
                    param_bits=pb.param_bits,
                    name=pb.name,
                    server_cycles=server_cycles,
                )
            )
        return cls(
            blocks=tuple(blocks),
            device=device,
            servers=servers,
            backhaul_bps=backhaul_bps,
            output_bits=profile.output_bits,
            energy_budget_j=energy_budget_j,
            name=name,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``partopt.instance/1`` dict of this instance; ``from_dict`` inverts it exactly."""
        out: dict[str, Any] = {"format": FORMAT}
        if self.name is not None:
            out["name"] = self.name
        out["blocks"] = [drop_none(dataclasses.asdict(b)) for b in self.blocks]
        out["device"] = dataclasses.asdict(self.device)
        out["servers"] = [drop_none(dataclasses.asdict(s)) for s in self.servers]
        out["backhaul_bps"] = self.backhaul_bps
        out["output_bits"] = self.output_bits
        out["energy_budget_j"] = self.energy_budget_j
        return out

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        budget = "none" if self.energy_budget_j is None else f"{self.energy_budget_j:g} J"
        return f"Instance({label}M={self.num_blocks}, N={self.num_servers}, budget={budget})"


def validate_placement(instance: Instance, placement: Any) -> tuple[int, ...]:
    """Check a placement against ``instance`` and return it as a tuple of ints.

    Parameters
    ----------
    instance : Instance
        The chain the placement is for.
    placement : sequence of int
        For each of the M blocks its location: 0 the device, 1..N a server.

    Returns
    -------
    tuple of int

    Raises
    ------
    InstanceTypeError, InstanceError
        Not a sequence of ints, the wrong length, or a location out of range; the
        message names the block.
    """
    if isinstance(placement, (str, bytes, Mapping, set, frozenset)) or not hasattr(placement, "__len__"):
        raise InstanceTypeError("placement", f"must be a sequence of ints, got {type(placement).__name__}")
    if len(placement) != instance.num_blocks:
        raise InstanceError(
            "placement", f"has {len(placement)} entries, the instance has M={instance.num_blocks} blocks"
        )
    out = []
    n = instance.num_servers
    for m, loc in enumerate(placement):
        if isinstance(loc, (bool, np.bool_)) or not isinstance(loc, numbers.Integral):
            raise InstanceTypeError(f"placement[{m}]", f"must be an int location, got {short(loc)}")
        loc = int(loc)
        if not 0 <= loc <= n:
            raise InstanceError(f"placement[{m}]", f"location {loc} is outside 0..{n}")
        out.append(loc)
    return tuple(out)
