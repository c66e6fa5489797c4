"""The event-driven simulation of a stream decided online (model Part IV).

Tasks arrive in release order. At each arrival the policy sees an :class:`Arrival`: the task
(its device, model, deadline and cost tables), the time now, when its device's CPU and each
server are next free (their commitments so far), and its device's battery now. It answers a
placement (one location per block: 0 its device, 1..N a server). The task's blocks are then
committed in chain order, each at the later of its input's arrival and its resource's free
time (appended to the resource's queue; never undone), and its device energy is drawn from its
battery at once. The policy is handed nothing else: it cannot see a task that has not arrived.

A placement that is not one location per block is refused (``ValueError`` naming the task); a
placement whose energy the battery does not hold is committed and reported in
:attr:`SimulationReport.problems` (the run is then not valid: ``evaluation().budget_kept`` is
False), never passed off as valid. The schedule the simulation builds is exactly what
:func:`partopt.evaluate` checks and prices: :meth:`SimulationReport.evaluation`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from partopt.progress import Progress
from partopt.stream.evaluation import StreamEvaluation, battery_levels, evaluate_stream

if TYPE_CHECKING:
    from partopt.shared.model import Task, TaskTables
    from partopt.stream.model import Stream

__all__ = ["Arrival", "EdgeState", "SimulationReport", "TaskOutcome", "simulate"]


@dataclass(frozen=True)
class Arrival:
    """What an online policy sees when a task arrives.

    Attributes
    ----------
    index : int
        The task's index in the stream.
    task : Task
        Its device, model, release (= ``now_s``) and deadline.
    tables : TaskTables
        Its blocks' durations, transfers, return times, energies and deadlines (s, J).
    now_s : float
        The time of the decision (s): the task's release, or a batch policy's decision epoch.
    free_s : tuple of float
        When each location is next free (absolute s): index 0 its device's CPU, 1..N the servers.
    battery_j : float
        Its device's battery now (J; inf on mains power).
    capacity_j : float
        That battery's capacity (J; inf on mains power).
    """

    index: int
    task: Task
    tables: TaskTables
    now_s: float
    free_s: tuple[float, ...]
    battery_j: float
    capacity_j: float


#: An online policy: an :class:`Arrival` in, one location per block out. A policy with a
#: ``batch_s`` attribute (s) and a ``decide_batch(arrivals, now_s)`` method is a *batch* policy:
#: the tasks released in each epoch [e batch_s, (e + 1) batch_s) wait for its end and are decided
#: together then (``decide_batch(arrivals, now_s, waiting)``, ``waiting`` the scenario of those
#: tasks alone), seeing nothing later; it answers (task index, placement) pairs in the order
#: their blocks are to be committed, and no block starts before the decision.
Policy = Callable[[Arrival], Sequence[int]]


@dataclass(frozen=True)
class TaskOutcome:
    """What committing one task's placement gave (s, J)."""

    start_s: tuple[float, ...]
    delay_s: float
    excess_s: float
    energy_j: float
    battery_j: float


class EdgeState:
    """The edge between arrivals: when each resource is next free, each battery's level, and the
    schedule committed so far. :func:`simulate` and the Gymnasium environment both step it."""

    def __init__(self, stream: Stream):
        sc = stream.scenario
        self.stream = stream
        self.server_free = [s.available_s for s in sc.servers]
        self.device_free = [0.0] * sc.num_devices
        self.level = [math.inf if b is None else b.start_j for b in stream.batteries]
        self.charged_at = [0.0] * sc.num_devices
        self.placement: list[tuple[int, ...] | None] = [None] * sc.num_tasks
        self.start: list[tuple[float, ...] | None] = [None] * sc.num_tasks

    def battery_now(self, device: int, now_s: float) -> float:
        """The device's battery at ``now_s`` (J), recharged since its last draw."""
        battery = self.stream.batteries[device]
        if battery is None:
            return math.inf
        return battery.recharged(self.level[device], now_s - self.charged_at[device])

    def arrival(self, k: int, now_s: float | None = None) -> Arrival:
        """What a policy sees of task ``k`` at ``now_s`` (default its release; s)."""
        sc = self.stream.scenario
        task = sc.tasks[k]
        battery = self.stream.batteries[task.device]
        now = task.release_s if now_s is None else now_s
        return Arrival(
            index=k,
            task=task,
            tables=sc.tables[k],
            now_s=now,
            free_s=(self.device_free[task.device], *self.server_free),
            battery_j=self.battery_now(task.device, now),
            capacity_j=math.inf if battery is None else battery.capacity_j,
        )

    def commit(self, k: int, placement: Any, not_before_s: float = 0.0, draw: bool = True) -> TaskOutcome:
        """Append task ``k``'s blocks at ``placement`` to the resources' queues, none starting
        before ``not_before_s`` (the decision's time, s), and draw its energy (``draw``; else
        :meth:`draw` must be called, in arrival order)."""
        sc = self.stream.scenario
        task, tab = sc.tasks[k], sc.tables[k]
        row = _checked(placement, len(tab.duration), sc.num_servers, k)
        prev_loc, prev_end, release = 0, max(task.release_s, not_before_s), task.release_s
        starts, energy, excess = [], 0.0, 0.0
        for m, loc in enumerate(row):
            free = self.device_free[task.device] if loc == 0 else self.server_free[loc - 1]
            begin = max(prev_end + tab.transfer[m][prev_loc][loc], free)
            end = begin + tab.duration[m][loc]
            if loc == 0:
                self.device_free[task.device] = end
            else:
                self.server_free[loc - 1] = end
            block = end - prev_end + (tab.return_s[loc] if m == len(row) - 1 else 0.0)
            excess += max(block - tab.deadline[m], 0.0)
            energy += tab.energy[m][prev_loc][loc]
            starts.append(begin)
            prev_loc, prev_end = loc, end
        delay = prev_end + tab.return_s[prev_loc] - release
        if task.deadline_s is not None:
            excess += max(delay - task.deadline_s, 0.0)
        self.placement[k], self.start[k] = row, tuple(starts)
        return TaskOutcome(tuple(starts), delay, excess, energy, self.draw(k, energy) if draw else math.nan)

    def draw(self, k: int, energy_j: float) -> float:
        """Draw task ``k``'s device energy from its battery at its release; the level after (J)."""
        task = self.stream.scenario.tasks[k]
        level = self.battery_now(task.device, task.release_s) - energy_j
        if self.stream.batteries[task.device] is not None:
            self.level[task.device], self.charged_at[task.device] = level, task.release_s
        return level


