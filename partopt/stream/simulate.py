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

import bisect
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from partopt.progress import Progress
from partopt.stream.evaluation import (
    StreamEvaluation,
    battery_levels,
    evaluate_stream,
    overdrawn,
    task_energy,
    task_excess,
)

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
    fit : callable or None
        For a gap-filling policy (``fills_gaps``), ``fit(location, ready_s, duration_s)``: the
        earliest start at or after ``ready_s`` of a block that long in the gaps between the
        commitments; None otherwise.
    """

    index: int
    task: Task
    tables: TaskTables
    now_s: float
    free_s: tuple[float, ...]
    battery_j: float
    capacity_j: float
    fit: Callable[[int, float, float], float] | None = None


#: An online policy: an :class:`Arrival` in, one location per block out. A policy whose
#: ``fills_gaps`` attribute is true has its blocks put in the first gap between commitments
#: that holds them (the arrival's ``fit`` tells where) rather than after them. A policy with a
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

    def __init__(self, stream: Stream, gaps: bool = False):
        sc = stream.scenario
        self.stream = stream
        #: With ``gaps``, every resource's busy intervals (servers, then the devices' CPUs), sorted:
        #: the gap-filling policies' calendar.
        self.calendar: list[list[tuple[float, float]]] | None = None
        if gaps:
            self.calendar = [[(0.0, s.available_s)] if s.available_s > 0 else [] for s in sc.servers]
            self.calendar += [[] for _ in range(sc.num_devices)]
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
        fit = None
        if self.calendar is not None:
            rows = [self.calendar[sc.num_servers + task.device], *self.calendar[: sc.num_servers]]

            def fit(loc: int, ready: float, duration: float) -> float:
                return earliest_fit(rows[loc], ready, duration)

        return Arrival(
            index=k,
            task=task,
            tables=sc.tables[k],
            now_s=now,
            free_s=(self.device_free[task.device], *self.server_free),
            battery_j=self.battery_now(task.device, now),
            capacity_j=math.inf if battery is None else battery.capacity_j,
            fit=fit,
        )

    def commit(self, k: int, placement: Any, not_before_s: float = 0.0, draw: bool = True) -> TaskOutcome:
        """Append task ``k``'s blocks at ``placement`` to the resources' queues, none starting
        before ``not_before_s`` (the decision's time, s), and draw its energy (``draw``; else
        :meth:`draw` must be called, in arrival order)."""
        sc = self.stream.scenario
        task, tab = sc.tasks[k], sc.tables[k]
        row = _checked(placement, len(tab.duration), sc.num_servers, k)
        prev_loc, prev_end, release = 0, max(task.release_s, not_before_s), task.release_s
        starts, blocks = [], []
        for m, loc in enumerate(row):
            free = self.device_free[task.device] if loc == 0 else self.server_free[loc - 1]
            ready = prev_end + tab.transfer[m][prev_loc][loc]
            if self.calendar is None:
                begin = max(ready, free)
            else:  # into the first gap that holds the block
                busy = self.calendar[sc.num_servers + task.device if loc == 0 else loc - 1]
                begin = earliest_fit(busy, ready, tab.duration[m][loc])
                bisect.insort(busy, (begin, begin + tab.duration[m][loc]))
            end = begin + tab.duration[m][loc]
            if loc == 0:
                self.device_free[task.device] = max(end, free)
            else:
                self.server_free[loc - 1] = max(end, free)
            blocks.append(end - prev_end + (tab.return_s[loc] if m == len(row) - 1 else 0.0))
            starts.append(begin)
            prev_loc, prev_end = loc, end
        delay = prev_end + tab.return_s[prev_loc] - release
        excess, energy = task_excess(tab, task.deadline_s, blocks, delay), task_energy(tab, row)
        self.placement[k], self.start[k] = row, tuple(starts)
        return TaskOutcome(tuple(starts), delay, excess, energy, self.draw(k, energy) if draw else math.nan)

    def draw(self, k: int, energy_j: float) -> float:
        """Draw task ``k``'s device energy from its battery at its release; the level after (J)."""
        task = self.stream.scenario.tasks[k]
        level = self.battery_now(task.device, task.release_s) - energy_j
        if self.stream.batteries[task.device] is not None:
            self.level[task.device], self.charged_at[task.device] = level, task.release_s
        return level


#: How many busy intervals a gap search looks through before it takes the resource's free time
#: (a valid start too: nothing is committed after it).
MAX_GAP_SCAN = 64


