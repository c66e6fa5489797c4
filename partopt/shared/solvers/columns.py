"""A lower bound on a shared-edge scenario's total delay from the chain-schedule LP: a
time-indexed LP over whole chain schedules, solved by column generation, valid in
continuous time.

**Grids.** Time is cut into slots of ``grid_s`` (G) from 0, and finer into fine slots of h
(:data:`FINE_GRID_S`, dividing G). A start S is taken down to its fine slot u =
floor(S / h). Block m of task k on location j starting at S surely runs over
[(u + 1) h, u h + p_{kmj}) (S < (u + 1) h), and it takes of every slot the share of it that
interval covers. Blocks that do not overlap on a resource take, together, at most every
slot whole. The next block starts at least floor((p + transfer) / h) fine slots later
(floor(S' / h) >= floor((S + p + transfer) / h)), and a server's availability and a
block 0's upload are taken down the same way. So the grids lose at most h a block, in time
and in capacity, not a slot.

**Columns.** A column is one task's chain schedule on the fine grid: a location and a
start per block, each block starting after the last one and its input's transfer. Its
cost, h u_M + p_{kMj} + return_{kj} - r_k (the last block's fine start, its exact
duration), is at most the task's delay in any continuous schedule taken down to it. The
LP picks a convex combination of columns per task (sum 1) such that every resource's slot
is taken at most whole, and minimizes the total cost. Deadlines, budgets and the penalty
are dropped, so its optimum is a lower bound on sum_k D_k of every schedule, hence on both
objectives.

**Horizon.** A schedule better than a known one (objective ``upper``) has every task's
delay within its cap (:func:`partopt.shared.solvers.common.delay_caps`), so it ends
before max_k (r_k + cap_k): the grid stops there, and task k's blocks start before
r_k + cap_k. The bound holds for every schedule no worse than ``upper``: reported as at
most ``upper``, it is a bound on the optimum.

**Column generation.** The restricted LP (HiGHS, warm-started after each new column) gives
prices w_{rt} >= 0 on the slots; a task's cheapest columns at those prices, one for each
location of its last block, come from a shortest path over (block, location, fine slot)
found by a compiled DP (the tasks priced on two threads). For any prices,

    L(w) = sum_k min over k's columns (cost + sum_t w_t * share_t) - sum_{rt} w_{rt}

is a lower bound (Lagrangian relaxation of the slot capacities): the bound returned is the
best L(w) found, so a time limit only loosens it. Columns with a negative reduced cost
join the LP until none has one, or L(w) meets the LP's value.

It sees what per-task and work bounds cannot: blocks are whole, and a task's work on a
slow server takes that server for as long as it runs. On the speed bench at K = 8 (1 ms
slots) it comes within 0.3-1% of the proven optima (``bench/results/shared_speed.md``).
"""

from __future__ import annotations

import math
import os
import queue
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numba
import numpy as np

from partopt.objective import Objective
from partopt.shared.kernels import PackedScenario
from partopt.shared.solvers.common import delay_caps, task_lower_bounds

if TYPE_CHECKING:
    from collections.abc import Sequence

    from partopt.shared.model import Scenario

__all__ = [
    "CHAIN_LP_GRID_S",
    "FINE_GRID_S",
    "LP_MAX_SLOTS",
    "MAX_TABLE_ENTRIES",
    "MAX_THREAD_ENTRIES",
    "REFINE_TIME_FACTOR",
    "ChainLpBound",
    "chain_lp_bound",
    "coarse_first_chain_lp_bound",
    "fine_prices",
    "finest_per_slot",
    "lp_slot_s",
    "points_per_slot",
    "refined_chain_lp_bound",
    "span_price",
    "spread_prices",
    "whole_slots",
]