def _checked(placement: Any, blocks: int, servers: int, k: int) -> tuple[int, ...]:
    """``placement`` as a tuple of ``blocks`` locations in 0..``servers``, or a ValueError naming task ``k``."""
    try:
        row = tuple(int(x) for x in placement)
        exact = all(int(x) == x for x in placement)
    except (TypeError, ValueError):
        raise ValueError(f"task {k}: the policy answered {placement!r}, not a list of locations") from None
    if len(row) != blocks or not exact or any(not 0 <= x <= servers for x in row):
        raise ValueError(
            f"task {k}: the policy answered {placement!r}; it needs {blocks} locations, each 0 (the device) "
            f"to {servers} (a server)"
        )
    return row


@dataclass(frozen=True)
class SimulationReport:
    """A stream simulated under one policy (seconds and joules).

    Attributes
    ----------
    stream : Stream
        What was simulated.
    policy : str
        The policy's name.
    placement, start_s : tuple of tuple
        The committed schedule, per task in stream order.
    task_delay_s, task_excess_s, task_energy_j : tuple of float
        Per task: its delay D_k, its summed deadline excess, its device energy.
    battery_j : tuple of tuple of float
        Per device, its battery right after each of its tasks (J), in arrival order.
    problems : tuple of str
        Batteries overdrawn (empty when every battery held).
    decision_s, wall_s : float
        Seconds spent in the policy; seconds for the whole simulation.
    """

    stream: Stream
    policy: str
    placement: tuple[tuple[int, ...], ...]
    start_s: tuple[tuple[float, ...], ...]
    task_delay_s: tuple[float, ...]
    task_excess_s: tuple[float, ...]
    task_energy_j: tuple[float, ...]
    battery_j: tuple[tuple[float, ...], ...]
    problems: tuple[str, ...]
    decision_s: float
    wall_s: float

    @property
    def mean_delay_s(self) -> float:
        """Mean task delay (s)."""
        return float(np.mean(self.task_delay_s))

    def delay_quantile(self, q: float) -> float:
        """The ``q`` quantile of the task delays (s), e.g. 0.95."""
        return float(np.quantile(self.task_delay_s, q))

    @property
    def deadline_misses(self) -> int:
        """How many tasks miss a deadline (their own or a block's)."""
        return sum(e > 0 for e in self.task_excess_s)

    @property
    def energy_j(self) -> float:
        """Total device energy (J)."""
        return float(sum(self.task_energy_j))

    @property
    def tasks_per_second(self) -> float:
        """Simulated tasks per second of wall-clock time."""
        return len(self.placement) / self.wall_s if self.wall_s > 0 else math.inf

    @property
    def server_utilization(self) -> tuple[float, ...]:
        """Per server, its busy share of [0, the last block's end]."""
        sc = self.stream.scenario
        busy = [0.0] * sc.num_servers
        end = 0.0
        for k, (row, starts) in enumerate(zip(self.placement, self.start_s)):
            tab = sc.tables[k]
            for m, (loc, s) in enumerate(zip(row, starts)):
                end = max(end, s + tab.duration[m][loc])
                if loc > 0:
                    busy[loc - 1] += tab.duration[m][loc]
        return tuple(b / end if end > 0 else 0.0 for b in busy)

    def evaluation(self) -> StreamEvaluation:
        """The committed schedule checked and priced by :func:`partopt.evaluate`."""
        return evaluate_stream(self.stream, self.placement, self.start_s)

    def summary(self) -> str:
        """The figures of the run, one line each."""
        return "\n".join(
            [
                f"policy {self.policy}: {len(self.placement)} tasks, {self.tasks_per_second:,.0f} tasks/s simulated",
                f"delay: mean {self.mean_delay_s * 1e3:.2f} ms, p95 {self.delay_quantile(0.95) * 1e3:.2f} ms, "
                f"p99 {self.delay_quantile(0.99) * 1e3:.2f} ms",
                f"deadline misses: {self.deadline_misses}; device energy {self.energy_j:.4g} J",
                "server utilization: " + ", ".join(f"{u:.0%}" for u in self.server_utilization),
                "batteries held" if not self.problems else f"{len(self.problems)} battery overdraws",
            ]
        )