def earliest_fit(busy: list[tuple[float, float]], ready: float, duration: float) -> float:
    """The earliest start at or after ``ready`` (s) of a block of ``duration`` s on a resource
    whose sorted, disjoint busy intervals are ``busy``: in the first gap that holds it."""
    if not busy or ready >= busy[-1][1]:
        return ready
    i = bisect.bisect_right(busy, (ready, math.inf)) - 1
    start = ready if i < 0 else max(ready, busy[i][1])
    for j in range(i + 1, min(len(busy), i + 1 + MAX_GAP_SCAN)):
        if busy[j][0] >= start + duration:
            return start
        start = max(start, busy[j][1])
    return max(start, busy[-1][1]) if i + 1 + MAX_GAP_SCAN < len(busy) else start


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


def _epochs(stream: Stream, batch_s: float | None) -> list[tuple[float | None, list[int]]]:
    """(decision time, tasks) in arrival order: each task alone, decided at its release (None),
    or the tasks of each epoch of ``batch_s`` s, decided at the epoch's end (s)."""
    order = stream.arrival_order
    if batch_s is None:
        return [(None, [k]) for k in order]
    if not (isinstance(batch_s, (int, float)) and math.isfinite(batch_s) and batch_s > 0):
        raise ValueError(f"batch_s: must be a positive number of seconds, got {batch_s!r}")
    groups: dict[int, list[int]] = {}
    for k in order:
        groups.setdefault(math.floor(stream.scenario.tasks[k].release_s / batch_s), []).append(k)
    return [((e + 1) * batch_s, groups[e]) for e in sorted(groups)]


