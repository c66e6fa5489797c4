"""Pieces every shared-edge solver uses: the earliest-finish chain DP, per-task lower
bounds, and picking the best of several candidate solutions.

The earliest-finish DP places one task's chain against fixed resource free times
(location 0 is the task's own device CPU, 1..N the servers). With C(m, j) the
earliest completion of block m on j,

    C(m, j) = max( min_i C(m-1, i) + t_m(i, j),  free_j ) + p_m(j),   C(-1, 0) = r_k,

and D_k = min_j C(M-1, j) + return(j) - r_k. Every step is non-decreasing in its
inputs, so keeping the least completion per (block, location) is exact: it is the
best placement of the task if its blocks are appended after the work already on
each resource. A chain that leaves a resource and comes back finds it free, since
its own earlier block ended before its later input can be ready.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from partopt import formulas as f
from partopt.chain.solvers.dp import solve_dp
from partopt.problem import evaluate
from partopt.shared.evaluation import ScenarioEvaluation, evaluate_scenario

if TYPE_CHECKING:
    import numpy as np

    from partopt.objective import Objective
    from partopt.shared.model import Scenario, TaskTables

__all__ = [
    "ChainSchedule",
    "alone_optima",
    "best_candidate",
    "delay_caps",
    "earliest_finish_chain",
    "earliest_starts",
    "task_lower_bounds",
]


@dataclass(frozen=True)
class ChainSchedule:
    """One task's placement and block start and finish times (s), and its delay D_k (s)."""

    placement: tuple[int, ...]
    start_s: tuple[float, ...]
    finish_s: tuple[float, ...]
    delay: float


def earliest_finish_chain(
    tab: TaskTables,
    release_s: float,
    free: Sequence[float],
    keep_deadlines: bool = False,
    price: Sequence[float] | np.ndarray | None = None,
    energy_price: float = 0.0,
    fit: Callable[[int, float, float], float] | None = None,
) -> ChainSchedule | None:
    """The earliest-finishing placement of one chain against resource free times ``free``
    (index 0: the task's device, 1..N: the servers).

    keep_deadlines: drop moves whose block delay (waiting included) breaks the block's
    deadline; None when no placement is left (then the DP is a heuristic, not exact).
    price: optional charge per second of work on each location (dimensionless); the DP
    then minimises finish time plus the charges, keeping one label per (block, location)
    (a heuristic, no longer exact): the learned dispatch's DP, whose compiled form
    (:class:`partopt.shared.kernels.ListScheduler`) a test checks against this one.
    energy_price: a charge per joule of device energy (s/J), likewise a heuristic: the online
    policies' drift-plus-penalty price.
    fit: optional ``fit(j, ready, duration)``, the earliest start (s) of a block of ``duration``
    s on location j at or after ``ready`` in the gaps between commitments; in place of
    ``max(ready, free[j])`` (the online gap-filling policy's DP).
    """
    locs = len(free)
    m_blocks = len(tab.duration)
    inf = math.inf
    finish = [[inf] * locs for _ in range(m_blocks)]
    charge = [[0.0] * locs for _ in range(m_blocks)]
    parent = [[0] * locs for _ in range(m_blocks)]
    for m in range(m_blocks):
        last = m == m_blocks - 1
        prev = [release_s] + [inf] * (locs - 1) if m == 0 else finish[m - 1]
        before = [0.0] * locs if m == 0 else charge[m - 1]
        for j in range(locs):
            best, arg, best_end = inf, 0, inf
            extra = 0.0 if price is None else price[j] * tab.duration[m][j]
            for i in range(locs):
                if prev[i] == inf:
                    continue
                ready = prev[i] + tab.transfer[m][i][j]
                end = (max(ready, free[j]) if fit is None else fit(j, ready, tab.duration[m][j])) + tab.duration[m][j]
                if keep_deadlines and not f.within(end + (tab.return_s[j] if last else 0.0) - prev[i], tab.deadline[m]):
                    continue
                cost = end + before[i] + (energy_price * tab.energy[m][i][j] if energy_price else 0.0)
                if cost < best:
                    best, arg, best_end = cost, i, end
            spent = energy_price * tab.energy[m][arg][j] if energy_price else 0.0
            finish[m][j], parent[m][j], charge[m][j] = best_end, arg, before[arg] + extra + spent
    ends = [finish[-1][j] + tab.return_s[j] + charge[-1][j] for j in range(locs)]
    j = min(range(locs), key=ends.__getitem__)
    if ends[j] == inf:
        return None
    placement = [0] * m_blocks
    for m in range(m_blocks - 1, -1, -1):
        placement[m] = j
        j = parent[m][j]
    start, prev_loc, prev_end = [], 0, release_s
    for m, loc in enumerate(placement):
        ready = prev_end + tab.transfer[m][prev_loc][loc]
        start.append(max(ready, free[loc]) if fit is None else fit(loc, ready, tab.duration[m][loc]))
        prev_loc, prev_end = loc, start[-1] + tab.duration[m][loc]
    fin = tuple(s + tab.duration[m][loc] for m, (s, loc) in enumerate(zip(start, placement)))
    return ChainSchedule(tuple(placement), tuple(start), fin, fin[-1] + tab.return_s[placement[-1]] - release_s)


