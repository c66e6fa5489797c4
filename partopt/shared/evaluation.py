"""Pricing a shared-edge solution: FIFO dispatch and the evaluation of a schedule.

A placement alone is scheduled by :func:`fifo_dispatch` (model Part II): blocks whose
input is ready wait in one queue ordered by (ready time, task, block); the first is
started at max(ready time, the time its resource is free). A full schedule (a start
time per block) is checked instead: a block that starts before its input is ready or
before its server is available, or that overlaps another block on a server or a
device CPU, is reported in :attr:`ScenarioEvaluation.problems`, and the solution is
then never feasible, whatever its delays.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

from partopt import formulas as f
from partopt.objective import EvaluationCore
from partopt.shared.model import Scenario, validate_scenario_placement, validate_start_times

__all__ = [
    "ScenarioEvaluation",
    "ScheduleSummary",
    "compact_schedule",
    "evaluate_scenario",
    "fifo_dispatch",
    "resource_of",
]


def resource_of(scenario: Scenario, k: int, loc: int) -> tuple[str, int]:
    """The unary resource that runs a block of task k at location ``loc``: a server or k's device CPU."""
    return ("server", loc) if loc > 0 else ("device", scenario.tasks[k].device)


def _slack(t: float) -> float:
    """Tolerance of a time comparison at time ``t`` (s): :data:`~partopt.formulas.SCHEDULE_TOL_S`, absolute
    (times are at most :data:`~partopt.formulas.MAX_TIME_S`, where a float's spacing is smaller still)."""
    return f.SCHEDULE_TOL_S


def free_times(scenario: Scenario) -> dict[tuple[str, int], float]:
    """When each resource is first free (s): every server at its ``available_s``, every device CPU at 0."""
    free = {("server", n + 1): s.available_s for n, s in enumerate(scenario.servers)}
    free.update({("device", d): 0.0 for d in range(scenario.num_devices)})
    return free


def fifo_dispatch(scenario: Scenario, placement: Sequence[Sequence[int]]) -> tuple[tuple[float, ...], ...]:
    """Start times (s) of the FIFO dispatch of ``placement`` (already validated)."""
    free = free_times(scenario)
    tables = scenario.tables
    start: list[list[float]] = [[0.0] * len(row) for row in placement]
    queue = []
    for k, task in enumerate(scenario.tasks):
        first = placement[k][0]
        queue.append((task.release_s + tables[k].transfer[0][0][first], k, 0))
    heapq.heapify(queue)
    while queue:
        ready, k, m = heapq.heappop(queue)
        loc = placement[k][m]
        res = resource_of(scenario, k, loc)
        begin = max(ready, free[res])
        finish = begin + tables[k].duration[m][loc]
        free[res] = finish
        start[k][m] = begin
        if m + 1 < len(placement[k]):
            heapq.heappush(queue, (finish + tables[k].transfer[m + 1][loc][placement[k][m + 1]], k, m + 1))
    return tuple(tuple(row) for row in start)


def compact_schedule(
    scenario: Scenario, placement: Sequence[Sequence[int]], start_s: Sequence[Sequence[float]]
) -> tuple[tuple[float, ...], ...]:
    """Start every block as early as its input and its resource allow, keeping each
    resource's order of ``start_s`` (ties by task, then block).

    The result is a valid schedule whatever small violations ``start_s`` had (a MILP's
    tolerances, a grid's rounding), and where ``start_s`` was valid no block starts later.
    """
    free = free_times(scenario)
    tables = scenario.tables
    order = []
    for k, row in enumerate(start_s):
        key = -math.inf
        for m, begin in enumerate(row):
            key = max(key, begin)  # never before an earlier block of the same task
            order.append((key, k, m))
    order.sort()
    start: list[list[float]] = [[0.0] * len(row) for row in placement]
    finish: list[list[float]] = [[0.0] * len(row) for row in placement]
    for _, k, m in order:
        loc = placement[k][m]
        prev_loc, prev_end = (0, scenario.tasks[k].release_s) if m == 0 else (placement[k][m - 1], finish[k][m - 1])
        res = resource_of(scenario, k, loc)
        begin = max(prev_end + tables[k].transfer[m][prev_loc][loc], free[res])
        start[k][m] = begin
        finish[k][m] = free[res] = begin + tables[k].duration[m][loc]
    return tuple(tuple(row) for row in start)


class ScheduleSummary(NamedTuple):
    """What a search needs of a schedule valid by construction (a placement's FIFO dispatch,
    or a list schedule that appends each task's blocks to the resources' queues): the
    verdicts and totals of its :class:`ScenarioEvaluation`, which
    :class:`partopt.objective.Objective` reads alike (s for delays)."""

    deadlines_met: bool
    budget_kept: bool
    total_delay: float
    penalty: float

    @property
    def valid(self) -> bool:
        """The schedule keeps every precedence and no-overlap rule, by construction."""
        return True

    @property
    def feasible(self) -> bool:
        """Every deadline and budget kept."""
        return self.deadlines_met and self.budget_kept


