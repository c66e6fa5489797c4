"""Seeded instance generators: ``paper``, ``dil`` and ``random``.

Each generator is a frozen dataclass of its parameters; ``gen.generate(seed)``
gives one :class:`~partopt.model.Instance` and ``gen.generate_many(n, seed)`` a
list, instance i drawn from ``numpy.random.default_rng([seed, i])`` so that any
prefix of a suite is the same whatever its length. Arguments may use the papers'
units (MB/s, GHz) where their names say so; instances store SI units only.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from partopt import formulas as f
from partopt.costs import along
from partopt.evaluation import Objective
from partopt.formulas import shannon_rate
from partopt.horizon import Horizon
from partopt.model import Block, Device, Instance, Server
from partopt.names import did_you_mean
from partopt.profiles import load_profile
from partopt.solvers.dp import chain_dp, extreme_paths

__all__ = [
    "PaperGenerator", "DILGenerator", "RandomGenerator", "SharedEdgeGenerator", "GENERATORS", "generate",
    "get_generator"
]

MB = 8e6  #: bits in a megabyte (10^6 bytes), the papers' MB.


def _range(value: Any, name: str) -> tuple[float, float]:
    """A fixed value or a (low, high) pair, checked (booleans are not numbers here)."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (tuple, list)) and any(
            isinstance(v, (bool, np.bool_)) for v in value)):
        raise ValueError(f"{name}: need a number or a (low, high) pair, got {value!r}")
    try:
        lo, hi = ((float(value), float(value)) if isinstance(value, (int, float, np.number))
                  else (float(value[0]), float(value[1])))
        if len(np.atleast_1d(value)) > 2:
            raise ValueError
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"{name}: need a number or a (low, high) pair, got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"{name}: need a number or a (low, high) pair with low <= high, got {value!r}")
    return lo, hi


def _draw(rng: np.random.Generator, value, name: str, size=None):
    lo, hi = _range(value, name)
    return rng.uniform(lo, hi, size=size) if hi > lo else (np.full(size, lo) if size else lo)


def _draw_int(rng: np.random.Generator, value, name: str) -> int:
    lo, hi = _range(value, name)
    if lo != int(lo) or hi != int(hi) or lo < 1:
        raise ValueError(f"{name}: need a positive int or a (low, high) pair of them, got {value!r}")
    return int(rng.integers(int(lo), int(hi) + 1))


#: Parameter name endings that are rates, clocks, powers or bandwidths: every value (both
#: ends of a range) must be > 0, checked before anything is drawn so that the error names the
#: parameter given (rate_MBps), not a field derived from it (uplink_bps).
_POSITIVE_SUFFIXES = ("_GHz", "_MHz", "_hz", "_MBps", "_Mbps", "_mbps", "_bps", "_w", "_per_flop", "release_rate")


def _check_positive_params(generator) -> None:
    for f_ in dataclasses.fields(generator):
        if not f_.name.endswith(_POSITIVE_SUFFIXES):
            continue
        value = getattr(generator, f_.name)
        if value is None:
            continue
        values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        numbers = all(not isinstance(v, (bool, np.bool_)) and isinstance(v, (int, float, np.number))
                      and math.isfinite(v) for v in values)
        # one value > 0, or a (low, high) draw with low >= 0 and high > 0 (a draw of exactly 0 has no chance)
        if not numbers or values[-1] <= 0 or values[0] < 0:
            raise ValueError(f"{f_.name}: must be > 0 (or a (low, high) pair with 0 <= low, 0 < high), got {value!r}")


#: The most tasks a generated scenario may hold and slots a generated horizon (overridable: set
#: ``partopt.generators.MAX_TASKS`` / ``MAX_SLOTS``); beyond, drawing takes minutes and gigabytes.
MAX_TASKS = 100_000
MAX_SLOTS = 100_000


class _Generator:
    """Shared behaviour: seeding, naming and many-instance draws."""

    name = "generator"

    def sample(self, rng: np.random.Generator) -> Instance:  # pragma: no cover - overridden
        raise NotImplementedError

    def generate(self, seed: int = 0, index: int = 0) -> Instance:
        """Instance ``index`` of the stream with seed ``seed`` (deterministic)."""
        for field, value in (("seed", seed), ("index", index)):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{field}: must be an int >= 0, got {value!r}")
        _check_positive_params(self)
        inst = self.sample(np.random.default_rng([int(seed), int(index)]))
        return inst.replace(name=f"{self.name}-s{seed}-i{index}")

    def generate_many(self, count: int, seed: int = 0) -> list[Instance]:
        """Instances 0 .. count-1 of the stream with seed ``seed``."""
        return [self.generate(seed, i) for i in range(count)]

    def params(self) -> dict[str, Any]:
        """The generator's parameters as a dict."""
        return dataclasses.asdict(cast(Any, self))