def earliest_starts(tab: TaskTables, release_s: float, free: Sequence[float]) -> list[list[float]]:
    """The earliest time block m of one chain can start on location j (s), over every route
    the chain may take to reach it, against resource free times ``free`` (index 0: the task's
    device, 1..N: the servers) and with no other task in the way.

    E(m, j) = max(min_i F(m-1, i) + t_m(i, j), free_j) and F(m, j) = E(m, j) + p_m(j), with
    F(-1, 0) = r_k: every step is non-decreasing in its inputs, so E(m, j) is at most the start
    of block m on j in any schedule. Transfers need not obey the triangle inequality (a task's
    uplink to one server may be slow while the route through another server and the backhaul
    is fast), so the direct route from the device alone is not a lower bound.
    """
    locs = len(free)
    finish = [release_s] + [math.inf] * (locs - 1)
    starts = []
    for m, row in enumerate(tab.duration):
        begin = [max(min(finish[i] + tab.transfer[m][i][j] for i in range(locs)), free[j]) for j in range(locs)]
        starts.append(begin)
        finish = [begin[j] + row[j] for j in range(locs)]
    return starts


def alone_optima(scenario: Scenario, objective: Objective) -> dict[tuple[int, str], tuple[tuple | None, float]]:
    """Each (device, model)'s Part I optimum alone by DP: (placement or None, objective value, inf
    when infeasible alone). Tasks of one device and model share it."""
    out: dict[tuple[int, str], tuple[tuple | None, float]] = {}
    for k, task in enumerate(scenario.tasks):
        key = (task.device, task.model)
        if key not in out:
            inst = scenario.task_instance(k)
            res = solve_dp(inst, objective)
            value = math.inf if res.placement is None else objective.raw_value(evaluate(inst, res.placement))
            out[key] = (None if res.placement is None else tuple(res.placement), value)
    return out


def task_lower_bounds(scenario: Scenario, objective: Objective) -> list[float]:
    """A proven lower bound on each task's share of the objective (s).

    The larger of: the earliest-finish DP on an empty edge (no other task, servers from
    ``available_s``; waiting for others only adds), and the task's Part I optimum alone
    (under "hard" with its block deadlines and its device's budget: any feasible
    solution's placement is feasible alone, and alone its delays are no larger).
    """
    alone = alone_optima(scenario, objective)
    empty_edge = [0.0] + [s.available_s for s in scenario.servers]  # the task's device, then the servers
    out = []
    for k, task in enumerate(scenario.tasks):
        empty = earliest_finish_chain(scenario.tables[k], task.release_s, empty_edge)
        out.append(max(alone[(task.device, task.model)][1], empty.delay if empty is not None else math.inf))
    return out


def delay_caps(upper: float, delay_low: Sequence[float]) -> list[float]:
    """The most each task's delay D_k can be (s) in a solution whose sum of delays is at most
    ``upper`` (s; inf when unknown): ``upper`` less the other tasks' lower bounds ``delay_low``."""
    total = sum(delay_low)
    return [upper - (total - low) for low in delay_low]


def best_candidate(
    scenario: Scenario,
    objective: Objective,
    candidates: Sequence[tuple[Sequence[Sequence[int]], Sequence[Sequence[float]] | None]],
) -> tuple[tuple, tuple | None, ScenarioEvaluation]:
    """The candidate (placement, start_s or None for FIFO) of least objective, ties to the first;
    an infeasible candidate is ranked by its raw value after every feasible one."""
    if not candidates:
        raise ValueError("candidates: need at least one")
    ranked = []
    for rank, (placement, start) in enumerate(candidates):
        ev = evaluate_scenario(scenario, placement, start)
        key = (not objective.feasible(ev), objective.raw_value(ev) if ev.valid else math.inf, rank)
        ranked.append((key, ev.placement, None if start is None else ev.start_s, ev))
    _, placement_out, start_out, evaluation = min(ranked, key=lambda item: item[0])
    return placement_out, start_out, evaluation