@dataclass(frozen=True)
class ScenarioEvaluation(EvaluationCore):
    """The cost of one shared-edge solution (seconds and joules).

    Attributes
    ----------
    placement : tuple of tuple of int
        The placement priced, one tuple per task.
    start_s, finish_s, ready_s : tuple of tuple of float
        Per task k and block m: start, finish, and when its input arrived (s).
    block_delay : tuple of tuple of float
        L_{k,m} = C_{k,m} - C_{k,m-1}, waiting included; the result's return added to the last block (s).
    deadline_met : tuple of tuple of bool
        Per block.
    task_delay : tuple of float
        D_k (s).
    task_deadline_met : tuple of bool
        Per task.
    device_energy : tuple of float
        Per device (J).
    device_budget_kept : tuple of bool
        Per device.
    total_delay, penalty, energy : float
        Sum of D_k (s), psi (s), total device energy (J).
    local_delay, edge_delay : float
        The summed block delays split by where blocks run (s).
    waiting_delay, transmission_delay, computation_delay, return_delay : float
        The summed block delays split by cause (s).
    schedule : str
        "fifo" (dispatched here) or "given".
    problems : tuple of str
        What makes a given schedule invalid (empty when valid).
    """

    placement: tuple[tuple[int, ...], ...]
    start_s: tuple[tuple[float, ...], ...]
    finish_s: tuple[tuple[float, ...], ...]
    ready_s: tuple[tuple[float, ...], ...]
    block_delay: tuple[tuple[float, ...], ...]
    deadline_met: tuple[tuple[bool, ...], ...]
    task_delay: tuple[float, ...]
    task_deadline_met: tuple[bool, ...]
    device_energy: tuple[float, ...]
    device_budget_kept: tuple[bool, ...]
    total_delay: float
    penalty: float
    energy: float
    local_delay: float
    edge_delay: float
    waiting_delay: float
    transmission_delay: float
    computation_delay: float
    return_delay: float
    schedule: str
    problems: tuple[str, ...]

    @property
    def valid(self) -> bool:
        """True when the schedule keeps every precedence, availability and no-overlap rule."""
        return not self.problems

    @property
    def deadlines_met(self) -> bool:
        """True when every block and every task meets its deadline."""
        return all(all(row) for row in self.deadline_met) and all(self.task_deadline_met)

    @property
    def budget_kept(self) -> bool:
        """True when every device keeps its energy budget."""
        return all(self.device_budget_kept)

    @property
    def feasible(self) -> bool:
        """A valid schedule that keeps every deadline and budget (the hard objective's constraints)."""
        return self.valid and self.deadlines_met and self.budget_kept


@dataclass(frozen=True)
class _TaskCosts:
    """One task's share of a schedule's evaluation, per block where it is summed over blocks (so
    that the totals add in the same order as block by block): its finish, input-ready time, delay
    (s; the return on the last) and deadline kept; its device energy (J), waiting, transfer and
    computation (s); then its end-to-end delay, return (s), task deadline kept, and its block and
    task deadlines' excess (s)."""

    finish: tuple[float, ...]
    ready: tuple[float, ...]
    delay: tuple[float, ...]
    met: tuple[bool, ...]
    energy: tuple[float, ...]
    waiting: tuple[float, ...]
    transmission: tuple[float, ...]
    computation: tuple[float, ...]
    task_delay: float
    returned: float
    task_met: bool
    block_excess: float
    task_excess: float