@dataclass(frozen=True)
class PaperGenerator(_Generator):
    """The source paper's section 5.1 setting; every value is a parameter.

    From the paper: ``num_servers`` N in [2, 9] (default 4, its default for Figs. 9-13;
    an int, or a (low, high) pair drawn per instance); device-to-server rates in
    [0.8, 2] MB/s (``rate_MBps``); per-block deadlines in [1, 7] s (``deadline_s``);
    blocks from a DNN profile (``network`` VGG16, ``num_blocks`` None = its 6 natural
    blocks); kappa = 1e-26.

    Chosen here, where the paper is silent:

    - ``cycles_per_flop`` = 1: one cycle per FLOP, the usual conversion in
      partitioning studies that count work in FLOPs (no SIMD speed-up assumed).
    - ``device_GHz`` = 1.0: an IoT application processor (e.g. a 1 GHz Cortex-A class core).
    - ``server_GHz`` in [2, 10]: the CPU share one task gets on a multi-core edge
      server, drawn per server so that servers differ.
    - ``tx_power_w`` = 0.2 W: 23 dBm, the maximum power of an LTE/NR class-3 UE.
    - ``backhaul_Mbps`` = 100: the rate one task gets on the wired metro link between servers.
    - ``output_bits``: the network's own output (10 fp32 logits = 320 bits).
    - ``rate_model`` = "uniform" draws rates in ``rate_MBps`` as the paper states;
      "shannon" derives them from eq. (5)'s Shannon formula instead, with a device at
      a distance uniform in [50, 750] m (the paper's 750 m cell radius), 3GPP urban
      path loss 128.1 + 37.6 log10(d/km) dB, ``bandwidth_MHz`` = 1 MHz and noise
      -174 dBm/Hz; this gives about 0.6-2.4 MB/s, the paper's range.
    - ``energy_budget_j`` = None (no cap); set a value to cap device energy.

    Parameters
    ----------
    network : str
        DNN profile (``partopt list``).
    num_blocks : int or None
        Blocks M the network is cut into; None: its natural blocks.
    num_servers : int or (int, int)
        N, or a range drawn per instance.
    rate_MBps : (float, float)
        Device-to-server rates (MB/s) under ``rate_model="uniform"``.
    deadline_s : (float, float) or None
        Per-block deadlines (s); None: no deadlines.
    cycles_per_flop : float
        CPU cycles per FLOP.
    device_GHz : float or (float, float)
        Device CPU (GHz).
    server_GHz : float or (float, float)
        Server CPU share (GHz), drawn per server.
    tx_power_w : float
        Device transmit power (W).
    kappa : float
        Device energy coefficient (J/(cycle Hz^2)).
    backhaul_Mbps : float
        Rate between servers (Mbit/s).
    output_bits : float or None
        Result size (bits); None: the network's own output.
    energy_budget_j : float or None
        Device budget (J); None: no cap.
    rate_model : {"uniform", "shannon"}
        How uplink rates are drawn.
    bandwidth_MHz : float
        Channel bandwidth under ``rate_model="shannon"`` (MHz).
    """

    network: str = "vgg16"
    num_blocks: int | None = None
    num_servers: int | tuple[int, int] = 4
    rate_MBps: float | tuple[float, float] = (0.8, 2.0)
    deadline_s: float | tuple[float, float] | None = (1.0, 7.0)
    cycles_per_flop: float = 1.0
    device_GHz: float | tuple[float, float] = 1.0
    server_GHz: float | tuple[float, float] = (2.0, 10.0)
    tx_power_w: float = 0.2
    kappa: float = 1e-26
    backhaul_Mbps: float = 100.0
    output_bits: float | None = None
    energy_budget_j: float | None = None
    rate_model: str = "uniform"
    bandwidth_MHz: float = 1.0

    name = "paper"

    def __post_init__(self):
        if self.rate_model not in ("uniform", "shannon"):
            raise ValueError(f"rate_model: must be 'uniform' or 'shannon', got {self.rate_model!r}")
        if not self.cycles_per_flop > 0:
            raise ValueError(f"cycles_per_flop: must be > 0, got {self.cycles_per_flop!r}")
        load_profile(self.network).boundaries(self.num_blocks)

    def sample(self, rng: np.random.Generator) -> Instance:
        profile = load_profile(self.network)
        n = _draw_int(rng, self.num_servers, "num_servers")
        if self.rate_model == "uniform":
            rates = _draw(rng, self.rate_MBps, "rate_MBps", size=n) * MB
        else:
            distance_km = rng.uniform(0.05, 0.75, size=n)
            gain = 10.0 ** (-(128.1 + 37.6 * np.log10(distance_km)) / 10.0)
            noise = 10.0 ** (-174 / 10.0) / 1000.0
            rates = shannon_rate(self.bandwidth_MHz * 1e6, self.tx_power_w, gain, noise)
        server_hz = _draw(rng, self.server_GHz, "server_GHz", size=n) * 1e9
        blocks = []
        for pb in profile.blocks(self.num_blocks):
            deadline = None if self.deadline_s is None else float(_draw(rng, self.deadline_s, "deadline_s"))
            blocks.append(
                Block(
                    cycles=pb.flops * self.cycles_per_flop,
                    input_bits=pb.input_bits,
                    param_bits=pb.param_bits,
                    deadline_s=deadline,
                    name=pb.name,
                )
            )
        return Instance(
            blocks=tuple(blocks),
            device=Device(
                cpu_hz=float(_draw(rng, self.device_GHz, "device_GHz")) * 1e9,
                tx_power_w=self.tx_power_w,
                kappa=self.kappa,
            ),
            servers=tuple(Server(cpu_hz=hz, uplink_bps=r, name=f"es{k + 1}") for k, (hz, r) in
                          enumerate(zip(server_hz.tolist(), rates.tolist()))),
            backhaul_bps=self.backhaul_Mbps * 1e6,
            output_bits=profile.output_bits if self.output_bits is None else self.output_bits,
            energy_budget_j=self.energy_budget_j,
        )


