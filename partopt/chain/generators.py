"""Seeded generators of single chains (model Part I): ``paper``, ``dil``, ``random`` and ``mobile``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from partopt.chain.costs import along
from partopt.chain.model import Block, Device, Instance, Server
from partopt.chain.solvers.dp import chain_dp, extreme_paths
from partopt.formulas import shannon_rate
from partopt.generation import Generator, draw, draw_int, value_range
from partopt.names import did_you_mean
from partopt.objective import Objective
from partopt.profiles import load_profile

MB = 8e6  #: bits in a megabyte (10^6 bytes), the papers' MB.


@dataclass(frozen=True)
class PaperGenerator(Generator):
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
        n = draw_int(rng, self.num_servers, "num_servers")
        if self.rate_model == "uniform":
            rates = draw(rng, self.rate_MBps, "rate_MBps", size=n) * MB
        else:
            distance_km = rng.uniform(0.05, 0.75, size=n)
            gain = 10.0 ** (-(128.1 + 37.6 * np.log10(distance_km)) / 10.0)
            noise = 10.0 ** (-174 / 10.0) / 1000.0
            rates = shannon_rate(self.bandwidth_MHz * 1e6, self.tx_power_w, gain, noise)
        server_hz = draw(rng, self.server_GHz, "server_GHz", size=n) * 1e9
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
        return Instance(
            blocks=tuple(blocks),
            device=Device(
                cpu_hz=float(draw(rng, self.device_GHz, "device_GHz")) * 1e9,
                tx_power_w=self.tx_power_w,
                kappa=self.kappa,
            ),
            servers=tuple(
                Server(cpu_hz=hz, uplink_bps=r, name=f"es{k + 1}")
                for k, (hz, r) in enumerate(zip(server_hz.tolist(), rates.tolist()))
            ),
            backhaul_bps=self.backhaul_Mbps * 1e6,
            output_bits=profile.output_bits if self.output_bits is None else self.output_bits,
            energy_budget_j=self.energy_budget_j,
        )


@dataclass(frozen=True)
class DILGenerator(Generator):
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
        cycles = draw(rng, self.cycles_M, "cycles_M", size=m) * 1e6
        data = draw(rng, self.data_MB, "data_MB", size=m + 1) * MB
        device_hz = float(draw(rng, self.device_MHz, "device_MHz")) * 1e6
        edge_hz = float(draw(rng, self.edge_MHz, "edge_MHz")) * 1e6
        lo1, hi1 = value_range(self.edge_rate_MBps, "edge_rate_MBps")
        lo2, hi2 = value_range(self.cloud_rate_MBps, "cloud_rate_MBps")
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
class RandomGenerator(Generator):
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
        m = draw_int(rng, self.num_blocks, "num_blocks")
        n = draw_int(rng, self.num_servers, "num_servers")
        cycles = draw(rng, self.cycles, "cycles", size=m)
        bits = draw(rng, self.input_bits, "input_bits", size=m)
        device = Device(
            cpu_hz=float(draw(rng, self.device_hz, "device_hz")),
            tx_power_w=float(draw(rng, self.tx_power_w, "tx_power_w")),
        )
        server_hz = draw(rng, self.server_hz, "server_hz", size=n)
        uplink = draw(rng, self.uplink_bps, "uplink_bps", size=n)
        reference = cycles / server_hz.mean() + bits / uplink.mean()
        has_deadline = rng.random(m) < self.deadline_prob
        deadlines = self.deadline_tightness * rng.uniform(0.5, 2.0, size=m) * reference
        blocks = tuple(
            Block(cycles=float(c), input_bits=float(b), param_bits=0.0, deadline_s=float(d) if h else None)
            for c, b, d, h in zip(cycles, bits, deadlines, has_deadline)
        )
        budget = None
        if self.budget_fraction is not None:
            local = device.kappa * device.cpu_hz**2 * float(cycles.sum())
            budget = float(draw(rng, self.budget_fraction, "budget_fraction")) * local
        return Instance(
            blocks=blocks,
            device=device,
            servers=tuple(Server(cpu_hz=float(h), uplink_bps=float(r)) for h, r in zip(server_hz, uplink)),
            backhaul_bps=float(draw(rng, self.backhaul_bps, "backhaul_bps")),
            output_bits=float(draw(rng, self.output_bits, "output_bits")),
            energy_budget_j=budget,
        )


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
class MobileGenerator(Generator):
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
        for field_name, value, options in (
            ("device", self.device, DEVICE_CLASSES),
            ("server", self.server, SERVER_SETUPS),
            ("link", self.link, LINK_CLASSES),
            ("far_link", self.far_link, LINK_CLASSES),
        ):
            if value not in options:
                raise ValueError(
                    f"{field_name}: unknown class {value!r}; available: {', '.join(options)}."
                    + did_you_mean(str(value), options)
                )
        if not 0.0 <= self.deadline_share <= 1.0:
            raise ValueError(f"deadline_share: must be in [0, 1], got {self.deadline_share!r}")
        if self.budget_fraction is not None and not 0.0 <= self.budget_fraction <= 1.0:
            raise ValueError(f"budget_fraction: must be in [0, 1] or None, got {self.budget_fraction!r}")
        load_profile(self.network).boundaries(self.num_blocks)

    def sample(self, rng: np.random.Generator) -> Instance:
        profile = load_profile(self.network)
        n = draw_int(rng, self.num_servers, "num_servers")
        dev, link = DEVICE_CLASSES[self.device], LINK_CLASSES[self.link]
        device_hz = float(rng.uniform(*dev.gflops)) * 1e9
        watts = float(rng.uniform(*dev.watts))
        if self.server == "cpu+gpu":
            n = max(n, 2)
            server_hz = (
                np.concatenate(
                    [rng.uniform(*SERVER_CLASSES["cpu"], size=1), rng.uniform(*SERVER_CLASSES["gpu"], size=n - 1)]
                )
                * 1e9
            )
            rates = (
                np.concatenate(
                    [rng.uniform(*link.mbps, size=1), rng.uniform(*LINK_CLASSES[self.far_link].mbps, size=n - 1)]
                )
                * 1e6
            )
        else:
            server_hz = rng.uniform(*SERVER_CLASSES[self.server], size=n) * 1e9
            rates = rng.uniform(*link.mbps, size=n) * 1e6
        if self.link_mbps is not None:
            rates[0 if self.server == "cpu+gpu" else slice(None)] = self.link_mbps * 1e6
        # A measured profile's times are the device's: cycles at the device's clock (docs/model.md).
        inst = Instance.from_profiles(
            profile,
            Device(cpu_hz=device_hz, tx_power_w=link.tx_power_w, kappa=watts / device_hz**3),
            [
                Server(cpu_hz=hz, uplink_bps=r, name=f"es{k + 1}")
                for k, (hz, r) in enumerate(zip(server_hz.tolist(), rates.tolist()))
            ],
            num_blocks=self.num_blocks,
            backhaul_bps=self.backhaul_Mbps * 1e6,
            input_bits_per_element=self.input_bits_per_element,
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