def _task_costs(
    scenario: Scenario, k: int, row: Sequence[int], begin: Sequence[float], problems: list[str]
) -> _TaskCosts:
    """Task k's costs with its blocks on ``row`` starting at ``begin`` (s); a start before its input
    or its server is ready goes to ``problems``."""
    task, tab = scenario.tasks[k], scenario.tables[k]
    prev_loc, prev_finish = 0, task.release_s
    fin, ready, delay, energy, waiting, moves, work = [], [], [], [], [], [], []
    for m, loc in enumerate(row):
        move = tab.transfer[m][prev_loc][loc]
        arrive = prev_finish + move
        if begin[m] < arrive - _slack(arrive):
            problems.append(
                f"start_s[{k}][{m}]: starts at {begin[m]!r} s, {arrive - begin[m]:.3g} s before "
                f"its input is ready at {arrive!r} s"
            )
        if loc > 0:
            avail = scenario.servers[loc - 1].available_s
            if begin[m] < avail - _slack(avail):
                problems.append(
                    f"start_s[{k}][{m}]: starts at {begin[m]!r} s on server {loc}, "
                    f"{avail - begin[m]:.3g} s before it is available at {avail!r} s"
                )
        end = begin[m] + tab.duration[m][loc]
        block = end - prev_finish
        if m == len(row) - 1:
            block += tab.return_s[loc]
        energy.append(tab.energy[m][prev_loc][loc])
        waiting.append(max(begin[m] - arrive, 0.0))
        moves.append(move)
        work.append(tab.duration[m][loc])
        fin.append(end)
        ready.append(arrive)
        delay.append(block)
        prev_loc, prev_finish = loc, end
    d_k = fin[-1] + tab.return_s[row[-1]] - task.release_s
    limit = math.inf if task.deadline_s is None else task.deadline_s
    return _TaskCosts(
        finish=tuple(fin),
        ready=tuple(ready),
        delay=tuple(delay),
        met=tuple(bool(x) for x in f.within(delay, tab.deadline)),
        energy=tuple(energy),
        waiting=tuple(waiting),
        transmission=tuple(moves),
        computation=tuple(work),
        task_delay=d_k,
        returned=tab.return_s[row[-1]],
        task_met=bool(f.within(d_k, limit)),
        block_excess=f.penalty(delay, tab.deadline),
        task_excess=max(d_k - limit, 0.0),
    )


def _overlaps(scenario: Scenario, placement, starts) -> list[str]:
    """Every pair of blocks that overlap on one resource (device CPU or server), named."""
    busy: dict[tuple[str, int], list[tuple[float, float, int, int]]] = {}
    for k, (row, begin) in enumerate(zip(placement, starts)):
        for m, loc in enumerate(row):
            end = begin[m] + scenario.tables[k].duration[m][loc]
            busy.setdefault(resource_of(scenario, k, loc), []).append((begin[m], end, k, m))
    problems = []
    for res, items in busy.items():
        items.sort()
        for (s0, e0, k0, m0), (s1, _, k1, m1) in itertools.pairwise(items):
            if s1 < e0 - _slack(e0):
                problems.append(
                    f"start_s[{k1}][{m1}]: overlaps block [{k0}][{m0}] on {res[0]} {res[1]} by "
                    f"{e0 - s1:.3g} s (starts at {s1!r} s, the other ends at {e0!r} s)"
                )
    return problems


def evaluate_scenario(scenario: Scenario, placement: Any, start_s: Any = None) -> ScenarioEvaluation:
    """The exact cost of ``placement`` on ``scenario``, scheduled by FIFO dispatch or by ``start_s``."""
    placement = validate_scenario_placement(scenario, placement)
    if start_s is None:
        starts, schedule = fifo_dispatch(scenario, placement), "fifo"
    else:
        starts, schedule = validate_start_times(scenario, start_s), "given"
    problems: list[str] = []
    tasks = [_task_costs(scenario, k, placement[k], starts[k], problems) for k in range(scenario.num_tasks)]
    problems += _overlaps(scenario, placement, starts)
    energy = [0.0] * scenario.num_devices
    for task, costs in zip(scenario.tasks, tasks):
        for spent in costs.energy:
            energy[task.device] += spent
    blocks = [(loc, d) for c, row in zip(tasks, placement) for loc, d in zip(row, c.delay)]
    budgets = [dev.budget for dev in scenario.devices]
    return ScenarioEvaluation(
        placement=placement,
        start_s=tuple(tuple(row) for row in starts),
        finish_s=tuple(c.finish for c in tasks),
        ready_s=tuple(c.ready for c in tasks),
        block_delay=tuple(c.delay for c in tasks),
        deadline_met=tuple(c.met for c in tasks),
        task_delay=tuple(c.task_delay for c in tasks),
        task_deadline_met=tuple(c.task_met for c in tasks),
        device_energy=tuple(energy),
        device_budget_kept=tuple(bool(f.within(e, b)) for e, b in zip(energy, budgets)),
        total_delay=float(sum(c.task_delay for c in tasks)),
        penalty=float(sum(x for c in tasks for x in (c.block_excess, c.task_excess))),
        energy=float(sum(energy)),
        local_delay=sum((d for loc, d in blocks if loc == 0), 0.0),
        edge_delay=sum((d for loc, d in blocks if loc > 0), 0.0),
        waiting_delay=sum((w for c in tasks for w in c.waiting), 0.0),
        transmission_delay=sum((t for c in tasks for t in c.transmission), 0.0),
        computation_delay=sum((t for c in tasks for t in c.computation), 0.0),
        return_delay=sum((c.returned for c in tasks), 0.0),
        schedule=schedule,
        problems=tuple(problems),
    )
