"""Seeded generator of shared-edge scenarios (model Part II): ``shared``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from partopt import formulas as f
from partopt import generation
from partopt.chain.generators import MB
from partopt.chain.model import Block
from partopt.generation import Generator, draw, draw_int
from partopt.profiles import load_profile

#: Generator parameters every shared-edge suite point shares: four DNNs, N = 2..9, three devices.
SHARED_MIX = {"networks": ("vgg16", "alexnet", "resnet32", "nin"), "num_servers": (2, 9), "num_devices": 3}


@dataclass(frozen=True)
class SharedEdgeGenerator(Generator):
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
        if self.num_tasks > generation.MAX_TASKS:
            raise ValueError(
                f"num_tasks: {self.num_tasks:,} is more than partopt.generation.MAX_TASKS = "
                f"{generation.MAX_TASKS:,} "
                f"(a scenario that size takes minutes and gigabytes to draw; raise the cap to allow it)"
            )
        if not (
            isinstance(self.release_rate, (int, float)) and math.isfinite(self.release_rate) and self.release_rate > 0
        ):
            raise ValueError(f"release_rate: must be > 0 tasks per second, got {self.release_rate!r}")

    def sample(self, rng: np.random.Generator):
        if self.mix:
            return self.sample_mixed(rng)
        from partopt.shared.model import ChainModel, EdgeDevice, EdgeServer, Scenario, Task

        n = draw_int(rng, self.num_servers, "num_servers")
        server_hz = draw(rng, self.server_GHz, "server_GHz", size=n) * 1e9
        avail = draw(rng, self.available_s, "available_s", size=n)
        servers = tuple(
            EdgeServer(cpu_hz=float(hz), available_s=float(b), name=f"es{i + 1}")
            for i, (hz, b) in enumerate(zip(server_hz, avail))
        )
        devices = tuple(
            EdgeDevice(
                cpu_hz=float(draw(rng, self.device_GHz, "device_GHz")) * 1e9,
                tx_power_w=self.tx_power_w,
                uplink_bps=tuple((draw(rng, self.rate_MBps, "rate_MBps", size=n) * MB).tolist()),
                kappa=self.kappa,
                energy_budget_j=self.energy_budget_j,
                name=f"dev{d}",
            )
            for d in range(self.num_devices)
        )
        models, names = {}, []
        for net in self.networks:
            profile = load_profile(net)
            blocks = []
            for pb in profile.blocks(self.num_blocks):
                deadline = None if self.deadline_s is None else float(draw(rng, self.deadline_s, "deadline_s"))
                blocks.append(
                    Block(
                        cycles=pb.flops * self.cycles_per_flop,
                        input_bits=pb.input_bits,
                        param_bits=pb.param_bits,
                        deadline_s=deadline,
                        name=pb.name,
                    )
                )
            key = f"{net}-{len(blocks)}"
            models[key] = ChainModel(tuple(blocks), profile.output_bits)
            names.append(key)
        gaps = rng.exponential(1.0 / self.release_rate, size=self.num_tasks)
        release = np.concatenate([[0.0], np.cumsum(gaps[1:])])
        tasks = []
        for k in range(self.num_tasks):
            device = int(rng.integers(self.num_devices))
            model = names[int(rng.integers(len(names)))]
            limit = None if self.task_deadline_s is None else float(draw(rng, self.task_deadline_s, "task_deadline_s"))
            tasks.append(Task(device=device, model=model, release_s=float(release[k]), deadline_s=limit, name=f"t{k}"))
        return Scenario(
            models=models, devices=devices, servers=servers, backhaul_bps=self.backhaul_Mbps * 1e6, tasks=tuple(tasks)
        )

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
        from partopt.shared.model import EdgeDevice, EdgeServer, Scenario

        n = int(rng.integers(2, 10))
        server_hz = rng.uniform(2.0, 10.0, size=n) * 1e9
        servers = tuple(
            EdgeServer(
                cpu_hz=float(hz),
                available_s=float(rng.uniform(0.0, 0.05)) if rng.random() < 0.5 else 0.0,
                name=f"es{i + 1}",
            )
            for i, hz in enumerate(server_hz)
        )
        d_count = int(rng.integers(1, min(self.num_tasks, 6) + 1))
        device_hz = rng.uniform(0.5, 2.5, size=d_count) * 1e9
        uplinks = 10.0 ** rng.uniform(-1.0, 1.0, size=(d_count, n)) * MB
        models, chains = self._mixed_models(rng, server_hz, uplinks)
        gaps = rng.exponential(1.0 / self.release_rate, size=self.num_tasks)
        release = np.concatenate([[0.0], np.cumsum(gaps[1:])])
        tasks, local_energy = self._mixed_tasks(rng, release, chains, device_hz, server_hz, uplinks)
        devices = tuple(
            EdgeDevice(
                cpu_hz=float(device_hz[d]),
                tx_power_w=float(rng.uniform(0.1, 1.0)),
                uplink_bps=tuple(uplinks[d].tolist()),
                kappa=self.kappa,
                name=f"dev{d}",
                energy_budget_j=float(local_energy[d] * rng.uniform(0.3, 1.0))
                if rng.random() < 0.5 and local_energy[d] > 0
                else None,
            )
            for d in range(d_count)
        )
        return Scenario(
            models=models, devices=devices, servers=servers, backhaul_bps=self.backhaul_Mbps * 1e6, tasks=tuple(tasks)
        )

    def _mixed_models(self, rng: np.random.Generator, server_hz: np.ndarray, uplinks: np.ndarray) -> tuple[dict, list]:
        """:meth:`sample_mixed`'s models: each network cut into 3..12 blocks, a third of them with a
        deadline; and per model (name, block cycles, first input bits, output bits)."""
        from partopt.shared.model import ChainModel

        models, chains = {}, []
        for net in self.networks:
            profile = load_profile(net)
            m = int(rng.integers(3, min(12, len(profile.units)) + 1))
            parts = profile.blocks(m)
            cycles = np.array([pb.flops * self.cycles_per_flop for pb in parts])
            fastest = cycles / server_hz.max() + np.array([pb.input_bits for pb in parts]) / uplinks.max()
            blocks = tuple(
                Block(
                    cycles=float(c),
                    input_bits=pb.input_bits,
                    param_bits=pb.param_bits,
                    name=pb.name,
                    deadline_s=float(t * rng.uniform(5.0, 20.0)) if rng.random() < 1 / 3 else None,
                )
                for pb, c, t in zip(parts, cycles, fastest)
            )
            key = f"{net}-{m}"
            models[key] = ChainModel(blocks, profile.output_bits)
            chains.append((key, cycles, parts[0].input_bits, profile.output_bits))
        return models, chains

    def _mixed_tasks(
        self,
        rng: np.random.Generator,
        release: np.ndarray,
        chains: list,
        device_hz: np.ndarray,
        server_hz: np.ndarray,
        uplinks: np.ndarray,
    ) -> tuple[list, np.ndarray]:
        """:meth:`sample_mixed`'s tasks (device, model, release, deadline for half of them) and the
        energy (J) each device would spend running its tasks wholly on its CPU."""
        from partopt.shared.model import Task

        d_count = device_hz.size
        tasks, local_energy = [], np.zeros(d_count)
        for k in range(self.num_tasks):
            d = int(rng.integers(d_count))
            key, cycles, first_bits, out_bits = chains[int(rng.integers(len(chains)))]
            alone = min(
                cycles.sum() / device_hz[d],
                float(np.min(first_bits / uplinks[d] + cycles.sum() / server_hz + out_bits / uplinks[d])),
            )
            limit = float(alone * rng.uniform(1.5, 4.0)) if rng.random() < 0.5 else None
            tasks.append(Task(device=d, model=key, release_s=float(release[k]), deadline_s=limit, name=f"t{k}"))
            local_energy[d] += float(f.local_computation_energy(cycles.sum(), device_hz[d], self.kappa))
        return tasks, local_energy
