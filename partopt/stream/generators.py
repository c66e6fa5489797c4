"""Seeded generator of streams (model Part IV): ``stream``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from partopt import generation
from partopt.generation import Generator, draw

if TYPE_CHECKING:
    from partopt.stream.model import Stream


@dataclass(frozen=True)
class StreamGenerator(Generator):
    """Streams of the shared edge: devices release tasks over ``horizon_s`` seconds.

    Arrivals are Poisson at ``rate_per_s`` tasks/s in all, each task on a device drawn
    uniformly (so each device's arrivals are Poisson at ``rate_per_s / num_devices``), or at
    the times of ``trace_s`` (trace-driven). The edge (networks, links, servers, deadlines) is
    drawn by the ``shared`` generator with ``shared_params`` (mixed networks by default: four
    DNNs, each device its own uplinks); each task has an end-to-end deadline drawn in
    ``task_deadline_s``. Each device's battery holds ``battery_j`` (a number or a range; None:
    mains power) and recharges at ``battery_recharge`` W.

    Parameters
    ----------
    rate_per_s : float
        Arrival rate of the whole stream (tasks/s).
    horizon_s : float
        H, the release period (s).
    trace_s : tuple of float or None
        Release times to use instead of Poisson arrivals (s, within [0, H]).
    num_servers, num_devices : int
        N and D.
    task_deadline_s : float or (float, float) or None
        Each task's end-to-end deadline (s).
    battery_j : float or (float, float) or None
        Each device's battery capacity E^max (J), full at time 0.
    battery_recharge : float
        Each battery's recharge power (W, >= 0).
    shared_params : dict
        Further parameters of the ``shared`` generator (e.g. ``{"num_blocks": 6}``).
    """

    rate_per_s: float = 60.0
    horizon_s: float = 10.0
    trace_s: tuple[float, ...] | None = None
    num_servers: int = 4
    num_devices: int = 4
    task_deadline_s: float | tuple[float, float] | None = (0.5, 2.0)
    battery_j: float | tuple[float, float] | None = (20.0, 60.0)
    battery_recharge: float = 0.5
    shared_params: dict[str, Any] = field(
        default_factory=lambda: {"networks": ("vgg16", "alexnet", "resnet32", "nin"), "deadline_s": None}
    )

    name = "stream"

    def __post_init__(self):
        for key in ("rate_per_s", "horizon_s"):
            value = getattr(self, key)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (math.isfinite(value) and value > 0)
            ):
                raise ValueError(f"{key}: must be a number > 0, got {value!r}")
        if self.trace_s is not None:
            times = np.asarray(self.trace_s, dtype=float)
            if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)):
                raise ValueError(f"trace_s: must be a non-empty list of release times (s), got {self.trace_s!r}")
            if times.min() < 0 or times.max() > self.horizon_s:
                raise ValueError(f"trace_s: release times must lie in [0, horizon_s = {self.horizon_s:g}] s")
            object.__setattr__(self, "trace_s", tuple(float(t) for t in times))
        if not isinstance(self.shared_params, dict):
            raise ValueError(f"shared_params: must be a dict, got {type(self.shared_params).__name__}")
        for key in ("num_tasks", "release_rate", "num_servers", "num_devices", "task_deadline_s", "energy_budget_j"):
            if key in self.shared_params:
                raise ValueError(f"shared_params: {key!r} is set by the stream generator itself")
        expected = self.rate_per_s * self.horizon_s if self.trace_s is None else len(self.trace_s)
        if expected > generation.MAX_TASKS:
            raise ValueError(
                f"rate_per_s x horizon_s: about {expected:,.0f} tasks is more than partopt.generation.MAX_TASKS = "
                f"{generation.MAX_TASKS:,}"
            )
        recharge = self.battery_recharge
        if (
            isinstance(recharge, bool)
            or not isinstance(recharge, (int, float))
            or not (math.isfinite(recharge) and recharge >= 0)
        ):
            raise ValueError(f"battery_recharge: must be a number >= 0 (W), got {recharge!r}")

    def _releases(self, rng: np.random.Generator) -> np.ndarray:
        if self.trace_s is not None:
            return np.sort(np.asarray(self.trace_s))
        count = max(1, int(rng.poisson(self.rate_per_s * self.horizon_s)))
        return np.sort(rng.uniform(0.0, self.horizon_s, size=count))  # a Poisson process, given its count

    def sample(self, rng: np.random.Generator) -> Stream:
        from partopt.shared.generators import SharedEdgeGenerator
        from partopt.stream.model import Battery, Stream

        releases = self._releases(rng)
        edge = SharedEdgeGenerator(
            **{
                **self.shared_params,
                "num_tasks": len(releases),
                "num_servers": self.num_servers,
                "num_devices": self.num_devices,
                "task_deadline_s": self.task_deadline_s,
                "energy_budget_j": None,
            }
        ).sample(rng)
        tasks = tuple(dataclasses.replace(t, release_s=float(r)) for t, r in zip(edge.tasks, releases))
        batteries = tuple(
            None
            if self.battery_j is None
            else Battery(capacity_j=float(draw(rng, self.battery_j, "battery_j")), recharge_w=self.battery_recharge)
            for _ in range(self.num_devices)
        )
        return Stream(scenario=edge.replace(tasks=tasks), batteries=batteries, horizon_s=self.horizon_s)

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