@dataclass(frozen=True)
class DILGenerator(_Generator):
    """The deep-imitation offloading paper's section 5.1 distribution (ZTE Commun. 2020).

    6 subtasks with cycles uniform in [0, 2000]e6; data sizes d_0 .. d_6 uniform in
    [0, 10] MB (d_0 the input, d_6 the output returned to the device); device CPU in
    [100, 1000] MHz; edge CPU in [500, 5000] MHz; device-edge rate b1 in [0, 2] MB/s;
    edge-cloud rate b2 in [0, 3] MB/s; a cloud whose computation time is negligible.

    In our model: server 1 is the edge (uplink b1); server 2 is the cloud, with
    ``cloud_hz`` = 1e15 Hz (2e9 cycles take 2 microseconds, negligible), reached from
    the device through the edge, so its uplink is the edge and backhaul links in
    series, 1 / (1/b1 + 1/b2) (store and forward: d/b1 + d/b2 seconds); the
    backhaul R_max between edge and cloud is b2. Rates are drawn in
    [``min_rate_MBps``, high] instead of [0, high] so that they are strictly positive.
    No deadlines and no budget: the paper minimizes latency only. The device's power
    and kappa do not enter latency; they are set to the paper generator's values.

    Parameters
    ----------
    num_subtasks : int
        Blocks M.
    cycles_M : (float, float)
        Cycles per subtask (millions).
    data_MB : (float, float)
        Data sizes d_0 .. d_M (MB).
    device_MHz, edge_MHz : (float, float)
        Device and edge CPU (MHz).
    edge_rate_MBps, cloud_rate_MBps : (float, float)
        Device-edge rate b1 and edge-cloud rate b2 (MB/s).
    min_rate_MBps : float
        Lowest rate drawn (MB/s), so that rates are positive.
    cloud_hz : float
        Cloud CPU (Hz).
    tx_power_w : float
        Device transmit power (W).
    kappa : float
        Device energy coefficient (J/(cycle Hz^2)).
    """

    num_subtasks: int = 6
    cycles_M: tuple[float, float] = (0.0, 2000.0)
    data_MB: tuple[float, float] = (0.0, 10.0)
    device_MHz: tuple[float, float] = (100.0, 1000.0)
    edge_MHz: tuple[float, float] = (500.0, 5000.0)
    edge_rate_MBps: tuple[float, float] = (0.0, 2.0)
    cloud_rate_MBps: tuple[float, float] = (0.0, 3.0)
    min_rate_MBps: float = 0.01
    cloud_hz: float = 1e15
    tx_power_w: float = 0.2
    kappa: float = 1e-26

    name = "dil"

    def __post_init__(self):
        if not (isinstance(self.num_subtasks, int) and self.num_subtasks >= 1):
            raise ValueError(f"num_subtasks: must be an int >= 1, got {self.num_subtasks!r}")
        if not self.min_rate_MBps > 0:
            raise ValueError(f"min_rate_MBps: must be > 0, got {self.min_rate_MBps!r}")

    def sample(self, rng: np.random.Generator) -> Instance:
        m = self.num_subtasks
        cycles = _draw(rng, self.cycles_M, "cycles_M", size=m) * 1e6
        data = _draw(rng, self.data_MB, "data_MB", size=m + 1) * MB
        device_hz = float(_draw(rng, self.device_MHz, "device_MHz")) * 1e6
        edge_hz = float(_draw(rng, self.edge_MHz, "edge_MHz")) * 1e6
        lo1, hi1 = _range(self.edge_rate_MBps, "edge_rate_MBps")
        lo2, hi2 = _range(self.cloud_rate_MBps, "cloud_rate_MBps")
        b1 = rng.uniform(max(lo1, self.min_rate_MBps), hi1) * MB
        b2 = rng.uniform(max(lo2, self.min_rate_MBps), hi2) * MB
        blocks = tuple(
            Block(cycles=float(c), input_bits=float(d), param_bits=0.0, name=f"subtask{k}")
            for k, (c, d) in enumerate(zip(cycles, data[:m]))
        )
        return Instance(
            blocks=blocks,
            device=Device(cpu_hz=device_hz, tx_power_w=self.tx_power_w, kappa=self.kappa),
            servers=(
                Server(cpu_hz=edge_hz, uplink_bps=float(b1), name="edge"),
                Server(cpu_hz=self.cloud_hz, uplink_bps=float(1.0 / (1.0 / b1 + 1.0 / b2)), name="cloud"),
            ),
            backhaul_bps=float(b2),
            output_bits=float(data[m]),
        )


