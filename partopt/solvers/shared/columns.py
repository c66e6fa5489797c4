"""A lower bound on a shared-edge scenario's total delay from the chain-schedule LP: a
time-indexed LP over whole chain schedules, solved by column generation, valid in
continuous time.

**Grid.** Time is cut into slots of ``grid_s`` from 0. Every time of a schedule is taken
down to its slot: block m of task k on location j starting at S takes the slots from
floor(S / g) for floor(p_{kmj} / g) slots. Taking down keeps every constraint of a
continuous schedule: two blocks that do not overlap on a resource take slots that do not
overlap (floor(S) + floor(p) <= floor(S + p) <= floor(S')), a block that starts after
its input arrives starts no earlier in slots than the last block's slot, plus its
duration's and its transfer's slots, and a server's availability and a block 0's upload
are taken down the same way.

**Columns.** A column is one task's chain schedule on the grid: a location and a start
slot per block, each block starting after the last one ends and its input has arrived.
Its cost is a lower bound on the task's delay in any continuous schedule taken down to
it: g s_M + p_{kMj} + return_{kj} - r_k, the last block's start slot s_M and its exact
duration. The LP picks a convex combination of columns per task (sum 1) such that every
resource runs at most one block in every slot, and minimizes the total cost. Deadlines,
budgets and the penalty are dropped, so its optimum is a lower bound on sum_k D_k of
every schedule, hence on both objectives.

**Horizon.** A schedule better than a known one (objective ``upper``) has every task's
delay within its cap (:func:`partopt.solvers.shared.common.delay_caps`), so it ends
before max_k (r_k + cap_k): the grid stops there. The bound holds for every schedule no
worse than ``upper``: reported as at most ``upper``, it is a bound on the optimum.

**Column generation.** The restricted LP (HiGHS, warm-started after each new column) gives
prices w_{rt} >= 0 on the slots; the cheapest column of every task at those prices is a
shortest path over (block, location, start slot), found by a compiled DP. For any prices,

    L(w) = sum_k min over k's columns (cost + sum of w over its slots) - sum_{rt} w_{rt}

is a lower bound (Lagrangian relaxation of the slot capacities): the bound returned is the
best L(w) found, so a time limit only loosens it. Columns with a negative reduced cost
join the LP until none has one, when L(w) equals the LP's optimum.

It sees what per-task and work bounds cannot: blocks are whole, and a task's work on a
slow server takes that server for as long as it runs. On the speed bench at K = 8 it
closes most of the gap the work relaxation leaves (``bench/results/shared_bounds.md``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numba
import numpy as np

from partopt.evaluation import Objective
from partopt.scenario import Scenario
from partopt.solvers.compiled import PackedScenario
from partopt.solvers.shared.common import delay_caps, task_lower_bounds

__all__ = ["ChainLpBound", "chain_lp_bound", "whole_slots", "CHAIN_LP_GRID_S"]

#: The chain-schedule LP's slot (s): rounding down loses at most a slot per block.
CHAIN_LP_GRID_S = 0.5e-3
#: A column joins the LP when its reduced cost is below -this (s).
_RC_TOL_S = 1e-9
#: Wentges smoothing: the prices are this share of the best prices so far, the rest the LP's.
_SMOOTHING = 0.8


@dataclass(frozen=True)
class ChainLpBound:
    """The chain-schedule LP's answer: ``bound_s`` the best Lagrangian bound found (s, a lower
    bound on sum_k D_k of every schedule no worse than the ``upper`` it was given),
    ``lp_s`` the restricted LP's last value (s), ``converged`` whether no column was left
    with a negative reduced cost, and the work done."""

    bound_s: float
    lp_s: float
    converged: bool
    iterations: int
    columns: int
    grid_s: float
    slots: int
    seconds: float
    #: The prices w_rt (s per slot) of ``bound_s``: (resources: the servers, then the devices' CPUs; slots).
    prices: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False, compare=False)


@numba.njit(cache=True, nogil=True)
def _cheapest_chain(nblk, slots_of, trans_slots, first_slot, last_dur, ret, rel, res, avail, prefix, grid,
                    cost, back_i, back_s):  # pragma: no cover
    """One task's cheapest column at slot prices ``prefix`` (cumulative sums of w per resource):
    returns (its cost plus its price, the last block's location and start slot); the chain is
    read back from back_i / back_s (block, location, slot)."""
    locs, horizon = slots_of.shape[1], prefix.shape[1] - 1
    best_prev = np.empty((locs, horizon))
    arg_prev = np.empty((locs, horizon), np.int64)
    for m in range(nblk):
        for i in range(locs if m > 0 else 0):  # the running minimum over start slots of block m - 1 on i
            low, at = np.inf, -1
            for s in range(horizon):
                if cost[m - 1, i, s] < low:
                    low, at = cost[m - 1, i, s], s
                best_prev[i, s], arg_prev[i, s] = low, at
        for j in range(locs):
            r, d = res[j], slots_of[m, j]
            begin = first_slot[j] if m == 0 else avail[r]
            for s in range(horizon):
                cost[m, j, s] = np.inf
                if s < begin or s + d > horizon:
                    continue
                come, from_i, from_s = 0.0, -1, -1
                if m > 0:
                    come = np.inf
                    for i in range(locs):
                        t = s - slots_of[m - 1, i] - trans_slots[m, i, j]
                        if t >= 0 and best_prev[i, t] < come:
                            come, from_i, from_s = best_prev[i, t], i, arg_prev[i, t]
                if come < np.inf:
                    cost[m, j, s] = come + prefix[r, s + d] - prefix[r, s]
                    back_i[m, j, s], back_s[m, j, s] = from_i, from_s
    value, at_j, at_s = np.inf, -1, -1
    for j in range(locs):
        for s in range(horizon):
            v = cost[nblk - 1, j, s] + grid * s + last_dur[j] + ret[j] - rel
            if v < value:
                value, at_j, at_s = v, j, s
    return value, at_j, at_s


def whole_slots(x, grid_s: float) -> np.ndarray:
    """The whole slots of ``grid_s`` in times ``x`` (s), never more than they hold despite float
    rounding: how the grid takes a time down."""
    return np.maximum(0, np.floor(np.asarray(x) / grid_s - 1e-9)).astype(np.int64)


class _Pricing:
    """The grid's tables for every task, and the cheapest column of a task at given prices."""

    def __init__(self, scenario: Scenario, grid_s: float, horizon: int):
        p = PackedScenario(scenario)
        k_tasks, m_max, locs = p.dur.shape
        self.packed, self.grid, self.horizon = p, grid_s, horizon
        n_srv = scenario.num_servers
        self.n_res = n_srv + len(scenario.devices)

        def down(x) -> np.ndarray:
            return whole_slots(x, grid_s)

        self.slots_of, self.trans_slots = down(p.dur), down(p.trans)
        self.avail = np.concatenate([down(p.free0), np.zeros(len(scenario.devices), np.int64)])
        self.res = np.array([[j - 1 if j > 0 else n_srv + p.dev[k] for j in range(locs)]
                             for k in range(k_tasks)], np.int64)
        first = down(p.rel[:, None] + p.trans[:, 0, 0, :])  # block 0's input on j, from the device
        self.first_slot = np.maximum(first, self.avail[self.res])
        self.last_dur = np.array([p.dur[k, p.nblk[k] - 1] for k in range(k_tasks)])
        self.cost = np.empty((m_max, locs, horizon))
        self.back_i = np.zeros((m_max, locs, horizon), np.int64)
        self.back_s = np.zeros((m_max, locs, horizon), np.int64)

    def cheapest(self, k: int, prefix: np.ndarray) -> tuple[float, list[tuple[int, int]]]:
        """Task k's cheapest column at ``prefix`` prices: (cost plus price, [(location, slot)] a
        block; empty when the task has no chain on the grid)."""
        p = self.packed
        value, j, s = _cheapest_chain(int(p.nblk[k]), self.slots_of[k], self.trans_slots[k], self.first_slot[k],
                                      self.last_dur[k], p.ret[k], float(p.rel[k]), self.res[k], self.avail, prefix,
                                      self.grid, self.cost, self.back_i, self.back_s)
        if not math.isfinite(value):
            return value, []
        chain = [(int(j), int(s))]
        for m in range(int(p.nblk[k]) - 1, 0, -1):
            j, s = self.back_i[m, j, s], self.back_s[m, j, s]
            chain.insert(0, (int(j), int(s)))
        return value, chain

    def column(self, k: int, chain: list[tuple[int, int]]) -> tuple[float, np.ndarray]:
        """A chain's cost (s) and the capacity rows (resource * horizon + slot) it takes."""
        p = self.packed
        j_last, s_last = chain[-1]
        cost = self.grid * s_last + self.last_dur[k, j_last] + p.ret[k, j_last] - p.rel[k]
        rows = [self.res[k, j] * self.horizon + np.arange(s, s + self.slots_of[k, m, j])
                for m, (j, s) in enumerate(chain)]
        return float(cost), np.concatenate(rows).astype(np.int32)

    def taken_down(self, placement, start_s) -> list[list[tuple[int, int]]] | None:
        """A continuous schedule's chains on the grid (None when one leaves the horizon)."""
        chains = [[(int(j), int(math.floor(s / self.grid))) for j, s in zip(row, starts)]
                  for row, starts in zip(placement, start_s)]
        for k, chain in enumerate(chains):
            m_last = len(chain) - 1
            if chain[-1][1] + self.slots_of[k, m_last, chain[-1][0]] > self.horizon:
                return None
        return chains


class _Master:
    """The restricted LP in HiGHS: capacity rows (resource * horizon + slot, at most 1), then one
    convexity row a task (exactly 1); columns join it one at a time, the basis kept."""

    def __init__(self, n_rows: int, k_tasks: int):
        import highspy

        from partopt.solvers.milp import native_stdout_silenced

        with native_stdout_silenced():  # HiGHS prints a banner from C when it starts
            self.highs = highspy.Highs()
        for option, setting in (("output_flag", False), ("presolve", "off"), ("solver", "simplex"),
                                ("simplex_strategy", 1)):  # dual simplex from the last basis
            self.highs.setOptionValue(option, setting)
        none = np.array([], np.int32)
        self.highs.addRows(n_rows, np.full(n_rows, -highspy.kHighsInf), np.ones(n_rows), 0, none, none, np.array([]))
        self.highs.addRows(k_tasks, np.ones(k_tasks), np.ones(k_tasks), 0, none, none, np.array([]))
        self.n_rows, self.columns, self.optimal = n_rows, 0, highspy.HighsModelStatus.kOptimal

    def add(self, k: int, cost: float, rows: np.ndarray) -> None:
        index = np.concatenate([rows, [self.n_rows + k]]).astype(np.int32)
        self.highs.addCol(cost, 0.0, math.inf, index.size, index, np.ones(index.size))
        self.columns += 1

    def solve(self, seconds: float | None) -> tuple[float, np.ndarray] | None:
        """The LP's optimum (s) and its row duals, or None when not solved within ``seconds``."""
        if seconds is not None:  # HiGHS counts its time limit from its first run
            self.highs.setOptionValue("time_limit", self.highs.getRunTime() + max(0.05, seconds))
        self.highs.run()
        if self.highs.getModelStatus() != self.optimal:
            return None
        return float(self.highs.getInfo().objective_function_value), np.asarray(self.highs.getSolution().row_dual)


def _price(pricing: _Pricing, w: np.ndarray, w_lp: np.ndarray, dual: np.ndarray) -> tuple[float, list] | None:
    """L(w), the Lagrangian bound at prices ``w`` (s), and the cheapest chains at ``w`` that have a
    negative reduced cost at the LP's prices (w_lp, and the convexity duals in ``dual``); None
    when a task has no chain on the grid."""
    prefix = np.concatenate([np.zeros((w.shape[0], 1)), np.cumsum(w, axis=1)], axis=1)
    found = [pricing.cheapest(k, prefix) for k in range(len(pricing.last_dur))]
    if not all(chain for _, chain in found):
        return None
    entering = []
    for k, (_, chain) in enumerate(found):
        cost, rows = pricing.column(k, chain)
        if cost + w_lp.flat[rows].sum() - dual[w.size + k] < -_RC_TOL_S:
            entering.append((k, cost, rows))
    return sum(value for value, _ in found) - float(w.sum()), entering


def _grid_for(scenario: Scenario, upper: float, delay_low: list[float] | None, grid_s: float) -> _Pricing:
    """The grid's tables, the horizon where a schedule no worse than ``upper`` (s) ends."""
    if delay_low is None:
        delay_low = task_lower_bounds(scenario, Objective("penalty", 0.0))
    caps = delay_caps(upper, delay_low)
    end = max(t.release_s + cap for t, cap in zip(scenario.tasks, caps)) * (1 + 1e-9) + 1e-9
    return _Pricing(scenario, grid_s, int(math.floor(end / grid_s)) + 1)


def chain_lp_bound(scenario: Scenario, upper: float, delay_low: list[float] | None = None, *,
                   grid_s: float = CHAIN_LP_GRID_S, time_limit: float | None = None, incumbent: tuple | None = None,
                   max_iterations: int = 100_000) -> ChainLpBound | None:
    """The chain-schedule LP's bound of the module docstring, or None when it cannot be had
    (no finite ``upper``, HiGHS missing, or not one LP solved in time).

    upper: the objective of a known schedule (s); delay_low: each task's lower bound on D_k
    (s), for the horizon (default: each task's own bound on an empty edge); grid_s: the
    slot (s); time_limit: seconds (the bound found so far is returned when it passes);
    incumbent: a known schedule (placement, start_s) to start the LP from.
    """
    begin = time.perf_counter()
    if not (isinstance(grid_s, (int, float)) and math.isfinite(grid_s) and grid_s > 0):
        raise ValueError(f"grid_s: must be a positive number of seconds, got {grid_s!r}")
    try:
        import highspy  # noqa: F401 - only to know whether the LP can be solved
    except ImportError:
        return None
    if not math.isfinite(upper):
        return None
    pricing = _grid_for(scenario, upper, None if delay_low is None else list(delay_low), grid_s)
    horizon = pricing.horizon
    master = _Master(pricing.n_res * horizon, scenario.num_tasks)
    artificial = 10.0 * (abs(upper) + horizon * grid_s) + 1.0  # dearer than any chain: the LP starts feasible
    for k in range(scenario.num_tasks):
        master.add(k, artificial, np.array([], np.int32))
    for k, chain in enumerate((None if incumbent is None else pricing.taken_down(*incumbent)) or []):
        master.add(k, *pricing.column(k, chain))
    best, lp_value, converged, iterations = -math.inf, math.inf, False, 0
    center = np.zeros((pricing.n_res, horizon))  # the prices of the best bound so far
    stop = math.inf if time_limit is None else begin + float(time_limit)
    while iterations < max_iterations and time.perf_counter() < stop and best < upper:
        solved = master.solve(None if time_limit is None else stop - time.perf_counter())
        iterations += 1
        if solved is None:
            break
        lp_value, dual = solved
        w_lp = np.maximum(0.0, -dual[:master.n_rows]).reshape(center.shape)
        entering: list = []
        for alpha in (_SMOOTHING, 0.0):  # between the best prices and the LP's; the LP's if that finds nothing
            priced = _price(pricing, alpha * center + (1.0 - alpha) * w_lp, w_lp, dual)
            if priced is None:
                return None
            if priced[0] > best:
                best, center = priced[0], alpha * center + (1.0 - alpha) * w_lp
            entering = priced[1]
            if entering:
                break
        if not entering:
            converged = True
            break
        for column in entering:
            master.add(*column)
    if not math.isfinite(best):
        return None
    return ChainLpBound(bound_s=best, lp_s=lp_value, converged=converged, iterations=iterations,
                      columns=master.columns, grid_s=grid_s, slots=horizon, seconds=time.perf_counter() - begin,
                      prices=center)