#: The chain-schedule LP's finest slot (s): a capacity row per resource and slot; within a slot, time is pooled.
CHAIN_LP_GRID_S = 0.5e-3
#: The most slots the LP's horizon is cut into: a longer horizon gets slots of the finest
#: slot times a power of two (the restricted LP's size sets how soon it converges; the effect
#: on proofs and gaps: ``bench/results/shared_proofs.md``, ``shared_speed.md``).
LP_MAX_SLOTS = 500
#: The fine grid the chains keep their times on (s): a chain loses at most this per block.
FINE_GRID_S = 25e-6
#: The most entries (floats) of a DP's tables on the fine grid over all tasks: the fine grid coarsens to fit.
MAX_TABLE_ENTRIES = 8 * 2**20
#: The most entries of one pricing thread's work tables (blocks * locations * fine points; 16
#: bytes an entry, so at most 128 MB a thread): a finer grid asked of :func:`chain_lp_bound`
#: stops there.
MAX_THREAD_ENTRIES = 8 * 2**20
#: :func:`refined_chain_lp_bound` starts a finer grid only with this many times the last run's
#: seconds left (warm-started, a run on twice the fine points took 0.7-2.8 times as long as the
#: last on the K = 64 suite; one cut short still starts from the last run's prices).
REFINE_TIME_FACTOR = 1.0
#: A column joins the LP when its reduced cost is below -this (s).
_RC_TOL_S = 1e-9
#: The LP counts as solved when its value and the best bound are this close (relative).
_CLOSE = 1e-6
#: Threads that price tasks at once (the pricing DP runs without the GIL).
_PRICING_THREADS = min(2, os.cpu_count() or 1)
#: Wentges smoothing: the prices are this share of the best prices so far, the rest the LP's.
_SMOOTHING = 0.9


@dataclass(frozen=True)
class ChainLpBound:
    """The chain-schedule LP's answer: ``bound_s`` the best Lagrangian bound found (s, a lower
    bound on sum_k D_k of every schedule no worse than the ``upper`` it was given),
    ``lp_s`` the restricted LP's last value (s), ``converged`` whether no column was left
    with a negative reduced cost, ``futile`` whether it stopped because ``lp_s``, met by chains
    alone, fell to the ``floor_s`` it was given (the LP's optimum lies between its bound and
    ``lp_s``, so no more columns could lift the bound above that floor), and the work done."""

    bound_s: float
    lp_s: float
    converged: bool
    iterations: int
    columns: int
    grid_s: float
    slots: int
    seconds: float
    futile: bool = False
    #: The fine grid the chains kept their times on (s).
    fine_s: float = 0.0
    #: The prices w_rt (s per slot) of ``bound_s``: (resources: the servers, then the devices' CPUs; slots).
    prices: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False, compare=False)
    #: The LP's columns as (task, chain) pairs, a chain [(location, fine slot)] a block: what a
    #: finer run starts from.
    chains: tuple = field(default=(), repr=False, compare=False)


def points_per_slot(grid_s: float, fine_s: float, cells: int, slots: float, most_entries: int | None = None) -> int:
    """Fine slots in a slot of ``grid_s`` (s): as close to ``fine_s`` (s) as tables of ``cells``
    entries per fine slot over ``slots`` slots allow within ``most_entries`` (default
    :data:`MAX_TABLE_ENTRIES`), one at worst."""
    most = MAX_TABLE_ENTRIES if most_entries is None else most_entries
    return max(1, min(int(round(grid_s / fine_s)), int(most / (cells * slots))))


def finest_per_slot(grid_s: float, cells: int, slots: int) -> int:
    """The most fine slots in a slot of ``grid_s`` (s) a pricing thread takes
    (:func:`points_per_slot` at :data:`FINE_GRID_S` within :data:`MAX_THREAD_ENTRIES`)."""
    return points_per_slot(grid_s, FINE_GRID_S, cells, slots, MAX_THREAD_ENTRIES)