@dataclass(frozen=True)
class RandomGenerator(_Generator):
    """Broad uniform draws for testing, with knobs that make infeasible instances occur.

    ``num_blocks`` M and ``num_servers`` N: an int or a (low, high) pair. Cycles in
    ``cycles`` (default 1e7..2e9), feature maps in ``input_bits`` (1e4..1e7 bits), device
    in 0.5..2 GHz, servers in 1..20 GHz, uplinks in 1..50 Mbit/s, backhaul in
    10..1000 Mbit/s, transmit power 0.1..1 W.

    Deadlines: each block gets one with probability ``deadline_prob``, equal to
    ``deadline_tightness`` x U(0.5, 2) x (its cycles on the mean server + its input on
    the mean uplink); tightness below 1 makes many instances infeasible.
    ``budget_fraction``: None for no budget, else the budget is that fraction (a number
    or a (low, high) pair) of the all-on-device energy. ``output_bits``: a number or range.

    Parameters
    ----------
    num_blocks, num_servers : int or (int, int)
        M and N, or ranges drawn per instance.
    cycles, input_bits : (float, float)
        Cycles and input feature-map bits per block.
    device_hz, server_hz : (float, float)
        CPU frequencies (Hz).
    uplink_bps, backhaul_bps : (float, float)
        Device-server and server-server rates (bit/s).
    tx_power_w : (float, float)
        Device transmit power (W).
    deadline_prob, deadline_tightness : float
        Chance that a block has a deadline, and its tightness (see above).
    budget_fraction : float, (float, float) or None
        Budget as a fraction of the all-on-device energy; None: no budget.
    output_bits : float or (float, float)
        Result size (bits).
    """

    num_blocks: int | tuple[int, int] = (2, 8)
    num_servers: int | tuple[int, int] = (1, 4)
    cycles: tuple[float, float] = (1e7, 2e9)
    input_bits: tuple[float, float] = (1e4, 1e7)
    device_hz: tuple[float, float] = (0.5e9, 2e9)
    server_hz: tuple[float, float] = (1e9, 2e10)
    uplink_bps: tuple[float, float] = (1e6, 5e7)
    backhaul_bps: tuple[float, float] = (1e7, 1e9)
    tx_power_w: tuple[float, float] = (0.1, 1.0)
    deadline_prob: float = 0.5
    deadline_tightness: float = 1.0
    budget_fraction: float | tuple[float, float] | None = None
    output_bits: float | tuple[float, float] = 0.0

    name = "random"

    def __post_init__(self):
        if not 0.0 <= self.deadline_prob <= 1.0:
            raise ValueError(f"deadline_prob: must be in [0, 1], got {self.deadline_prob!r}")
        if not self.deadline_tightness > 0:
            raise ValueError(f"deadline_tightness: must be > 0, got {self.deadline_tightness!r}")

    def sample(self, rng: np.random.Generator) -> Instance:
        m = _draw_int(rng, self.num_blocks, "num_blocks")
        n = _draw_int(rng, self.num_servers, "num_servers")
        cycles = _draw(rng, self.cycles, "cycles", size=m)
        bits = _draw(rng, self.input_bits, "input_bits", size=m)
        device = Device(cpu_hz=float(_draw(rng, self.device_hz, "device_hz")),
                        tx_power_w=float(_draw(rng, self.tx_power_w, "tx_power_w")))
        server_hz = _draw(rng, self.server_hz, "server_hz", size=n)
        uplink = _draw(rng, self.uplink_bps, "uplink_bps", size=n)
        reference = cycles / server_hz.mean() + bits / uplink.mean()
        has_deadline = rng.random(m) < self.deadline_prob
        deadlines = self.deadline_tightness * rng.uniform(0.5, 2.0, size=m) * reference
        blocks = tuple(
            Block(cycles=float(c), input_bits=float(b), param_bits=0.0,
                  deadline_s=float(d) if h else None)
            for c, b, d, h in zip(cycles, bits, deadlines, has_deadline)
        )
        budget = None
        if self.budget_fraction is not None:
            local = device.kappa * device.cpu_hz**2 * float(cycles.sum())
            budget = float(_draw(rng, self.budget_fraction, "budget_fraction")) * local
        return Instance(
            blocks=blocks,
            device=device,
            servers=tuple(Server(cpu_hz=float(h), uplink_bps=float(r)) for h, r in zip(server_hz, uplink)),
            backhaul_bps=float(_draw(rng, self.backhaul_bps, "backhaul_bps")),
            output_bits=float(_draw(rng, self.output_bits, "output_bits")),
            energy_budget_j=budget,
        )