class _Run:
    """A simulation in progress: the edge, each decided task's delay, excess and energy, the
    battery problems met, the seconds spent deciding, and how many epochs are done. It is
    saved as JSON (``partopt.simulation/1``) so that an interrupted run resumes."""

    def __init__(self, stream: Stream, policy: str, gaps: bool = False):
        k = stream.num_tasks
        self.stream, self.policy = stream, policy
        self.state = EdgeState(stream, gaps=gaps)
        self.delay, self.excess, self.energy = [0.0] * k, [0.0] * k, [0.0] * k
        self.problems: list[str] = []
        self.thinking, self.epochs_done, self.tasks_done = 0.0, 0, 0

    def step(self, now: float | None, group: list[int], decide: Any) -> None:
        """Decide and commit one epoch's tasks at ``now`` (s; None: one task, at its release)."""
        stream, state = self.stream, self.state
        seen = [state.arrival(k, now) for k in group]
        tick = time.perf_counter()
        if now is None:
            answers = [(group[0], decide(seen[0]))]
        else:  # the batch policy sees the waiting tasks alone
            waiting = stream.scenario.replace(tasks=tuple(stream.scenario.tasks[k] for k in group))
            answers = list(decide.decide_batch(seen, now, waiting))
        self.thinking += time.perf_counter() - tick
        if sorted(k for k, _ in answers) != sorted(group):
            raise ValueError(
                f"policy {self.policy!r} answered tasks {sorted(k for k, _ in answers)}, not {sorted(group)}"
            )
        outcomes = {k: state.commit(k, answer, not_before_s=now or 0.0, draw=False) for k, answer in answers}
        for a in seen:  # energy is drawn in arrival order
            k, out = a.index, outcomes[a.index]
            held = state.battery_now(a.task.device, a.task.release_s)
            level = state.draw(k, out.energy_j)
            self.delay[k], self.excess[k], self.energy[k] = out.delay_s, out.excess_s, out.energy_j
            if overdrawn(level, a.capacity_j):
                self.problems.append(
                    f"task {k}: device {a.task.device}'s battery goes to {level:.6g} J "
                    f"(it held {held:.6g} J, the placement draws {out.energy_j:.6g} J)"
                )
        self.epochs_done += 1
        self.tasks_done += len(group)

    def save(self, path: str | os.PathLike) -> None:
        """Write the run so far as JSON (atomically: a temporary file, then renamed)."""
        st = self.state

        def finite(values):
            return [None if math.isinf(v) else v for v in values]

        data = {
            "format": CHECKPOINT_FORMAT,
            "stream": _fingerprint(self.stream),
            "policy": self.policy,
            "epochs_done": self.epochs_done,
            "tasks_done": self.tasks_done,
            "server_free": st.server_free,
            "device_free": st.device_free,
            "level": finite(st.level),
            "charged_at": st.charged_at,
            "calendar": st.calendar,
            "placement": st.placement,
            "start": st.start,
            "delay": self.delay,
            "excess": self.excess,
            "energy": self.energy,
            "problems": self.problems,
            "thinking": self.thinking,
        }
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike, stream: Stream, policy: str, gaps: bool = False) -> _Run:
        """The run saved at ``path``; a ValueError naming the field when it is not this stream's
        and policy's run or not a run at all (nothing in it is executed)."""
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"checkpoint: cannot read {os.fspath(path)!r} ({error})") from None
        if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"checkpoint: {os.fspath(path)!r} is not a {CHECKPOINT_FORMAT} file")
        if data.get("stream") != _fingerprint(stream):
            raise ValueError(f"checkpoint.stream: {os.fspath(path)!r} is a run of another stream")
        if data.get("policy") != policy:
            raise ValueError(f"checkpoint.policy: {os.fspath(path)!r} is a run of policy {data.get('policy')!r}")
        run = cls(stream, policy, gaps)
        k, n, d = stream.num_tasks, stream.scenario.num_servers, stream.scenario.num_devices
        try:
            st = run.state
            st.server_free = _numbers(data["server_free"], n, "server_free")
            st.device_free = _numbers(data["device_free"], d, "device_free")
            st.level = [math.inf if v is None else v for v in _numbers(data["level"], d, "level", none=True)]
            st.charged_at = _numbers(data["charged_at"], d, "charged_at")
            if gaps:
                st.calendar = [
                    sorted((float(a), float(b)) for a, b in _rows(row, len(row)) if a <= b)
                    for row in _rows(data["calendar"], n + d)
                ]
            st.placement = [None if r is None else tuple(int(x) for x in r) for r in _rows(data["placement"], k)]
            st.start = [None if r is None else tuple(_numbers(r, len(r), "start")) for r in _rows(data["start"], k)]
            run.delay = _numbers(data["delay"], k, "delay")
            run.excess = _numbers(data["excess"], k, "excess")
            run.energy = _numbers(data["energy"], k, "energy")
            run.problems = [str(p) for p in data["problems"]]
            run.thinking = float(data["thinking"])
            run.epochs_done, run.tasks_done = int(data["epochs_done"]), int(data["tasks_done"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"checkpoint: {os.fspath(path)!r} is damaged ({error})") from None
        return run

    def report(self, wall_s: float) -> SimulationReport:
        st = self.state
        return SimulationReport(
            stream=self.stream,
            policy=self.policy,
            placement=tuple(r for r in st.placement if r is not None),
            start_s=tuple(s for s in st.start if s is not None),
            task_delay_s=tuple(self.delay),
            task_excess_s=tuple(self.excess),
            task_energy_j=tuple(self.energy),
            battery_j=battery_levels(self.stream, self.energy),
            problems=tuple(self.problems),
            decision_s=self.thinking,
            wall_s=wall_s,
        )


CHECKPOINT_FORMAT = "partopt.simulation/1"


def _fingerprint(stream: Stream) -> str:
    """A digest of the stream's file form: a checkpoint belongs to one stream."""
    text = json.dumps(stream.to_dict(), sort_keys=True, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _numbers(values: Any, count: int, field: str, none: bool = False) -> list:
    """``values`` as ``count`` floats (None kept where ``none``), or a ValueError naming ``field``."""
    if not isinstance(values, list) or len(values) != count:
        raise ValueError(f"{field}: needs {count} numbers")
    out: list = []
    for v in values:
        if v is None and none:
            out.append(None)
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            out.append(float(v))
        else:
            raise ValueError(f"{field}: {v!r} is not a finite number")
    return out


def _rows(values: Any, count: int) -> list:
    """``values`` as ``count`` rows, each a list or None."""
    if (
        not isinstance(values, list)
        or len(values) != count
        or any(r is not None and not isinstance(r, list) for r in values)
    ):
        raise ValueError(f"needs {count} rows (a list or null per task)")
    return values


def _compiled_earliest_finish(stream: Stream) -> _Run | None:
    """The earliest-finish policy's run in compiled code
    (:class:`partopt.shared.kernels.ListScheduler`: tasks in arrival order, each by the DP that
    keeps block deadlines where it can, appended), or None when the policy's battery guard
    would have acted on some task (the compiled DP has none; the Python loop then runs)."""
    from partopt import formulas as f
    from partopt.shared.kernels import ListScheduler

    sc = stream.scenario
    tick = time.perf_counter()
    scheduler = ListScheduler(sc)
    packed = scheduler.schedule(stream.arrival_order, keep_deadlines=True)[:2]
    thinking = time.perf_counter() - tick
    placement, start = scheduler.rows(packed[0]), scheduler.rows(packed[1])
    delay, energy_j, excess = _priced(scheduler, *packed)
    energy = energy_j.tolist()
    level = [math.inf if b is None else b.start_j for b in stream.batteries]
    last = [0.0] * len(level)
    for k in stream.arrival_order:
        d, battery = sc.tasks[k].device, stream.batteries[sc.tasks[k].device]
        if battery is None:
            continue
        held = battery.recharged(level[d], sc.tasks[k].release_s - last[d])
        if not f.within(energy[k], held):
            return None
        level[d], last[d] = held - energy[k], sc.tasks[k].release_s
    run = _Run(stream, "earliest-finish")
    run.state.placement = [tuple(row) for row in placement]
    run.state.start = [tuple(row) for row in start]
    run.delay, run.energy, run.excess = delay.tolist(), energy, excess.tolist()
    run.thinking, run.epochs_done, run.tasks_done = thinking, sc.num_tasks, sc.num_tasks
    return run


def _priced(packed, placement: np.ndarray, start: np.ndarray):
    """A valid schedule's costs from its packed arrays (``placement`` and ``start`` (K, max M),
    :class:`partopt.shared.kernels.PackedScenario` ``packed``), in the operations and order
    :func:`partopt.shared.evaluation.evaluate_scenario` and the stream's ``task_energy`` and
    ``task_excess`` take, so every figure is the same float: (D_k, device energy (J) and
    deadline excess (s)) per task. A test checks them against ``evaluate``."""
    k_tasks, m_max = placement.shape
    rows, tab = np.arange(k_tasks), packed.table_of  # task k's tables are row tab[k] of packed.t_*
    last = packed.nblk - 1
    ends = start + packed.t_dur[tab[:, None], np.arange(m_max)[None, :], placement]
    before = np.concatenate([packed.rel[:, None], ends[:, :-1]], axis=1)
    block = ends - before
    back = packed.t_ret[tab, placement[rows, last]]
    block[rows, last] += back
    delay = (ends[rows, last] + back) - packed.rel
    came_from = np.concatenate([np.zeros((k_tasks, 1), np.int64), placement[:, :-1]], axis=1)
    energy, excess = np.zeros(k_tasks), np.zeros(k_tasks)
    for m in range(m_max):  # block by block, as the Python sums add
        used = m <= last
        energy += np.where(used, packed.t_energy[tab, m, came_from[:, m], placement[:, m]], 0.0)
        excess += np.where(used, np.maximum(block[:, m] - packed.t_tau[tab, m], 0.0), 0.0)
    limit = packed.task_tau  # inf for a task without a deadline
    excess += np.where(np.isfinite(limit), np.maximum(delay - limit, 0.0), 0.0)
    return delay, energy, excess


def simulate(
    stream: Stream,
    policy: str | Policy = "earliest-finish",
    *,
    progress: bool = False,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 10_000,
    compiled: bool = True,
    **options,
) -> SimulationReport:
    """Run ``stream`` task by task under an online ``policy``.

    Parameters
    ----------
    stream : Stream
        The tasks, devices, servers and batteries.
    policy : str or callable
        A policy's name (:data:`partopt.stream.policies.POLICIES`: "local", "greedy-load",
        "earliest-finish", "gap-filling", "lyapunov", "rolling-horizon") or any callable taking an
        :class:`Arrival` and returning one location per block (or a batch policy, see
        :data:`Policy`).
    progress : bool
        Show a progress line on stderr.
    checkpoint : path, optional
        A JSON file the run is saved to every ``checkpoint_every`` tasks and when interrupted
        (Ctrl-C); if it exists, the run resumes from it (same stream and policy, whose options
        must be the same too).
    compiled : bool
        Run "earliest-finish" in compiled code when its battery guard never acts (the same
        decisions, checked by a test; without ``checkpoint``); False: always the Python loop.
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
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 1:
        raise ValueError(f"checkpoint_every: must be an integer >= 1 (tasks), got {checkpoint_every!r}")
    name, decide = make_policy(policy, **options)
    begin = time.perf_counter()
    if compiled and policy == "earliest-finish" and checkpoint is None and stream.num_tasks:
        fast = _compiled_earliest_finish(stream)
        if fast is not None:
            return fast.report(time.perf_counter() - begin)
    resume = checkpoint is not None and os.path.exists(checkpoint)
    gaps = bool(getattr(decide, "fills_gaps", False))
    run = _Run.load(checkpoint, stream, name, gaps) if resume else _Run(stream, name, gaps)  # type: ignore[arg-type]
    batch_s = getattr(decide, "batch_s", None)
    line = Progress(f"simulate {name}", stream.num_tasks, enabled=progress)
    saved = run.tasks_done
    try:
        for now, group in _epochs(stream, batch_s)[run.epochs_done :]:
            run.step(now, group, decide)
            line.update(run.tasks_done)
            if checkpoint is not None and run.tasks_done - saved >= checkpoint_every:
                run.save(checkpoint)
                saved = run.tasks_done
    except KeyboardInterrupt:
        if checkpoint is not None:
            run.save(checkpoint)
        raise
    if checkpoint is not None and run.tasks_done != saved:
        run.save(checkpoint)
    return run.report(time.perf_counter() - begin)