def _epochs(stream: Stream, batch_s: float | None) -> list[list[int]]:
    """The tasks in arrival order, one per group, or grouped by decision epoch of ``batch_s`` s."""
    order = stream.arrival_order
    if batch_s is None:
        return [[k] for k in order]
    if not (isinstance(batch_s, (int, float)) and math.isfinite(batch_s) and batch_s > 0):
        raise ValueError(f"batch_s: must be a positive number of seconds, got {batch_s!r}")
    groups: dict[int, list[int]] = {}
    for k in order:
        groups.setdefault(math.floor(stream.scenario.tasks[k].release_s / batch_s), []).append(k)
    return [groups[e] for e in sorted(groups)]


def simulate(
    stream: Stream, policy: str | Policy = "earliest-finish", *, progress: bool = False, **options
) -> SimulationReport:
    """Run ``stream`` task by task under an online ``policy``.

    Parameters
    ----------
    stream : Stream
        The tasks, devices, servers and batteries.
    policy : str or callable
        A policy's name (:data:`partopt.stream.policies.POLICIES`: "local", "greedy-load",
        "earliest-finish", "lyapunov") or any callable taking an :class:`Arrival` and returning
        one location per block.
    progress : bool
        Show a progress line on stderr.
    **options
        The named policy's options (e.g. ``V=2.0`` for "lyapunov").

    Returns
    -------
    SimulationReport
        Per-task delays, misses, energies, battery levels, and the schedule for ``evaluate``.
    """
    from partopt.stream.model import Stream
    from partopt.stream.policies import make_policy

    if not isinstance(stream, Stream):
        raise TypeError(f"stream: must be a Stream, got {type(stream).__name__}")
    name, decide = make_policy(policy, **options)
    begin = time.perf_counter()
    state = EdgeState(stream)
    k_tasks = stream.num_tasks
    delay, excess, energy = [0.0] * k_tasks, [0.0] * k_tasks, [0.0] * k_tasks
    problems = []
    thinking = 0.0
    line = Progress(f"simulate {name}", k_tasks, enabled=progress)

    def drawn(k: int, held_j: float, capacity_j: float, energy_j: float, level_j: float) -> None:
        delay[k], excess[k], energy[k] = outcomes[k].delay_s, outcomes[k].excess_s, energy_j
        if level_j < -1e-9 * max(1.0, capacity_j if math.isfinite(capacity_j) else 1.0):
            problems.append(
                f"task {k}: device {stream.scenario.tasks[k].device}'s battery goes to {level_j:.6g} J "
                f"(it held {held_j:.6g} J, the placement draws {energy_j:.6g} J)"
            )

    outcomes: dict[int, TaskOutcome] = {}
    batch_s = getattr(decide, "batch_s", None)
    for group in _epochs(stream, batch_s):
        now = (
            None if batch_s is None else (math.floor(stream.scenario.tasks[group[0]].release_s / batch_s) + 1) * batch_s
        )
        seen = [state.arrival(k, now) for k in group]
        tick = time.perf_counter()
        if batch_s is None:
            answers = [(group[0], decide(seen[0]))]
        else:  # the batch policy sees the waiting tasks alone
            waiting = stream.scenario.replace(tasks=tuple(stream.scenario.tasks[k] for k in group))
            answers = list(decide.decide_batch(seen, now, waiting))  # type: ignore[attr-defined]
        thinking += time.perf_counter() - tick
        if sorted(k for k, _ in answers) != sorted(group):
            raise ValueError(f"policy {name!r} answered tasks {sorted(k for k, _ in answers)}, not {sorted(group)}")
        for k, answer in answers:
            outcomes[k] = state.commit(k, answer, not_before_s=now or 0.0, draw=False)
        for a in seen:  # energy is drawn in arrival order
            k = a.index
            held = state.battery_now(a.task.device, a.task.release_s)
            drawn(k, held, a.capacity_j, outcomes[k].energy_j, state.draw(k, outcomes[k].energy_j))
        line.update(len(outcomes))
    levels = battery_levels(stream, energy)
    return SimulationReport(
        stream=stream,
        policy=name,
        placement=tuple(r for r in state.placement if r is not None),
        start_s=tuple(s for s in state.start if s is not None),
        task_delay_s=tuple(delay),
        task_excess_s=tuple(excess),
        task_energy_j=tuple(energy),
        battery_j=levels,
        problems=tuple(problems),
        decision_s=thinking,
        wall_s=time.perf_counter() - begin,
    )