@dataclass(frozen=True)
class SharedEdgeGenerator(_Generator):
    """Shared-edge scenarios (model Part II) in the source paper's setting.

    ``num_tasks`` K tasks arrive as a Poisson stream of ``release_rate`` tasks/s (the
    paper's 30-110 /s of Figs. 10 and 11(c)): the first at 0 s, then exponential gaps.
    Each task runs a network drawn uniformly from ``networks`` (cut into
    ``num_blocks`` blocks, None = its natural blocks) on a device drawn uniformly from
    ``num_devices``. Each device has its own link to each server, drawn in
    ``rate_MBps``; block deadlines are drawn per network in ``deadline_s`` (None: no
    deadline); ``task_deadline_s`` (None, or a number or range) gives every task an
    end-to-end deadline. Servers in ``server_GHz``, free from ``available_s`` (a number
    or range: work left from earlier slots). ``energy_budget_j`` caps each device's
    energy in the slot. The other constants are :class:`PaperGenerator`'s.

    Parameters
    ----------
    networks : tuple of str
        DNN profiles the tasks draw from.
    num_blocks : int or None
        Blocks per network; None: its natural blocks.
    num_tasks : int
        K.
    num_servers : int or (int, int)
        N, or a range drawn per scenario.
    num_devices : int
        D.
    release_rate : float
        Poisson arrival rate (tasks/s).
    rate_MBps : float or (float, float)
        Device-server link rates (MB/s).
    deadline_s, task_deadline_s : float, (float, float) or None
        Block deadlines per network, and end-to-end task deadlines (s).
    cycles_per_flop : float
        CPU cycles per FLOP.
    device_GHz, server_GHz : float or (float, float)
        CPU frequencies (GHz).
    available_s : float or (float, float)
        When each server is first free (s).
    tx_power_w : float
        Device transmit power (W).
    kappa : float
        Device energy coefficient (J/(cycle Hz^2)).
    backhaul_Mbps : float
        Rate between servers (Mbit/s).
    energy_budget_j : float or None
        Per-device budget in the slot (J).
    mix : bool
        Draw every feature of the model per scenario instead (:meth:`sample_mixed`), so that a
        solver is not tuned to one regime: the other parameters but ``networks``,
        ``num_tasks``, ``release_rate``, ``cycles_per_flop``, ``kappa`` and ``backhaul_Mbps``
        are then ignored.
    """

    networks: tuple[str, ...] = ("vgg16",)
    num_blocks: int | None = None
    num_tasks: int = 8
    num_servers: int | tuple[int, int] = 4
    num_devices: int = 2
    release_rate: float = 70.0
    rate_MBps: float | tuple[float, float] = (0.8, 2.0)
    deadline_s: float | tuple[float, float] | None = (1.0, 7.0)
    task_deadline_s: float | tuple[float, float] | None = None
    cycles_per_flop: float = 1.0
    device_GHz: float | tuple[float, float] = 1.0
    server_GHz: float | tuple[float, float] = (2.0, 10.0)
    available_s: float | tuple[float, float] = 0.0
    tx_power_w: float = 0.2
    kappa: float = 1e-26
    backhaul_Mbps: float = 100.0
    energy_budget_j: float | None = None
    mix: bool = False

    name = "shared"

    def __post_init__(self):
        if isinstance(self.networks, str):
            object.__setattr__(self, "networks", (self.networks,))
        object.__setattr__(self, "networks", tuple(self.networks))
        if not self.networks:
            raise ValueError("networks: need at least one network profile")
        for net in self.networks:
            load_profile(net).boundaries(self.num_blocks)
        for key in ("num_tasks", "num_devices"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key}: must be an int >= 1, got {value!r}")
        if self.num_tasks > MAX_TASKS:
            raise ValueError(f"num_tasks: {self.num_tasks:,} is more than partopt.generators.MAX_TASKS = {MAX_TASKS:,} "
                             f"(a scenario that size takes minutes and gigabytes to draw; raise the cap to allow it)")
        if not (isinstance(self.release_rate, (int, float)) and math.isfinite(self.release_rate)
                and self.release_rate > 0):
            raise ValueError(f"release_rate: must be > 0 tasks per second, got {self.release_rate!r}")

    def sample(self, rng: np.random.Generator):
        if self.mix:
            return self.sample_mixed(rng)
        from partopt.scenario import ChainModel, EdgeDevice, EdgeServer, Scenario, Task

        n = _draw_int(rng, self.num_servers, "num_servers")
        server_hz = _draw(rng, self.server_GHz, "server_GHz", size=n) * 1e9
        avail = _draw(rng, self.available_s, "available_s", size=n)
        servers = tuple(EdgeServer(cpu_hz=float(hz), available_s=float(b), name=f"es{i + 1}")
                        for i, (hz, b) in enumerate(zip(server_hz, avail)))
        devices = tuple(
            EdgeDevice(cpu_hz=float(_draw(rng, self.device_GHz, "device_GHz")) * 1e9, tx_power_w=self.tx_power_w,
                       uplink_bps=tuple((_draw(rng, self.rate_MBps, "rate_MBps", size=n) * MB).tolist()),
                       kappa=self.kappa, energy_budget_j=self.energy_budget_j, name=f"dev{d}")
            for d in range(self.num_devices))
        models, names = {}, []
        for net in self.networks:
            profile = load_profile(net)
            blocks = []
            for pb in profile.blocks(self.num_blocks):
                deadline = None if self.deadline_s is None else float(_draw(rng, self.deadline_s, "deadline_s"))
                blocks.append(Block(cycles=pb.flops * self.cycles_per_flop, input_bits=pb.input_bits,
                                    param_bits=pb.param_bits, deadline_s=deadline, name=pb.name))
            key = f"{net}-{len(blocks)}"
            models[key] = ChainModel(tuple(blocks), profile.output_bits)
            names.append(key)
        gaps = rng.exponential(1.0 / self.release_rate, size=self.num_tasks)
        release = np.concatenate([[0.0], np.cumsum(gaps[1:])])
        tasks = []
        for k in range(self.num_tasks):
            device = int(rng.integers(self.num_devices))
            model = names[int(rng.integers(len(names)))]
            limit = None if self.task_deadline_s is None else float(_draw(rng, self.task_deadline_s, "task_deadline_s"))
            tasks.append(Task(device=device, model=model, release_s=float(release[k]), deadline_s=limit,
                              name=f"t{k}"))
        return Scenario(models=models, devices=devices, servers=servers, backhaul_bps=self.backhaul_Mbps * 1e6,
                        tasks=tuple(tasks))


    def sample_mixed(self, rng: np.random.Generator):
        """A scenario drawing every feature of model Part II (the ``mix`` option):

        - N = 2..9 servers at 2-10 GHz, each busy until 0-50 ms with probability 1/2;
        - D = 1..min(K, 6) devices at 0.5-2.5 GHz and 0.1-1 W, each with its own uplink to each
          server, log-uniform over 0.1-10 MB/s (mixed networks: a route through another
          server and the backhaul is often faster than the direct upload);
        - each network cut into M = 3..12 blocks (at most its units), its result sent back;
        - with probability 1/2 a task has an end-to-end deadline of 1.5-4 times its fastest
          time alone (a single server or the device), which queueing makes bind;
        - a third of the blocks have a deadline of 5-20 times their fastest compute and upload;
        - with probability 1/2 a device has a budget of 0.3-1 times the energy of running its
          tasks wholly on it, so that the all-local placements break it.
        """
        from partopt.scenario import ChainModel, EdgeDevice, EdgeServer, Scenario, Task

        n = int(rng.integers(2, 10))
        server_hz = rng.uniform(2.0, 10.0, size=n) * 1e9
        servers = tuple(EdgeServer(cpu_hz=float(hz), available_s=float(rng.uniform(0.0, 0.05)) if rng.random() < 0.5
                                   else 0.0, name=f"es{i + 1}") for i, hz in enumerate(server_hz))
        d_count = int(rng.integers(1, min(self.num_tasks, 6) + 1))
        device_hz = rng.uniform(0.5, 2.5, size=d_count) * 1e9
        uplinks = 10.0 ** rng.uniform(-1.0, 1.0, size=(d_count, n)) * MB
        models, chains = {}, []
        for net in self.networks:
            profile = load_profile(net)
            m = int(rng.integers(3, min(12, len(profile.units)) + 1))
            parts = profile.blocks(m)
            cycles = np.array([pb.flops * self.cycles_per_flop for pb in parts])
            fastest = cycles / server_hz.max() + np.array([pb.input_bits for pb in parts]) / uplinks.max()
            blocks = tuple(Block(cycles=float(c), input_bits=pb.input_bits, param_bits=pb.param_bits, name=pb.name,
                                 deadline_s=float(t * rng.uniform(5.0, 20.0)) if rng.random() < 1 / 3 else None)
                           for pb, c, t in zip(parts, cycles, fastest))
            key = f"{net}-{m}"
            models[key] = ChainModel(blocks, profile.output_bits)
            chains.append((key, cycles, parts[0].input_bits, profile.output_bits))
        gaps = rng.exponential(1.0 / self.release_rate, size=self.num_tasks)
        release = np.concatenate([[0.0], np.cumsum(gaps[1:])])
        tasks, local_energy = [], np.zeros(d_count)
        for k in range(self.num_tasks):
            d = int(rng.integers(d_count))
            key, cycles, first_bits, out_bits = chains[int(rng.integers(len(chains)))]
            alone = min(cycles.sum() / device_hz[d],
                        float(np.min(first_bits / uplinks[d] + cycles.sum() / server_hz + out_bits / uplinks[d])))
            limit = float(alone * rng.uniform(1.5, 4.0)) if rng.random() < 0.5 else None
            tasks.append(Task(device=d, model=key, release_s=float(release[k]), deadline_s=limit, name=f"t{k}"))
            local_energy[d] += float(f.local_computation_energy(cycles.sum(), device_hz[d], self.kappa))
        devices = tuple(
            EdgeDevice(cpu_hz=float(device_hz[d]), tx_power_w=float(rng.uniform(0.1, 1.0)),
                       uplink_bps=tuple(uplinks[d].tolist()), kappa=self.kappa, name=f"dev{d}",
                       energy_budget_j=float(local_energy[d] * rng.uniform(0.3, 1.0))
                       if rng.random() < 0.5 and local_energy[d] > 0 else None)
            for d in range(d_count))
        return Scenario(models=models, devices=devices, servers=servers, backhaul_bps=self.backhaul_Mbps * 1e6,
                        tasks=tuple(tasks))