def fine_prices(prices: np.ndarray, per_coarse: int) -> np.ndarray:
    """W[r, u]: the price of resource r's time before fine point u (s), for slot ``prices``
    (resources, slots) on a fine grid of ``per_coarse`` points a slot; each slot priced by the
    share of it taken, so W is linear between fine points, and flat after the last slot."""
    n_c = prices.shape[1]
    prefix = np.concatenate([np.zeros((prices.shape[0], 1)), np.cumsum(prices, axis=1)], axis=1)
    u = np.arange(n_c * per_coarse + 2)
    c = np.minimum(u // per_coarse, n_c)
    frac = np.where(c < n_c, (u - c * per_coarse) / per_coarse, 0.0)
    return prefix[:, c] + frac * (prefix[:, np.minimum(c + 1, n_c)] - prefix[:, c])


@numba.njit(cache=True, nogil=True)
def span_price(wfine, r, s, span):  # pragma: no cover
    """The price of resource r's time from fine point s + 1 to s + ``span`` (fine slots, a float):
    what a block of ``span`` fine slots that starts in fine slot s surely takes."""
    last = wfine.shape[1] - 2  # W is flat from there
    x = min(s + span, last)
    if x <= s + 1:
        return 0.0
    q = int(x)
    return wfine[r, q] + (x - q) * (wfine[r, q + 1] - wfine[r, q]) - wfine[r, s + 1]


@numba.njit(cache=True, nogil=True)
def _cheapest_chain(
    nblk,
    span,
    link,
    first,
    last_dur,
    ret,
    rel,
    res,
    avail,
    wfine,
    fine,
    horizon,
    cost,
    back_i,
    back_s,
    last_value,
    last_start,
):  # pragma: no cover
    """One task's cheapest columns at fine prices ``wfine`` (:func:`fine_prices`), chains on the
    fine grid, every block starting before fine slot ``horizon`` and ending by the grid's end:
    last_value[j] / last_start[j] the cheapest (cost plus price) and its last block's fine
    start slot when that block runs on j; the chain is read back from back_i / back_s."""
    locs, end_u = span.shape[1], wfine.shape[1] - 2
    lo = first.min()
    best_prev = np.empty((locs, horizon))
    arg_prev = np.empty((locs, horizon), np.int64)
    for m in range(nblk):
        for i in range(locs if m > 0 else 0):  # the running minimum over start slots of block m - 1 on i
            low, at = np.inf, -1
            for s in range(lo, horizon):
                if cost[m - 1, i, s] < low:
                    low, at = cost[m - 1, i, s], s
                best_prev[i, s], arg_prev[i, s] = low, at
        for j in range(locs):
            r, d = res[j], span[m, j]
            begin = first[j] if m == 0 else avail[r]
            for s in range(lo, horizon):
                cost[m, j, s] = np.inf
                if s < begin or s + d > end_u:
                    continue
                come, from_i, from_s = 0.0, -1, -1
                if m > 0:
                    come = np.inf
                    for i in range(locs):
                        t = s - link[m, i, j]
                        if t >= lo and best_prev[i, t] < come:
                            come, from_i, from_s = best_prev[i, t], i, arg_prev[i, t]
                if come < np.inf:
                    cost[m, j, s] = come + span_price(wfine, r, s, d)
                    back_i[m, j, s], back_s[m, j, s] = from_i, from_s
    for j in range(locs):
        last_value[j], last_start[j] = np.inf, -1
        for s in range(lo, horizon):
            v = cost[nblk - 1, j, s] + fine * s + last_dur[j] + ret[j] - rel
            if v < last_value[j]:
                last_value[j], last_start[j] = v, s


def taken_span(begin: float, end: float, grid_s: float) -> tuple[int, np.ndarray]:
    """The slots of ``grid_s`` that time [begin, end) (s) takes: the first one's index and the
    share of each taken, from the first to the last it reaches (none when end <= begin)."""
    if end <= begin:
        return 0, np.zeros(0)
    first, last = int(math.floor(begin / grid_s)), int(math.ceil(end / grid_s))
    edges = np.clip(np.arange(first, last + 1) * grid_s, begin, end)
    return first, np.diff(edges) / grid_s


def whole_slots(x, grid_s: float) -> np.ndarray:
    """The whole slots of ``grid_s`` in times ``x`` (s), never more than they hold despite float
    rounding: how the grid takes a time down."""
    return np.maximum(0, np.floor(np.asarray(x) / grid_s - 1e-9)).astype(np.int64)


class _Pricing:
    """The grid's tables for every task, and the cheapest column of a task at given prices.

    ``horizon`` slots of ``grid_s``; the chains run on a fine grid that divides it, as
    close to :data:`FINE_GRID_S` as the tables' size allows (:func:`points_per_slot`), task
    k's blocks starting before ``ends_s[k]`` (s; default: the horizon's end). ``per_coarse``
    asks for that many fine slots a slot instead, at most :data:`FINE_GRID_S` apart and within
    :data:`MAX_THREAD_ENTRIES`."""

    def __init__(
        self,
        scenario: Scenario,
        grid_s: float,
        horizon: int,
        ends_s: Sequence[float] | None = None,
        per_coarse: int | None = None,
    ):
        p = PackedScenario(scenario)
        k_tasks, m_max, locs = p.dur.shape
        if per_coarse is None:
            self.per_coarse = points_per_slot(grid_s, FINE_GRID_S, k_tasks * m_max * locs, horizon)
        else:
            self.per_coarse = min(per_coarse, finest_per_slot(grid_s, m_max * locs, horizon))
        self.packed, self.grid, self.horizon = p, grid_s, horizon
        self.fine = grid_s / self.per_coarse
        n_srv = scenario.num_servers
        self.n_res = n_srv + len(scenario.devices)
        # fine slots from a block's start to the next one's: its duration and the transfer, taken down at once
        self.link = whole_slots(p.dur[:, :-1, :, None] + p.trans[:, 1:], self.fine)
        self.link = np.concatenate([np.zeros_like(self.link[:, :1]), self.link], axis=1)
        self.avail = whole_slots(p.resource_free0, self.fine)
        self.res = np.array(
            [[j - 1 if j > 0 else n_srv + p.dev[k] for j in range(locs)] for k in range(k_tasks)], np.int64
        )
        first = whole_slots(p.rel[:, None] + p.trans[:, 0, 0, :], self.fine)  # block 0's input on j
        self.first = np.maximum(first, self.avail[self.res])
        self.last_dur = np.array([p.dur[k, p.nblk[k] - 1] for k in range(k_tasks)])
        self.span = p.dur / self.fine  # a block's duration in fine slots
        fine_horizon = horizon * self.per_coarse
        ends = np.full(k_tasks, fine_horizon) if ends_s is None else whole_slots(ends_s, self.fine) + 1
        self.ends = np.minimum(ends, fine_horizon)
        # one set of work arrays for each thread that prices: (cost, back_i, back_s, last_value, last_start)
        self.work: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(_PRICING_THREADS):
            self.work.put(
                (
                    np.empty((m_max, locs, fine_horizon)),
                    np.zeros((m_max, locs, fine_horizon), np.int32),
                    np.zeros((m_max, locs, fine_horizon), np.int32),
                    np.zeros(locs),
                    np.zeros(locs, np.int64),
                )
            )

    def cheapest(self, k: int, wfine: np.ndarray) -> list[tuple[float, list[tuple[int, int]]]]:
        """Task k's cheapest columns at fine prices ``wfine`` (:func:`fine_prices`), one for each
        location of its last block, cheapest first: (cost plus price, [(location, fine slot)] a
        block); empty when the task has no chain on the grid."""
        p = self.packed
        work = self.work.get()  # a free set of work arrays: the kernel releases the GIL, so threads may share this
        try:
            cost, back_i, back_s, last_value, last_start = work
            _cheapest_chain(
                int(p.nblk[k]),
                self.span[k],
                self.link[k],
                self.first[k],
                self.last_dur[k],
                p.ret[k],
                float(p.rel[k]),
                self.res[k],
                self.avail,
                wfine,
                self.fine,
                int(self.ends[k]),
                cost,
                back_i,
                back_s,
                last_value,
                last_start,
            )
            found = []
            for j_last in np.argsort(last_value):
                if not math.isfinite(last_value[j_last]):
                    break
                j, s = int(j_last), int(last_start[j_last])
                chain = [(j, s)]
                for m in range(int(p.nblk[k]) - 1, 0, -1):
                    j, s = int(back_i[m, j, s]), int(back_s[m, j, s])
                    chain.insert(0, (j, s))
                found.append((float(last_value[j_last]), chain))
            return found
        finally:
            self.work.put(work)

    def column(self, k: int, chain: list[tuple[int, int]]) -> tuple[float, np.ndarray, np.ndarray]:
        """A chain's cost (s), the capacity rows (resource * horizon + slot) it takes and the share
        of each it takes."""
        p = self.packed
        j_last, s_last = chain[-1]
        cost = self.fine * s_last + self.last_dur[k, j_last] + p.ret[k, j_last] - p.rel[k]
        rows, shares = [], []
        for m, (j, s) in enumerate(chain):
            first, share = taken_span((s + 1) * self.fine, s * self.fine + p.dur[k, m, j], self.grid)
            share = share[: max(0, self.horizon - first)]  # float dust past the horizon: dropping it only relaxes
            rows.append(self.res[k, j] * self.horizon + first + np.arange(share.size))
            shares.append(share)
        rows_at, merged = np.unique(np.concatenate(rows), return_inverse=True)  # blocks may share a slot
        return float(cost), rows_at.astype(np.int32), np.bincount(merged, np.concatenate(shares))

    def fits(self, k: int, chain: list[tuple[int, int]]) -> bool:
        """Whether ``chain`` ([(location, fine slot)] a block) is one of task k's chains on this
        grid, as the pricing DP would find it: each block after its input and its resource's
        availability, every start before the task's end, the last block within the grid."""
        p = self.packed
        if len(chain) != p.nblk[k]:
            return False
        end_u = self.horizon * self.per_coarse
        for m, (j, s) in enumerate(chain):
            if m == 0:
                after = self.first[k, j]
            else:
                i, before = chain[m - 1]
                after = max(self.avail[self.res[k, j]], before + self.link[k, m, i, j])
            if s < after or s >= self.ends[k] or s + self.span[k, m, j] > end_u:
                return False
        return True

    def taken_down(self, placement, start_s) -> list[list[tuple[int, int]]] | None:
        """A continuous schedule's chains on the fine grid (None when one leaves the horizon)."""
        chains = [
            [(int(j), int(whole_slots(s, self.fine))) for j, s in zip(row, starts)]
            for row, starts in zip(placement, start_s)
        ]
        for k, chain in enumerate(chains):
            (j, s), m_last = chain[-1], len(chain) - 1
            if s * self.fine + self.packed.dur[k, m_last, j] > self.horizon * self.grid:
                return None
        return chains


class _Master:
    """The restricted LP in HiGHS: capacity rows (resource * horizon + slot, at most 1), then one
    convexity row a task (exactly 1); columns join it one at a time, the basis kept."""

    def __init__(self, n_rows: int, k_tasks: int):
        import highspy

        from partopt.chain.solvers.milp import native_stdout_silenced

        with native_stdout_silenced():  # HiGHS prints a banner from C when it starts
            self.highs = highspy.Highs()
        # primal simplex from the last basis; one thread, as every HiGHS run in partopt (HiGHS keeps
        # one scheduler per process, fixed by its first run: a later run asking another count fails)
        for option, setting in (
            ("output_flag", False),
            ("presolve", "off"),
            ("solver", "simplex"),
            ("simplex_strategy", 4),
            ("threads", 1),
        ):
            self.highs.setOptionValue(option, setting)
        none = np.array([], np.int32)
        self.highs.addRows(n_rows, np.full(n_rows, -highspy.kHighsInf), np.ones(n_rows), 0, none, none, np.array([]))
        self.highs.addRows(k_tasks, np.ones(k_tasks), np.ones(k_tasks), 0, none, none, np.array([]))
        self.n_rows, self.columns, self.optimal = n_rows, 0, highspy.HighsModelStatus.kOptimal
        self.chains: list[tuple[int, list[tuple[int, int]]]] = []  # (task, chain) of every column that has one

    def add(self, k: int, cost: float, rows: np.ndarray, shares: np.ndarray, chain=None) -> None:
        index = np.concatenate([rows, [self.n_rows + k]]).astype(np.int32)
        self.highs.addCol(cost, 0.0, math.inf, index.size, index, np.concatenate([shares, [1.0]]))
        self.columns += 1
        if chain is not None:
            self.chains.append((k, chain))

    def solve(self, seconds: float | None) -> tuple[float, np.ndarray] | None:
        """The LP's optimum (s) and its row duals, or None when not solved within ``seconds``."""
        if seconds is not None:  # HiGHS counts its time limit from its first run
            self.highs.setOptionValue("time_limit", self.highs.getRunTime() + max(0.05, seconds))
        self.highs.run()
        if self.highs.getModelStatus() != self.optimal:
            return None
        return float(self.highs.getInfo().objective_function_value), np.asarray(self.highs.getSolution().row_dual)

    def takes_any_of_first(self, count: int) -> bool:
        """Whether the last solution takes any of the first ``count`` columns (the artificial ones)."""
        return bool(np.any(np.asarray(self.highs.getSolution().col_value)[:count] > 1e-9))


def _price(
    pricing: _Pricing, pool: ThreadPoolExecutor, w: np.ndarray, w_lp: np.ndarray, dual: np.ndarray | None
) -> tuple[float, list] | None:
    """L(w), the Lagrangian bound at prices ``w`` (s), and the cheapest chains at ``w`` that have a
    negative reduced cost at the LP's prices (w_lp, and the convexity duals in ``dual``; every
    one when ``dual`` is None), the tasks priced on ``pool``'s threads; None when a task has no
    chain on the grid."""
    wfine = fine_prices(w, pricing.per_coarse)
    found = list(pool.map(lambda k: pricing.cheapest(k, wfine), range(len(pricing.last_dur))))
    if not all(found):
        return None
    entering = []
    for k, chains in enumerate(found):
        for _, chain in chains:
            cost, rows, shares = pricing.column(k, chain)
            if dual is None or cost + w_lp.flat[rows] @ shares - dual[w.size + k] < -_RC_TOL_S:
                entering.append((k, cost, rows, shares, chain))
    return sum(chains[0][0] for chains in found) - float(w.sum()), entering


def _task_ends(scenario: Scenario, upper: float, delay_low: Sequence[float] | None) -> list[float]:
    """When each task ends at the latest in a schedule no worse than ``upper`` (s)."""
    if delay_low is None:
        delay_low = task_lower_bounds(scenario, Objective("penalty", 0.0))
    caps = delay_caps(upper, delay_low)
    return [(t.release_s + cap) * (1 + 1e-9) + 1e-9 for t, cap in zip(scenario.tasks, caps)]


def lp_slot_s(
    scenario: Scenario,
    upper: float,
    delay_low: Sequence[float] | None = None,
    finest_s: float = CHAIN_LP_GRID_S,
    max_slots: int | None = None,
) -> float:
    """The chain-schedule LP's slot (s) for schedules no worse than ``upper`` (s): ``finest_s``
    times the least power of two that cuts the horizon into at most ``max_slots`` slots (default
    :data:`LP_MAX_SLOTS`). Any slot gives a valid bound; a coarse one pools more time but lets
    the LP converge where the horizon is long (a congested edge)."""
    horizon_s = max(_task_ends(scenario, upper, delay_low))
    slots = LP_MAX_SLOTS if max_slots is None else max_slots
    doublings = max(0, math.ceil(math.log2(max(1.0, horizon_s / (finest_s * slots)))))
    return finest_s * 2.0**doublings


def spread_prices(prices: np.ndarray, from_s: float, to_s: float, slots: int) -> np.ndarray | None:
    """Prices of slots of ``from_s`` (s; resources, slots) on ``slots`` slots of ``to_s`` (s) that
    divides it, each slot's price shared evenly by the slots in it: every chain pays the same
    (the fine prices are the same), so a finer run starts from the coarser run's bound. None
    when ``to_s`` does not divide ``from_s``."""
    ratio = int(round(from_s / to_s))
    if ratio < 1 or not math.isclose(ratio * to_s, from_s, rel_tol=1e-9):
        return None
    spread = np.repeat(prices / ratio, ratio, axis=1)[:, :slots]
    return np.pad(spread, ((0, 0), (0, slots - spread.shape[1])))


def _grid_for(
    scenario: Scenario, upper: float, delay_low: list[float] | None, grid_s: float, per_coarse: int | None = None
) -> _Pricing:
    """The grid's tables, the horizon where a schedule no worse than ``upper`` (s) ends."""
    ends = _task_ends(scenario, upper, delay_low)
    return _Pricing(scenario, grid_s, int(math.floor(max(ends) / grid_s)) + 1, ends_s=ends, per_coarse=per_coarse)


def _first_columns(
    pricing: _Pricing, master: _Master, pool: ThreadPoolExecutor, prices: np.ndarray | None
) -> tuple[float, np.ndarray] | None:
    """Each task's cheapest chains at no price and at ``prices`` (resources, slots; if given and of
    the grid's shape) join the LP: (the better bound of the two, its prices); None when a task
    has no chain on the grid."""
    none = np.zeros((pricing.n_res, pricing.horizon))
    best, center = -math.inf, none
    for start in (none, prices):
        if start is None or start.shape != none.shape:
            continue
        found = _price(pricing, pool, start, start, None)
        if found is None:
            return None
        if found[0] > best:
            best, center = found[0], start
        for column in found[1]:
            master.add(*column)
    return best, center


def _generate_columns(
    pricing: _Pricing,
    master: _Master,
    pool: ThreadPoolExecutor,
    upper: float,
    stop: float,
    max_iterations: int,
    floor: float = -math.inf,
    prices: np.ndarray | None = None,
) -> tuple[float, np.ndarray, float, bool, int, bool] | None:
    """Column generation until the LP is solved, ``stop`` (perf_counter s), ``max_iterations``
    or the restricted LP's value falls to ``floor`` (s) with no artificial column (one a task that
    stands for a chain not found yet) in its solution: (best bound, its prices, the LP's last
    value, converged, iterations, whether it stopped at the floor); None when a task has no
    chain on the grid. ``prices`` (resources, slots): prices to start from besides none."""
    first = _first_columns(pricing, master, pool, prices)
    if first is None:
        return None
    best, center = first  # the best bound so far and its prices
    lp_value, converged, iterations = math.inf, False, 0
    while iterations < max_iterations and time.perf_counter() < stop and best < upper:
        solved = master.solve(None if math.isinf(stop) else stop - time.perf_counter())
        iterations += 1
        if solved is None:
            break
        lp_value, dual = solved
        if lp_value - best <= _CLOSE * abs(lp_value):  # the bound is the LP's optimum, within float dust
            converged = True
            break
        if lp_value <= floor and not master.takes_any_of_first(len(pricing.last_dur)):
            # chains alone meet the capacities at this value, so the LP's optimum, and every
            # Lagrangian bound below it, is at most the floor
            return best, center, lp_value, converged, iterations, True
        w_lp = np.maximum(0.0, -dual[: master.n_rows]).reshape(center.shape)
        entering: list = []
        for alpha in (_SMOOTHING, 0.0):  # between the best prices and the LP's; the LP's if that finds nothing
            priced = _price(pricing, pool, alpha * center + (1.0 - alpha) * w_lp, w_lp, dual)
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
    return best, center, lp_value, converged, iterations, False


def chain_lp_bound(
    scenario: Scenario,
    upper: float,
    delay_low: list[float] | None = None,
    *,
    grid_s: float = CHAIN_LP_GRID_S,
    time_limit: float | None = None,
    incumbent: tuple | None = None,
    max_iterations: int = 100_000,
    floor_s: float = -math.inf,
    per_coarse: int | None = None,
    warm: ChainLpBound | None = None,
) -> ChainLpBound | None:
    """The chain-schedule LP's bound of the module docstring, or None when it cannot be had
    (no finite ``upper``, HiGHS missing, or not one LP solved in time).

    upper: the objective of a known schedule (s); delay_low: each task's lower bound on D_k
    (s), for the horizon (default: each task's own bound on an empty edge); grid_s: the
    slot (s; :func:`lp_slot_s` chooses one for a horizon); time_limit: seconds (the bound found
    so far is returned when it passes); incumbent: a known schedule (placement, start_s) to start the LP from;
    floor_s: a bound in hand (s): the LP stops as soon as its restricted value shows it cannot pass it;
    per_coarse: fine slots a slot (default: as fine as :data:`MAX_TABLE_ENTRIES` allows, at most
    :data:`FINE_GRID_S` apart); warm: an earlier run for the same ``upper`` on these slots or on
    slots that these divide, whose chains that are chains of this grid (their fine slots rescaled)
    join the LP at the start and whose prices, spread over these slots (:func:`spread_prices`),
    are priced first.
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
    pricing = _grid_for(scenario, upper, None if delay_low is None else list(delay_low), grid_s, per_coarse)
    horizon = pricing.horizon
    master = _Master(pricing.n_res * horizon, scenario.num_tasks)
    artificial = 10.0 * (abs(upper) + horizon * grid_s) + 1.0  # dearer than any chain: the LP starts feasible
    for k in range(scenario.num_tasks):
        master.add(k, artificial, np.array([], np.int32), np.array([]))
    for k, chain in enumerate((None if incumbent is None else pricing.taken_down(*incumbent)) or []):
        master.add(k, *pricing.column(k, chain), chain)
    prices = None
    if warm is not None and warm.fine_s > 0:
        scale = warm.fine_s / pricing.fine
        for k, old in warm.chains:
            chain = [(j, int(round(u * scale))) for j, u in old]
            if pricing.fits(k, chain):
                master.add(k, *pricing.column(k, chain), chain)
        prices = spread_prices(warm.prices, warm.grid_s, grid_s, horizon)
    stop = math.inf if time_limit is None else begin + float(time_limit)
    with ThreadPoolExecutor(_PRICING_THREADS) as pool:
        found = _generate_columns(pricing, master, pool, upper, stop, max_iterations, floor_s, prices)
    if found is None:
        return None
    best, center, lp_value, converged, iterations, futile = found
    return ChainLpBound(
        bound_s=best,
        lp_s=lp_value,
        converged=converged,
        iterations=iterations,
        columns=master.columns,
        grid_s=grid_s,
        slots=horizon,
        seconds=time.perf_counter() - begin,
        futile=futile,
        fine_s=pricing.fine,
        prices=center,
        chains=tuple(master.chains),
    )


def coarse_first_chain_lp_bound(
    scenario: Scenario,
    upper: float,
    delay_low: list[float] | None,
    *,
    finest_s: float,
    time_limit: float | None,
    incumbent: tuple | None = None,
    floor_s: float = -math.inf,
) -> ChainLpBound | None:
    """The chain-schedule LP's bound (:func:`chain_lp_bound`, same arguments) on the slots of
    :func:`lp_slot_s` from ``finest_s`` (s) first, which converge where the finest would not on
    a long horizon (a congested edge), then, if that slot is coarser and at least half of
    ``time_limit`` is left, on ``finest_s``: the higher of the two, with its ``grid_s`` and
    prices; None when neither gives a bound."""
    begin = time.perf_counter()
    coarse_s = lp_slot_s(scenario, upper, delay_low, finest_s)
    best: ChainLpBound | None = None
    for grid_s in dict.fromkeys((coarse_s, finest_s)):
        left = None
        if time_limit is not None:
            left = time_limit - (time.perf_counter() - begin)
            if best is not None and left < time_limit / 2:
                break  # the finest slots would not converge in less
        found = chain_lp_bound(
            scenario, upper, delay_low, grid_s=grid_s, time_limit=left, incumbent=incumbent, floor_s=floor_s
        )
        if found is not None and (best is None or found.bound_s > best.bound_s):
            best = found
    return best


def refined_chain_lp_bound(
    scenario: Scenario,
    upper: float,
    delay_low: list[float] | None,
    *,
    finest_s: float,
    time_limit: float | None,
    incumbent: tuple | None = None,
    floor_s: float = -math.inf,
) -> ChainLpBound | None:
    """The chain-schedule LP's bound (:func:`chain_lp_bound`, same arguments) on ever finer grids
    while ``time_limit`` (s) allows: on the slots of :func:`lp_slot_s` from ``finest_s`` (s) first,
    then on the same slots with twice the fine points a slot while the last run converged (or
    stopped at ``floor_s``, which a finer grid may pass), the fine grid is coarser than
    :data:`FINE_GRID_S` and fits :data:`MAX_THREAD_ENTRIES`, then on slots of ``finest_s`` at the
    last fine grid; each run warm-started from the last (``warm``) and started only with
    :data:`REFINE_TIME_FACTOR` times the last run's seconds left. A chain loses up to a fine slot
    a block, which is most of what finer grids win (on ``shared-k64-v1/01``: 3.581 s with 4 ms
    slots and 0.67 ms fine slots, 3.755 s at 25 us).
    The run of the highest bound; None when none gives one."""
    begin = time.perf_counter()

    def run(grid_s: float, per_coarse: int | None, warm: ChainLpBound | None) -> ChainLpBound | None:
        left = None if time_limit is None else time_limit - (time.perf_counter() - begin)
        if warm is not None and left is not None and left < REFINE_TIME_FACTOR * warm.seconds:
            return None
        return chain_lp_bound(
            scenario,
            upper,
            delay_low,
            grid_s=grid_s,
            time_limit=left,
            incumbent=incumbent,
            floor_s=floor_s,
            per_coarse=per_coarse,
            warm=warm,
        )

    coarse_s = lp_slot_s(scenario, upper, delay_low, finest_s)
    last = run(coarse_s, None, None)
    if last is None:
        return None
    best = last
    finest = finest_per_slot(coarse_s, max(scenario.block_counts) * (scenario.num_servers + 1), last.slots)
    while last.converged or last.futile:  # a run stopped at the floor: a finer grid may pass it
        per_coarse = int(round(coarse_s / last.fine_s))
        found = run(coarse_s, min(2 * per_coarse, finest), last) if per_coarse < finest else None
        if found is None or found.fine_s >= last.fine_s:  # out of time, or no finer grid fits
            break
        best = found if found.bound_s > best.bound_s else best
        last = found
    if coarse_s > finest_s:
        found = run(finest_s, int(round(finest_s / last.fine_s)), last)
        best = found if found is not None and found.bound_s > best.bound_s else best
    return best
