"""A stream of the shared edge decided online (model Part IV): :class:`Stream` and :class:`Battery`.

A stream is every task released over a horizon, held as one Part II
:class:`~partopt.shared.model.Scenario` (its tasks' ``release_s`` spread over the horizon),
with a battery per device in place of the slot's energy budget. Servers and device CPUs
run one block at a time over the whole horizon, so the whole stream's schedule is checked
by the scenario's own evaluation; the batteries are checked on top
(:func:`partopt.stream.evaluation.evaluate_stream`).

A window [a, b) of the stream (:meth:`Stream.window`) is an ordinary scenario: the tasks
released in it, times shifted by -a, each server ``available_s`` from a given backlog.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from partopt.fields import (
    InstanceError,
    InstanceTypeError,
    build_field,
    check_keys,
    drop_none,
    name_field,
    number_field,
    prefixed,
)
from partopt.formulas import MAX_TIME_S
from partopt.shared.model import EdgeServer, Scenario, validate_scenario_placement

__all__ = ["FORMAT", "Battery", "Stream", "validate_stream_placement"]

#: The format tag of stream files.
FORMAT = "partopt.stream/1"
_KEYS = {"format", "name", "horizon_s", "batteries", "scenario"}


@dataclass(frozen=True)
class Battery:
    """A device's battery over the stream.

    Parameters
    ----------
    capacity_j : float
        E^max, what it holds when full (J).
    recharge_w : float
        Power it recharges at, up to ``capacity_j`` (W; 0 for none).
    initial_j : float or None
        What it holds at time 0 (J); None for full.
    """

    capacity_j: float
    recharge_w: float = 0.0
    initial_j: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "capacity_j", number_field(self.capacity_j, "capacity_j", lower="nonneg"))
        object.__setattr__(self, "recharge_w", number_field(self.recharge_w, "recharge_w", lower="nonneg"))
        initial = number_field(self.initial_j, "initial_j", lower="nonneg", optional=True)
        if initial is not None and initial > self.capacity_j:
            raise InstanceError("initial_j", f"must be at most capacity_j = {self.capacity_j:g} J, got {initial:g}")
        object.__setattr__(self, "initial_j", initial)

    @property
    def start_j(self) -> float:
        """What it holds at time 0 (J)."""
        return self.capacity_j if self.initial_j is None else self.initial_j

    def recharged(self, level_j: float, seconds: float) -> float:
        """``level_j`` after ``seconds`` of recharging, capped at the capacity (J)."""
        return min(self.capacity_j, level_j + self.recharge_w * seconds) if seconds > 0 else level_j


_BATTERY_KEYS = {f.name for f in dataclasses.fields(Battery)}


@dataclass(frozen=True)
class Stream:
    """Tasks released over a horizon on the shared edge, decided online (model Part IV).

    Parameters
    ----------
    scenario : Scenario
        Every task of the horizon (``release_s`` within [0, ``horizon_s``]), the devices,
        servers (``available_s``: their backlog at time 0) and models. Devices carry no
        ``energy_budget_j``: their batteries stand for it.
    batteries : tuple of Battery or None
        One per device; None for a device on mains power.
    horizon_s : float
        H, the end of the stream's release period (s).
    name : str or None
        Optional label.
    """

    scenario: Scenario
    batteries: tuple[Battery | None, ...]
    horizon_s: float
    name: str | None = None

    #: The problem kind (see :data:`partopt.problem.KINDS`).
    kind: ClassVar[str] = "stream"
    #: The solver :func:`partopt.solve` runs when none is named: an online policy (a stream is
    #: decided task by task; ``bench/online.py`` brackets the clairvoyant reference).
    default_solver: ClassVar[str] = "online-earliest-finish"
    #: Whether a solution carries start times (checked by the evaluation) besides its placement.
    scheduled: ClassVar[bool] = True

    def __post_init__(self):
        if not isinstance(self.scenario, Scenario):
            raise InstanceTypeError("scenario", f"must be a Scenario, got {type(self.scenario).__name__}")
        sc = self.scenario
        object.__setattr__(
            self, "horizon_s", number_field(self.horizon_s, "horizon_s", lower="positive", upper=MAX_TIME_S)
        )
        for d, device in enumerate(sc.devices):
            if device.energy_budget_j is not None:
                raise InstanceError(
                    f"scenario.devices[{d}].energy_budget_j",
                    "must be absent in a stream: the device's battery (batteries[d]) stands for it",
                )
        for k, task in enumerate(sc.tasks):
            if task.release_s > self.horizon_s:
                raise InstanceError(
                    f"scenario.tasks[{k}].release_s", f"{task.release_s:g} s lies after horizon_s = {self.horizon_s:g}"
                )
        batteries = self.batteries
        if isinstance(batteries, (str, bytes, Mapping)) or not isinstance(batteries, Sequence):
            raise InstanceTypeError("batteries", f"must be a list (one per device), got {type(batteries).__name__}")
        if len(batteries) != sc.num_devices:
            raise InstanceError("batteries", f"needs one entry per device ({sc.num_devices}), got {len(batteries)}")
        for d, battery in enumerate(batteries):
            if battery is not None and not isinstance(battery, Battery):
                raise InstanceTypeError(f"batteries[{d}]", f"must be a Battery or None, got {type(battery).__name__}")
        object.__setattr__(self, "batteries", tuple(batteries))
        name_field(self.name, "name")

    def __hash__(self) -> int:
        return hash((self.name, self.horizon_s, self.scenario.num_tasks))

    @property
    def num_tasks(self) -> int:
        """How many tasks the stream releases."""
        return self.scenario.num_tasks

    @property
    def arrival_order(self) -> list[int]:
        """Task indices by (release time, index): the order in which an online policy sees them."""
        return list(self._arrival_order)

    @functools.cached_property
    def _arrival_order(self) -> tuple[int, ...]:
        release = np.array([t.release_s for t in self.scenario.tasks], dtype=float)
        return tuple(np.argsort(release, kind="stable").tolist())

    def window(self, start_s: float, end_s: float, server_free_s: Sequence[float] | None = None) -> Scenario:
        """The tasks released in [start_s, end_s) as a scenario, times shifted by -start_s; each
        server's ``available_s`` is its free time ``server_free_s[n]`` (absolute, s; default the
        stream's own backlog) after start_s. Device CPUs start free (a scenario has no device
        backlog), batteries are not carried (the window's devices have no budget)."""
        sc = self.scenario
        if not (0 <= start_s < end_s):
            raise ValueError(f"window: need 0 <= start_s < end_s, got [{start_s!r}, {end_s!r})")
        free = [s.available_s for s in sc.servers] if server_free_s is None else list(server_free_s)
        if len(free) != sc.num_servers:
            raise ValueError(f"server_free_s: needs one time per server ({sc.num_servers}), got {len(free)}")
        tasks = tuple(
            dataclasses.replace(t, release_s=t.release_s - start_s) for t in sc.tasks if start_s <= t.release_s < end_s
        )
        if not tasks:
            raise ValueError(f"window: no task is released in [{start_s:g}, {end_s:g}) s")
        servers = tuple(
            EdgeServer(cpu_hz=s.cpu_hz, available_s=max(0.0, b - start_s), name=s.name)
            for s, b in zip(sc.servers, free)
        )
        name = f"{self.name or 'stream'}[{start_s:g},{end_s:g})"
        return sc.replace(tasks=tasks, servers=servers, name=name)

    def replace(self, **changes) -> "Stream":
        """A copy with some fields changed (validated like a new stream)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Stream":
        """Build a stream from a ``partopt.stream/1`` dict; errors name the field."""
        check_keys(d, _KEYS, {"format", "horizon_s", "batteries", "scenario"}, "")
        if d["format"] != FORMAT:
            raise InstanceError("format", f"must be {FORMAT!r}, got {d['format']!r}")
        try:
            scenario = Scenario.from_dict(d["scenario"])
        except (InstanceError, InstanceTypeError) as error:
            raise prefixed(error, "scenario") from None
        raw = d["batteries"]
        if not isinstance(raw, list):
            raise InstanceTypeError("batteries", f"must be a list, got {type(raw).__name__}")
        batteries: list[Battery | None] = []
        for i, b in enumerate(raw):
            if b is None:
                batteries.append(None)
                continue
            check_keys(b, _BATTERY_KEYS, {"capacity_j"}, f"batteries[{i}]")
            batteries.append(build_field(Battery, b, f"batteries[{i}]"))
        return cls(scenario=scenario, batteries=tuple(batteries), horizon_s=d["horizon_s"], name=d.get("name"))

    def to_dict(self) -> dict[str, Any]:
        """The ``partopt.stream/1`` dict; ``from_dict`` inverts it exactly."""
        out: dict[str, Any] = {"format": FORMAT}
        if self.name is not None:
            out["name"] = self.name
        out["horizon_s"] = self.horizon_s
        out["batteries"] = [None if b is None else drop_none(dataclasses.asdict(b)) for b in self.batteries]
        out["scenario"] = self.scenario.to_dict()
        return out

    def __repr__(self) -> str:
        sc = self.scenario
        label = f"{self.name!r}, " if self.name else ""
        rate = sc.num_tasks / self.horizon_s
        edge = f"N={sc.num_servers}, D={sc.num_devices}"
        return f"Stream({label}K={sc.num_tasks} over {self.horizon_s:g} s ({rate:.0f}/s), {edge})"


def validate_stream_placement(stream: Stream, placement: Any) -> tuple[tuple[int, ...], ...]:
    """Check a placement of the stream's tasks (one list of locations per task, as a scenario's)."""
    return validate_scenario_placement(stream.scenario, placement)