@dataclass(frozen=True)
class HorizonGenerator(_Generator):
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
        if self.slots > MAX_SLOTS:
            raise ValueError(f"slots: {self.slots:,} is more than partopt.generators.MAX_SLOTS = {MAX_SLOTS:,} "
                             f"(each slot is an instance in memory; raise the cap to allow it)")
        if self.generator not in ("paper", "dil", "random"):
            raise ValueError(f"generator: must be 'paper', 'dil' or 'random' (one chain per slot), "
                             f"got {self.generator!r}")
        if isinstance(self.battery, bool) or not isinstance(self.battery, (int, float)) \
                or not 0.0 <= self.battery <= 1.0:
            raise ValueError(f"battery: must be a number in [0, 1], got {self.battery!r}")
        if self.slot_params is not None and not isinstance(self.slot_params, dict):
            raise ValueError(f"slot_params: must be a dict of the slot generator's parameters, "
                             f"got {type(self.slot_params).__name__}")
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


#: Effective inference throughput (GFLOP/s, fp32 at batch 1) and power (W) of device
#: classes. Each range is a peak from the vendor's specification times the 10-30% that
#: batch-1 CNN inference typically reaches on a CPU (a GPU with TensorRT does better):
#: phone, 4 big Arm cores at ~2.8-3 GHz, 16 FP32 FLOP/cycle each (~180 GFLOP/s peak);
#: rpi, Raspberry Pi 4, 4 Cortex-A72 at 1.5 GHz, 8 FLOP/cycle (48 GFLOP/s peak);
#: jetson, Jetson Nano's 128-core Maxwell GPU (472 GFLOP/s FP16 peak; NVIDIA's published
#: Jetson Nano benchmarks give ResNet-50 at 224x224 about 36 images/s, ~300 GFLOP/s).
@dataclass(frozen=True)
class DeviceClass:
    """Effective throughput (GFLOP/s) and power (W) ranges of a class of devices."""

    gflops: tuple[float, float]
    watts: tuple[float, float]


@dataclass(frozen=True)
class LinkClass:
    """Uplink rate range (Mbit/s) and transmit power (W) of a class of links."""

    mbps: tuple[float, float]
    tx_power_w: float


