"""The shared edge (model Part II): many tasks in one slot competing for the servers.

A :class:`Scenario` holds named chain models, devices (each with its own links to
the N servers and its own energy budget), servers that run one block at a time from
``available_s`` on, and tasks, each a model released on a device at ``release_s``.
All types are frozen and validate on construction; a bad value raises
:class:`~partopt.fields.InstanceError` naming the field, e.g. ``tasks[1].model``.

Task k alone is a Part I :class:`~partopt.chain.model.Instance` (:meth:`Scenario.task_instance`):
its blocks, its device's CPU and links, the servers' CPUs and the backhaul. Every
duration, transfer and energy of the shared edge is read from that instance's cost
tensors, so Part I and Part II price a block with the same formulas.

**Two families of devices and servers, and why.** Part I has one device, so a link is as
much the server's as the device's: :class:`~partopt.chain.model.Server` carries R_n and the
:class:`~partopt.chain.model.Instance` carries the device's budget. On the shared edge every
device has its own link to each server and its own budget, and a server has a backlog:
:class:`EdgeDevice` carries R_{d,n} for n = 1..N and E_d, :class:`EdgeServer` carries F_n
and ``available_s``. The data map one to one, both ways and without loss:
:meth:`Scenario.from_instance` (an instance is a scenario of one task on one device, its
servers free at 0) and :meth:`Scenario.task_instance` (a task alone, its device's links on the
servers, its device's budget on the instance). Both files keep their formats
(``partopt.instance/1``, ``partopt.scenario/1``), and every cost of both is priced by one
set of formulas, so a one-task scenario's answers equal its instance's.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from partopt.chain.model import Block, Device, Instance, Server
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
from partopt.formulas import MAX_TIME_S

__all__ = [
    "FORMAT",
    "ChainModel",
    "EdgeDevice",
    "EdgeServer",
    "Scenario",
    "Task",
    "TaskTables",
    "validate_scenario_placement",
    "validate_start_times",
]

#: The format tag of scenario files.
FORMAT = "partopt.scenario/1"
#: The format tag of solution files (a placement and, optionally, start times).


def _sequence(value: Any, name: str) -> tuple:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise InstanceTypeError(name, f"must be a list, got {type(value).__name__}")
    return tuple(value)


@dataclass(frozen=True)
class ChainModel:
    """A named DNN of the shared edge.

    Parameters
    ----------
    blocks : tuple of Block
        The chain, with Part I's block fields (cycles, bits, per-block deadlines).
    output_bits : float
        Size of its result, returned to the task's device (bits).
    """

    blocks: tuple[Block, ...]
    output_bits: float = 0.0

    def __post_init__(self):
        blocks = _sequence(self.blocks, "blocks")
        if not blocks:
            raise InstanceError("blocks", "needs at least one block (M >= 1)")
        for i, b in enumerate(blocks):
            if not isinstance(b, Block):
                raise InstanceTypeError(f"blocks[{i}]", f"must be a Block, got {type(b).__name__}")
        object.__setattr__(self, "blocks", blocks)
        object.__setattr__(self, "output_bits", number_field(self.output_bits, "output_bits", lower="nonneg"))

    @property
    def num_blocks(self) -> int:
        """M, the number of blocks."""
        return len(self.blocks)


@dataclass(frozen=True)
class EdgeDevice:
    """An IoT device of the shared edge.

    Parameters
    ----------
    cpu_hz : float
        f^l_d (Hz).
    tx_power_w : float
        Transmit power p (W).
    uplink_bps : tuple of float
        R_{d,n} for n = 1..N: the rate of this device's own link to each server, both ways (bit/s).
    kappa : float
        Energy coefficient (J/(cycle Hz^2)).
    energy_budget_j : float or None
        Cap on this device's energy in the slot (J), or None.
    name : str
        Optional label.
    """

    cpu_hz: float
    tx_power_w: float
    uplink_bps: tuple[float, ...]
    kappa: float = 1e-26
    energy_budget_j: float | None = None
    name: str | None = None

    def __post_init__(self):
        Device(self.cpu_hz, self.tx_power_w, self.kappa)  # the Part I checks, with the same field names
        object.__setattr__(self, "cpu_hz", float(self.cpu_hz))
        object.__setattr__(self, "tx_power_w", float(self.tx_power_w))
        object.__setattr__(self, "kappa", float(self.kappa))
        rates = _sequence(self.uplink_bps, "uplink_bps")
        if not rates:
            raise InstanceError("uplink_bps", "needs one rate per server (N >= 1)")
        object.__setattr__(
            self,
            "uplink_bps",
            tuple(number_field(r, f"uplink_bps[{n}]", lower="positive") for n, r in enumerate(rates)),
        )
        object.__setattr__(
            self,
            "energy_budget_j",
            number_field(self.energy_budget_j, "energy_budget_j", lower="nonneg", optional=True),
        )
        name_field(self.name, "name")

    @property
    def budget(self) -> float:
        """The energy budget (J), inf when there is none."""
        return math.inf if self.energy_budget_j is None else self.energy_budget_j


@dataclass(frozen=True)
class EdgeServer:
    """An edge server of the shared edge; it runs one block at a time.

    Parameters
    ----------
    cpu_hz : float
        F_n (Hz).
    available_s : float
        b_n, when it finishes earlier work and can start this slot's blocks (s).
    name : str
        Optional label.
    """

    cpu_hz: float
    available_s: float = 0.0
    name: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "cpu_hz", number_field(self.cpu_hz, "cpu_hz", lower="positive"))
        object.__setattr__(
            self, "available_s", number_field(self.available_s, "available_s", lower="nonneg", upper=MAX_TIME_S)
        )
        name_field(self.name, "name")


@dataclass(frozen=True)
class Task:
    """One inference request of the shared edge.

    Parameters
    ----------
    device : int
        Index of the device that releases it (its raw input) and receives its result.
    model : str
        Name of the :class:`ChainModel` it runs.
    release_s : float
        When its raw input is ready on the device (s).
    deadline_s : float or None
        End-to-end deadline on its delay D_k (s), or None.
    name : str
        Optional label.
    """

    device: int
    model: str
    release_s: float = 0.0
    deadline_s: float | None = None
    name: str | None = None

    def __post_init__(self):
        if isinstance(self.device, bool) or not isinstance(self.device, numbers.Integral):
            raise InstanceTypeError("device", f"must be a device index (int), got {short(self.device)}")
        object.__setattr__(self, "device", int(self.device))
        if not isinstance(self.model, str):
            raise InstanceTypeError("model", f"must be a model name (string), got {type(self.model).__name__}")
        object.__setattr__(
            self, "release_s", number_field(self.release_s, "release_s", lower="nonneg", upper=MAX_TIME_S)
        )
        object.__setattr__(
            self, "deadline_s", number_field(self.deadline_s, "deadline_s", lower="positive", optional=True)
        )
        name_field(self.name, "name")


@dataclass(frozen=True)
class TaskTables:
    """One task's costs as plain lists (seconds, joules), read from its Part I cost tensors.

    duration[m][j]: block m on location j; transfer[m][i][j]: block m's input moving
    from i to j; return_s[j]: the result moving from j to the device; energy[m][i][j]:
    device energy of that step; deadline[m]: tau_m (inf for none).
    """

    duration: list[list[float]]
    transfer: list[list[list[float]]]
    return_s: list[float]
    energy: list[list[list[float]]]
    deadline: list[float]

    @classmethod
    def of(cls, instance: Instance) -> "TaskTables":
        """The tables of a Part I instance (its cached cost tensors)."""
        c = instance.costs
        return cls(
            c.computation[0].tolist(),
            c.transmission[0].tolist(),
            c.return_delay[0].tolist(),
            c.energy[0].tolist(),
            instance.deadlines.tolist(),
        )


_MODEL_KEYS = {"blocks", "output_bits"}
_BLOCK_KEYS = {f.name for f in dataclasses.fields(Block)}
_EDGE_DEVICE_KEYS = {f.name for f in dataclasses.fields(EdgeDevice)}
_EDGE_SERVER_KEYS = {f.name for f in dataclasses.fields(EdgeServer)}
_TASK_KEYS = {f.name for f in dataclasses.fields(Task)}
_SCENARIO_KEYS = {"format", "name", "models", "devices", "servers", "backhaul_bps", "tasks"}


@dataclass(frozen=True)
class Scenario:
    """A slot of the shared edge (model Part II): K tasks competing for N servers.

    Parameters
    ----------
    models : dict of str to ChainModel
        The networks the tasks run, by name.
    devices : tuple of EdgeDevice
        D devices.
    servers : tuple of EdgeServer
        N servers.
    backhaul_bps : float
        R_max between two servers (bit/s).
    tasks : tuple of Task
        The K tasks.
    name : str
        Optional label.
    """

    models: Mapping[str, ChainModel]
    devices: tuple[EdgeDevice, ...]
    servers: tuple[EdgeServer, ...]
    backhaul_bps: float
    tasks: tuple[Task, ...]
    name: str | None = None

    def __post_init__(self):
        if not isinstance(self.models, Mapping) or not self.models:
            raise InstanceTypeError("models", "must be a non-empty mapping of name -> ChainModel")
        for key, model in self.models.items():
            if not isinstance(model, ChainModel):
                raise InstanceTypeError(f"models.{key}", f"must be a ChainModel, got {type(model).__name__}")
        object.__setattr__(self, "models", dict(self.models))
        for field_name, cls, min_one in (
            ("devices", EdgeDevice, "device"),
            ("servers", EdgeServer, "server"),
            ("tasks", Task, "task"),
        ):
            items = _sequence(getattr(self, field_name), field_name)
            if not items:
                raise InstanceError(field_name, f"needs at least one {min_one}")
            for i, item in enumerate(items):
                if not isinstance(item, cls):
                    raise InstanceTypeError(
                        f"{field_name}[{i}]", f"must be a {cls.__name__}, got {type(item).__name__}"
                    )
            object.__setattr__(self, field_name, items)
        object.__setattr__(self, "backhaul_bps", number_field(self.backhaul_bps, "backhaul_bps", lower="positive"))
        n = len(self.servers)
        for d, dev in enumerate(self.devices):
            if len(dev.uplink_bps) != n:
                raise InstanceError(
                    f"devices[{d}].uplink_bps", f"has {len(dev.uplink_bps)} rates, there are N={n} servers"
                )
        for k, task in enumerate(self.tasks):
            if not 0 <= task.device < len(self.devices):
                raise InstanceError(
                    f"tasks[{k}].device", f"device {task.device} does not exist (0..{len(self.devices) - 1})"
                )
            if task.model not in self.models:
                raise InstanceError(
                    f"tasks[{k}].model", f"model {short(task.model)} does not exist; models: {short(list(self.models))}"
                )
        name_field(self.name, "name")

    def __hash__(self) -> int:
        return hash((self.name, self.tasks, self.devices, self.servers))

    # ----------------------------------------------------------------- shape
    @property
    def num_tasks(self) -> int:
        """K, the number of tasks."""
        return len(self.tasks)

    @property
    def num_servers(self) -> int:
        """N, the number of edge servers."""
        return len(self.servers)

    @property
    def num_devices(self) -> int:
        """D, the number of devices."""
        return len(self.devices)

    @cached_property
    def block_counts(self) -> tuple[int, ...]:
        """(M_0, ..., M_{K-1})."""
        return tuple(self.models[t.model].num_blocks for t in self.tasks)

    # ------------------------------------------------------------ Part I view
    def task_instance(self, k: int) -> Instance:
        """Task k alone as a Part I instance (its device's budget, no end-to-end deadline)."""
        task = self.tasks[k]
        return self._instances[(task.device, task.model)]

    @cached_property
    def _instances(self) -> dict[tuple[int, str], Instance]:
        out = {}
        for task in self.tasks:
            key = (task.device, task.model)
            if key in out:
                continue
            dev, model = self.devices[task.device], self.models[task.model]
            out[key] = Instance(
                blocks=model.blocks,
                device=Device(cpu_hz=dev.cpu_hz, tx_power_w=dev.tx_power_w, kappa=dev.kappa),
                servers=tuple(
                    Server(cpu_hz=s.cpu_hz, uplink_bps=r, name=s.name) for s, r in zip(self.servers, dev.uplink_bps)
                ),
                backhaul_bps=self.backhaul_bps,
                output_bits=model.output_bits,
                energy_budget_j=dev.energy_budget_j,
                name=f"{self.name or 'scenario'}/{task.model}@device{task.device}",
            )
        return out

    @cached_property
    def tables(self) -> tuple[TaskTables, ...]:
        """Per task, its :class:`TaskTables` (shared between tasks of one device and model)."""
        by_key = {key: TaskTables.of(inst) for key, inst in self._instances.items()}
        return tuple(by_key[(t.device, t.model)] for t in self.tasks)

    @classmethod
    def from_instance(cls, instance: Instance, release_s: float = 0.0) -> "Scenario":
        """The Part I ``instance`` as a scenario of one task (K = 1) on one device."""
        device = EdgeDevice(
            cpu_hz=instance.device.cpu_hz,
            tx_power_w=instance.device.tx_power_w,
            uplink_bps=tuple(s.uplink_bps for s in instance.servers),
            kappa=instance.device.kappa,
            energy_budget_j=instance.energy_budget_j,
        )
        return cls(
            models={"model": ChainModel(instance.blocks, instance.output_bits)},
            devices=(device,),
            servers=tuple(EdgeServer(cpu_hz=s.cpu_hz, name=s.name) for s in instance.servers),
            backhaul_bps=instance.backhaul_bps,
            tasks=(Task(device=0, model="model", release_s=release_s),),
            name=instance.name,
        )

    # ------------------------------------------------------------------ I/O
    def replace(self, **changes) -> "Scenario":
        """A copy with some fields changed (validated like a new scenario)."""
        return dataclasses.replace(self, **changes)

    #: The problem kind (see :data:`partopt.problem.KINDS`).
    kind: ClassVar[str] = "scenario"
    #: The solver :func:`partopt.solve` runs when none is named.
    default_solver: ClassVar[str] = "shared-exact"
    #: Whether a solution carries start times (checked by the evaluation) besides its placement.
    scheduled: ClassVar[bool] = True

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Scenario":
        """Build a scenario from a ``partopt.scenario/1`` dict; errors name the field."""
        check_keys(d, _SCENARIO_KEYS, {"format", "models", "devices", "servers", "backhaul_bps", "tasks"}, "")
        if d["format"] != FORMAT:
            raise InstanceError("format", f"must be {FORMAT!r}, got {short(d['format'])}")
        if not isinstance(d["models"], Mapping):
            raise InstanceTypeError("models", f"must be an object of name -> model, got {type(d['models']).__name__}")
        models = {}
        for key, raw in d["models"].items():
            where = f"models.{key}"
            check_keys(raw, _MODEL_KEYS, {"blocks"}, where)
            if not isinstance(raw["blocks"], list):
                raise InstanceTypeError(f"{where}.blocks", f"must be a list, got {type(raw['blocks']).__name__}")
            blocks = []
            for i, b in enumerate(raw["blocks"]):
                check_keys(b, _BLOCK_KEYS, {"cycles", "input_bits"}, f"{where}.blocks[{i}]")
                blocks.append(build_field(Block, b, f"{where}.blocks[{i}]"))
            out_bits = 0.0 if raw.get("output_bits") is None else raw["output_bits"]  # optional: null means none
            models[key] = build_field(ChainModel, {"blocks": tuple(blocks), "output_bits": out_bits}, where)
        parts = {}
        for field_name, keys, required, cls_ in (
            ("devices", _EDGE_DEVICE_KEYS, {"cpu_hz", "tx_power_w", "uplink_bps"}, EdgeDevice),
            ("servers", _EDGE_SERVER_KEYS, {"cpu_hz"}, EdgeServer),
            ("tasks", _TASK_KEYS, {"device", "model"}, Task),
        ):
            raw_list = d[field_name]
            if not isinstance(raw_list, list):
                raise InstanceTypeError(field_name, f"must be a list, got {type(raw_list).__name__}")
            items = []
            for i, raw in enumerate(raw_list):
                check_keys(raw, keys, required, f"{field_name}[{i}]")
                items.append(build_field(cls_, raw, f"{field_name}[{i}]"))
            parts[field_name] = tuple(items)
        return cls(models=models, backhaul_bps=d["backhaul_bps"], name=d.get("name"), **parts)

    def to_dict(self) -> dict[str, Any]:
        """The ``partopt.scenario/1`` dict; ``from_dict`` inverts it exactly."""
        out: dict[str, Any] = {"format": FORMAT}
        if self.name is not None:
            out["name"] = self.name
        out["models"] = {
            key: {"blocks": [drop_none(dataclasses.asdict(b)) for b in m.blocks], "output_bits": m.output_bits}
            for key, m in self.models.items()
        }
        out["devices"] = [
            drop_none({**dataclasses.asdict(dev), "uplink_bps": list(dev.uplink_bps)}) for dev in self.devices
        ]
        out["servers"] = [drop_none(dataclasses.asdict(s)) for s in self.servers]
        out["backhaul_bps"] = self.backhaul_bps
        out["tasks"] = [drop_none(dataclasses.asdict(t)) for t in self.tasks]
        return out

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return (
            f"Scenario({label}K={self.num_tasks}, N={self.num_servers}, D={self.num_devices}, "
            f"models={list(self.models)})"
        )


def validate_scenario_placement(scenario: Scenario, placement: Any) -> tuple[tuple[int, ...], ...]:
    """Check a placement (one list of locations per task) and return it as tuples of ints.

    Location 0 is the task's own device, 1..N the servers.
    """
    if isinstance(placement, (str, bytes, Mapping, set, frozenset)) or not hasattr(placement, "__len__"):
        raise InstanceTypeError("placement", f"must be a list of per-task lists, got {type(placement).__name__}")
    if len(placement) != scenario.num_tasks:
        raise InstanceError("placement", f"has {len(placement)} task entries, the scenario has K={scenario.num_tasks}")
    out = []
    n = scenario.num_servers
    for k, row in enumerate(placement):
        if isinstance(row, (str, bytes, Mapping, set, frozenset, numbers.Number)) or not hasattr(row, "__len__"):
            raise InstanceTypeError(f"placement[{k}]", f"must be a list of locations, got {type(row).__name__}")
        m_k = scenario.block_counts[k]
        if len(row) != m_k:
            raise InstanceError(f"placement[{k}]", f"has {len(row)} entries, task {k} has M={m_k} blocks")
        locs = []
        for m, loc in enumerate(row):
            if isinstance(loc, (bool, np.bool_)) or not isinstance(loc, numbers.Integral):
                raise InstanceTypeError(f"placement[{k}][{m}]", f"must be an int location, got {short(loc)}")
            if not 0 <= int(loc) <= n:
                raise InstanceError(f"placement[{k}][{m}]", f"location {int(loc)} is outside 0..{n}")
            locs.append(int(loc))
        out.append(tuple(locs))
    return tuple(out)


def validate_start_times(scenario: Scenario, start_s: Any) -> tuple[tuple[float, ...], ...]:
    """Check start times (one list per task, seconds, finite, in [0, :data:`~partopt.formulas.MAX_TIME_S`])
    and return them as tuples."""
    if isinstance(start_s, (str, bytes, Mapping)) or not hasattr(start_s, "__len__"):
        raise InstanceTypeError("start_s", f"must be a list of per-task lists, got {type(start_s).__name__}")
    if len(start_s) != scenario.num_tasks:
        raise InstanceError("start_s", f"has {len(start_s)} task entries, the scenario has K={scenario.num_tasks}")
    out = []
    for k, row in enumerate(start_s):
        if isinstance(row, (str, bytes, Mapping, numbers.Number)) or not hasattr(row, "__len__"):
            raise InstanceTypeError(f"start_s[{k}]", f"must be a list of start times, got {type(row).__name__}")
        m_k = scenario.block_counts[k]
        if len(row) != m_k:
            raise InstanceError(f"start_s[{k}]", f"has {len(row)} entries, task {k} has M={m_k} blocks")
        out.append(
            tuple(
                float(number_field(v, f"start_s[{k}][{m}]", lower="nonneg", upper=MAX_TIME_S) or 0.0)
                for m, v in enumerate(row)
            )
        )
    return tuple(out)
