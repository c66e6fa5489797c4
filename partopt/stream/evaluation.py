"""The cost of a stream's schedule (model Part IV): :class:`StreamEvaluation`, :func:`evaluate_stream`.

The schedule of every task is checked and priced as one Part II scenario
(:func:`partopt.shared.evaluation.evaluate_scenario`): precedence, releases, server backlogs and
no overlap on any server or device CPU over the whole horizon. The batteries are checked on
top: each task's device energy (Part I's, for its whole placement) is drawn from its device's
battery when the task is released, the battery recharging at ``recharge_w`` up to its capacity
in between; a level below zero breaks the battery (``budget_kept`` is False).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from partopt import formulas as f
from partopt.objective import EvaluationCore
from partopt.shared.evaluation import ScenarioEvaluation, evaluate_scenario

if TYPE_CHECKING:
    from partopt.shared.model import TaskTables
    from partopt.stream.model import Stream

__all__ = ["StreamEvaluation", "battery_levels", "evaluate_stream", "overdrawn", "task_energy", "task_excess"]


def task_energy(tables: TaskTables, placement: Sequence[int]) -> float:
    """A task's device energy for ``placement`` (J): every block computed or sent, Part I's."""
    total, prev = 0.0, 0
    for m, loc in enumerate(placement):
        total += tables.energy[m][prev][loc]
        prev = loc
    return total


def task_excess(tables: TaskTables, deadline_s: float | None, block_delay: Sequence[float], delay_s: float) -> float:
    """A task's summed deadline excess (s): each block's delay over its deadline, and the task's
    delay over its own deadline (``deadline_s``; None for none)."""
    excess = sum(max(b - tables.deadline[m], 0.0) for m, b in enumerate(block_delay))
    return excess + (0.0 if deadline_s is None else max(delay_s - deadline_s, 0.0))


def overdrawn(level_j: float, capacity_j: float) -> bool:
    """Whether a battery of ``capacity_j`` J at ``level_j`` J is below zero, beyond the model's
    relative tolerance of its capacity."""
    return level_j < -f.REL_TOL * min(capacity_j, 1e12)


def battery_levels(stream: Stream, energy_j: Sequence[float]) -> tuple[tuple[float, ...], ...]:
    """Per device, its battery's level right after each of its tasks draws ``energy_j[k]``, in
    arrival order (J; inf for a device on mains power)."""
    levels: list[list[float]] = [[] for _ in stream.batteries]
    level = [math.inf if b is None else b.start_j for b in stream.batteries]
    last = [0.0] * len(stream.batteries)
    tasks = stream.scenario.tasks
    for k in stream.arrival_order:
        d = tasks[k].device
        battery = stream.batteries[d]
        if battery is not None:
            level[d] = battery.recharged(level[d], tasks[k].release_s - last[d]) - energy_j[k]
            last[d] = tasks[k].release_s
        levels[d].append(level[d])
    return tuple(tuple(row) for row in levels)


@dataclass(frozen=True)
class StreamEvaluation(EvaluationCore):
    """The cost of a stream's schedule (seconds and joules).

    Attributes
    ----------
    schedule : ScenarioEvaluation
        The whole stream's schedule priced and checked as one scenario (per-task delays,
        deadlines, problems).
    task_energy : tuple of float
        Each task's device energy (J).
    battery_j : tuple of tuple of float
        Per device, its level right after each of its tasks, in arrival order (J).
    capacity_j : tuple of float
        Per device, its battery's capacity (J; inf on mains power).
    """

    schedule: ScenarioEvaluation
    task_energy: tuple[float, ...]
    battery_j: tuple[tuple[float, ...], ...]
    capacity_j: tuple[float, ...]

    @property
    def placement(self) -> tuple[tuple[int, ...], ...]:
        """The placement priced, one tuple per task."""
        return self.schedule.placement

    @property
    def start_s(self) -> tuple[tuple[float, ...], ...]:
        """Every block's start (absolute s), one tuple per task."""
        return self.schedule.start_s

    @property
    def total_delay(self) -> float:
        """Sum of the tasks' delays D_k (s)."""
        return self.schedule.total_delay

    @property
    def penalty(self) -> float:
        """psi, the summed deadline excesses (s)."""
        return self.schedule.penalty

    @property
    def energy(self) -> float:
        """Total device energy (J)."""
        return self.schedule.energy

    @property
    def local_delay(self) -> float:
        """The summed block delays of blocks run on devices (s)."""
        return self.schedule.local_delay

    @property
    def edge_delay(self) -> float:
        """The summed block delays of blocks run on servers (s)."""
        return self.schedule.edge_delay

    @property
    def problems(self) -> tuple[str, ...]:
        """What makes the schedule invalid (empty when valid)."""
        return self.schedule.problems

    @property
    def valid(self) -> bool:
        """True when the schedule keeps every precedence, release, backlog and no-overlap rule."""
        return self.schedule.valid

    @property
    def deadlines_met(self) -> bool:
        """True when every block and task meets its deadline."""
        return self.schedule.deadlines_met

    @property
    def budget_kept(self) -> bool:
        """True when no battery ever goes below zero (to the model's relative tolerance of its capacity)."""
        return not any(overdrawn(min(row, default=math.inf), cap) for row, cap in zip(self.battery_j, self.capacity_j))

    @property
    def feasible(self) -> bool:
        """A valid schedule within every deadline and battery."""
        return self.valid and self.deadlines_met and self.budget_kept

    @property
    def deadline_misses(self) -> int:
        """How many tasks miss a deadline (their own, or a block's)."""
        ev = self.schedule
        return sum(not (t and all(b)) for t, b in zip(ev.task_deadline_met, ev.deadline_met))


def evaluate_stream(stream: Stream, placement: Any, start_s: Any = None) -> StreamEvaluation:
    """The exact cost of ``placement`` on ``stream``, scheduled by ``start_s`` (s, every block's
    start) or, if None, by FIFO dispatch of the whole stream."""
    schedule = evaluate_scenario(stream.scenario, placement, start_s)
    tables = stream.scenario.tables
    energy = tuple(task_energy(tables[k], row) for k, row in enumerate(schedule.placement))
    capacity = tuple(math.inf if b is None else b.capacity_j for b in stream.batteries)
    return StreamEvaluation(schedule, energy, battery_levels(stream, energy), capacity)