DEVICE_CLASSES: dict[str, DeviceClass] = {
    "phone": DeviceClass(gflops=(20.0, 60.0), watts=(3.0, 5.0)),
    "rpi": DeviceClass(gflops=(5.0, 15.0), watts=(4.0, 6.0)),
    "jetson": DeviceClass(gflops=(150.0, 300.0), watts=(5.0, 10.0)),
}
#: A task's effective share of an edge server (GFLOP/s at batch 1): cpu, a 16-core
#: AVX-512 Xeon slice (~1.3 TFLOP/s peak, 10-40%); gpu, an NVIDIA T4 (8.1 TFLOP/s FP32,
#: 65 FP16 tensor peak; 2-8 TFLOP/s effective with TensorRT at batch 1).
SERVER_CLASSES: dict[str, tuple[float, float]] = {"cpu": (100.0, 500.0), "gpu": (2000.0, 8000.0)}
#: "cpu+gpu": server 1 a CPU edge server on the device's local ``link`` (a Wi-Fi access
#: point's box), servers 2..N GPU servers farther away, reached directly over ``far_link``
#: or through server 1 and the backhaul.
SERVER_SETUPS = (*SERVER_CLASSES, "cpu+gpu")
#: Uplink rates (Mbit/s) and transmit power (W): chosen to bracket the median mobile and
#: fixed upload speeds of Ookla's Speedtest Global Index (about 10 Mbit/s mobile, tens of
#: Mbit/s fixed Wi-Fi) and 23 dBm (LTE/NR UE class 3) or 20 dBm (Wi-Fi) transmitters.
LINK_CLASSES: dict[str, LinkClass] = {
    "wifi": LinkClass(mbps=(20.0, 150.0), tx_power_w=0.1),
    "lte": LinkClass(mbps=(2.0, 20.0), tx_power_w=0.2),
    "5g": LinkClass(mbps=(20.0, 100.0), tx_power_w=0.2),
}


@dataclass(frozen=True)
class MobileGenerator(_Generator):
    """ImageNet-size networks on phone-, Raspberry-Pi- and Jetson-class devices over Wi-Fi,
    LTE or 5G to CPU or GPU edge servers: the regimes where the best cut is in the middle.

    Units: a block's ``cycles`` are its FLOPs and each location's ``cpu_hz`` its effective
    FLOP/s (see :data:`DEVICE_CLASSES`, :data:`SERVER_CLASSES`, :data:`LINK_CLASSES` for
    the ranges and their sources); the device's kappa is set so that local energy
    kappa f^2 c equals the class's power times the run time (kappa = P / f^3). The raw
    input is an image at ``input_bits_per_element`` bits per value; feature maps are fp32.

    Deadlines bind on a stated share: for each block, with probability
    ``deadline_share``, a deadline of U(0.6, 0.95) times its delay in the unconstrained
    optimum (never below 1.05 times the least delay that block can have, so that it
    stays reachable alone). ``budget_fraction`` sets a device budget between the least
    energy any feasible placement needs (0) and the energy of the optimum without a
    budget (1); None for no budget.

    Parameters
    ----------
    network : str, path or DNNProfile
        An ImageNet-size profile (``resnet50-224``, ``resnet18-224``, ``mobilenetv2-224``,
        ``vgg16-224``, ``alexnet-224``), or your own (``partopt profile``, a profile file or
        object). A profile with measured times gives each block its measured time on the
        device (its cycles are that time at the device's clock; servers run them at theirs).
    num_blocks : int or None
        Blocks M; None: the network's natural blocks.
    num_servers : int or (int, int)
        N, or a range drawn per instance.
    device : {"phone", "rpi", "jetson"}
        The device class.
    server : {"cpu", "gpu", "cpu+gpu"}
        The edge servers' class; "cpu+gpu": a near CPU server and far GPU servers.
    link : {"wifi", "lte", "5g"}
        The device's uplinks (to the near server under "cpu+gpu").
    far_link : {"wifi", "lte", "5g"}
        Under "cpu+gpu", the device's direct uplinks to the far GPU servers.
    input_bits_per_element : int
        Bits per value of the raw input (8: an RGB image).
    backhaul_Mbps : float
        Rate between servers (Mbit/s).
    deadline_share : float
        Chance that a block gets a binding deadline, in [0, 1].
    budget_fraction : float or None
        Where the device budget lies, in [0, 1]; None for no budget.
    deadline_s : float or None
        For sweeps (Fig. 12): every block's deadline (s), instead of ``deadline_share``.
    link_mbps : float or None
        For sweeps (Fig. 13): the device's (near) uplink rate (Mbit/s), instead of a draw.
    """

    network: str = "resnet50-224"
    num_blocks: int | None = None
    num_servers: int | tuple[int, int] = (1, 3)
    device: str = "phone"
    server: str = "cpu"
    link: str = "lte"
    far_link: str = "lte"
    input_bits_per_element: int = 8
    backhaul_Mbps: float = 1000.0
    deadline_share: float = 0.3
    budget_fraction: float | None = None
    deadline_s: float | None = None
    link_mbps: float | None = None

    name = "mobile"

    def __post_init__(self):
        for field_name, value, options in (("device", self.device, DEVICE_CLASSES),
                                           ("server", self.server, SERVER_SETUPS),
                                           ("link", self.link, LINK_CLASSES),
                                           ("far_link", self.far_link, LINK_CLASSES)):
            if value not in options:
                raise ValueError(f"{field_name}: unknown class {value!r}; available: {', '.join(options)}."
                                 + did_you_mean(str(value), options))
        if not 0.0 <= self.deadline_share <= 1.0:
            raise ValueError(f"deadline_share: must be in [0, 1], got {self.deadline_share!r}")
        if self.budget_fraction is not None and not 0.0 <= self.budget_fraction <= 1.0:
            raise ValueError(f"budget_fraction: must be in [0, 1] or None, got {self.budget_fraction!r}")
        load_profile(self.network).boundaries(self.num_blocks)

    def sample(self, rng: np.random.Generator) -> Instance:
        profile = load_profile(self.network)
        n = _draw_int(rng, self.num_servers, "num_servers")
        dev, link = DEVICE_CLASSES[self.device], LINK_CLASSES[self.link]
        device_hz = float(rng.uniform(*dev.gflops)) * 1e9
        watts = float(rng.uniform(*dev.watts))
        if self.server == "cpu+gpu":
            n = max(n, 2)
            server_hz = np.concatenate([rng.uniform(*SERVER_CLASSES["cpu"], size=1),
                                        rng.uniform(*SERVER_CLASSES["gpu"], size=n - 1)]) * 1e9
            rates = np.concatenate([rng.uniform(*link.mbps, size=1),
                                    rng.uniform(*LINK_CLASSES[self.far_link].mbps, size=n - 1)]) * 1e6
        else:
            server_hz = rng.uniform(*SERVER_CLASSES[self.server], size=n) * 1e9
            rates = rng.uniform(*link.mbps, size=n) * 1e6
        if self.link_mbps is not None:
            rates[0 if self.server == "cpu+gpu" else slice(None)] = self.link_mbps * 1e6
        raw = profile.blocks(self.num_blocks)
        first_bits = profile.input_elements * self.input_bits_per_element
        # A measured profile's times are the device's: cycles at the device's clock (docs/model.md).
        blocks = tuple(Block(cycles=pb.flops if pb.time_s is None else pb.time_s * device_hz,
                             input_bits=first_bits if k == 0 else pb.input_bits,
                             param_bits=pb.param_bits, name=pb.name) for k, pb in enumerate(raw))
        inst = Instance(
            blocks=blocks,
            device=Device(cpu_hz=device_hz, tx_power_w=link.tx_power_w, kappa=watts / device_hz ** 3),
            servers=tuple(Server(cpu_hz=hz, uplink_bps=r, name=f"es{k + 1}")
                          for k, (hz, r) in enumerate(zip(server_hz.tolist(), rates.tolist()))),
            backhaul_bps=self.backhaul_Mbps * 1e6,
            output_bits=profile.output_bits,
        )
        return self._bind(inst, rng)

    def _bind(self, inst: Instance, rng: np.random.Generator) -> Instance:
        """Deadlines on a share of blocks below their unconstrained-optimum delay, and the budget."""
        delay = inst.costs.delay[0]
        best, _ = chain_dp(Objective().step_cost(inst.costs))
        path_delay = along(delay, best[0])
        least = delay.reshape(delay.shape[0], -1).min(axis=1)  # each block's least delay over all moves
        least[0] = delay[0, 0].min()  # the first block's input starts on the device
        blocks = []
        for m, blk in enumerate(inst.blocks):
            deadline = self.deadline_s
            if self.deadline_s is None and rng.random() < self.deadline_share:
                deadline = float(max(rng.uniform(0.6, 0.95) * path_delay[m], 1.05 * least[m]))
            blocks.append(dataclasses.replace(blk, deadline_s=deadline))
        inst = inst.replace(blocks=tuple(blocks))
        if self.budget_fraction is None:
            return inst
        energy = inst.costs.energy[0]
        fastest, value, frugal, least = extreme_paths(Objective().step_cost(inst.costs)[0], energy)
        if not (np.isfinite(value) and np.isfinite(least)):
            return inst  # infeasible by its deadlines: no budget needed to say so
        low = float(along(energy, frugal).sum())
        high = float(along(energy, fastest).sum())
        return inst.replace(energy_budget_j=low + self.budget_fraction * max(high - low, 0.0))


GENERATORS: dict[str, type[_Generator]] = {
    "paper": PaperGenerator,
    "dil": DILGenerator,
    "random": RandomGenerator,
    "shared": SharedEdgeGenerator,
    "horizon": HorizonGenerator,
    "mobile": MobileGenerator,
}


def get_generator(name: str, **params) -> _Generator:
    """The generator called ``name``, configured with ``params``.

    Parameters
    ----------
    name : {"paper", "dil", "random", "shared"}
        The generator (``partopt list``); an unknown name gets a suggestion.
    **params
        Fields of the generator's class, e.g. ``num_servers=6``.

    Returns
    -------
    PaperGenerator, DILGenerator, RandomGenerator or SharedEdgeGenerator
        Its ``generate(seed)`` and ``generate_many(count, seed)`` draw instances.
    """
    if name not in GENERATORS:
        raise ValueError(f"generator: unknown name {name!r}; available: {', '.join(GENERATORS)}."
                         + did_you_mean(name, GENERATORS))
    cls = GENERATORS[name]
    known = {f.name for f in dataclasses.fields(cast(Any, cls))}
    for key in params:
        if key not in known:
            raise ValueError(f"{key}: not a parameter of generator {name!r}." + did_you_mean(key, known))
    return cls(**params)


def generate(name: str, seed: int = 0, **params):
    """One instance drawn from a named generator.

    Parameters
    ----------
    name : {"paper", "dil", "random", "shared"}
        The generator; "shared" draws a shared-edge :class:`~partopt.scenario.Scenario`.
    seed : int
        Stream seed: the same seed gives the same instance.
    **params
        The generator's parameters (fields of its class, e.g. ``num_servers=6`` or
        ``num_tasks=16, release_rate=90``).

    Returns
    -------
    Instance or Scenario

    Raises
    ------
    ValueError
        An unknown generator or parameter (with a "did you mean"), or a bad value.
    """
    return get_generator(name, **params).generate(seed)
