"""Exact shared-edge solver in continuous time: depth-first branch and bound over schedules.

No time grid: the optimum it proves is the optimum of the model as written, to float
precision, and its schedule is the one evaluated.

**Search.** A schedule is built one block at a time, in order of start time. A node holds
the blocks placed so far: each resource's free time (servers, then the devices' CPUs),
each task's next block, the end and location of its last one, the last start t* and the
cost of the tasks finished. A child places the next block of one task on one location,
starting at

    S = max(its input ready there, the resource free, t*),

so starts never decrease along a path. Every semi-active schedule (each block as early
as its resource order and its input allow) is a path, its blocks taken by start time;
for a regular objective (sum of delays, task deadlines' excess) one of them is optimal.
Children are tried earliest end first, or with priced completions (below) least priced
bound first; the search starts with the best heuristic schedule (the order search of
:mod:`partopt.shared.solvers.orders`, from the local search, from earliest-finish) as its
incumbent.

**Bound.** The finished tasks' cost plus, for every unfinished task, the earliest finish
of its remaining chain alone against the resources' free times, no block starting
before t*: the earliest-finish DP of :mod:`partopt.shared.solvers.common`. Other tasks
can only delay it. For 4 to 16 tasks the node also gets the priced bound of
:mod:`partopt.shared.solvers.priced`: the chain-schedule LP is solved once, at the root,
within :data:`~partopt.shared.solvers.priced.PRICED_SHARE` of the limit (with ``probe=True``,
for 4 to 6 tasks, after a search without it for :data:`PROBE_SHARE` of the limit: where that
search finishes, the LP is skipped and its time saved), and its prices
give every node a Lagrangian bound that sees the tasks compete (a few lookups a task);
the node takes the larger of the two. A node prices each child as it makes it, so a
child at the incumbent or above is never made, and the others are tried cheapest first,
which finds good schedules early. On the speed bench it cuts the nodes of a K = 5 proof
by 100x and more, and proves every K = 8 scenario within a minute. Under "hard" a task
whose bound breaks its deadline, or a device whose energy spent plus its tasks' least
energy still to spend passes the budget, closes the node.

**Dominance.** A node is dropped when a node explored before it placed as many blocks
of every task, costs no more, has t* no later, and has every resource's free time and
every task's input ready time at every location, each taken no earlier than the node's
t*, no later (with energy budgets also no more energy spent per device, and its
unfinished tasks' last blocks at the same locations). Every continuation of the dropped
node, applied to the explored one, is a path there (starts never decrease, thanks to
the t* in S) and starts each block no later, so costs no more. Twins (tasks of one device
with the same tables and no task deadline, :func:`twin_groups`) are matched in any order:
handing a twin's future blocks to another changes no cost once costs are compared as the
finishes so far less the unfinished tasks' releases (an unstarted task's last end is its
release), so the test runs on a canonical form with each group's members sorted
(:func:`_canonical`). Nodes are kept in a fixed table (a newer node replaces the oldest in
its slot), which only forgets some.

**Block deadlines** are the one thing a semi-active schedule can break by starting a
block early (the next block's delay grows). When none can bind in a solution better than
the incumbent (every block delay is at most its task's delay, at most the incumbent's
objective less the other tasks' bounds), the search above is exact as it stands. Otherwise
it searches the relaxation without block deadlines (valid: any schedule's semi-active
counterpart, its blocks as early as its order on every resource allows, is a leaf, costs no
more, and its relaxed cost leaves out the deadlines' penalty), and keeps the deadlines at
the leaves: a leaf that breaks one is repaired into the least schedule with its locations
and its order on every resource that keeps every deadline (:func:`_repair`: every
constraint is a difference of two times, so a fixed point of "start no earlier than the
input, the resource and a later block's deadline require" is least in every time), which
under "hard" is the best schedule with that order. A leaf whose repair (or, under
"penalty", its priced excess) costs more than its relaxed cost leaves that relaxed cost as
a bound the search did not close; under "hard" with no node dropped by dominance none is
needed, as every leaf stood for itself. Under "hard" a block ending later after its
task's release than the sum of its deadlines so far closes its node (delaying earlier
blocks cannot save it); with block deadlines a node dominates another only if its tasks'
last blocks also end no later, so that this holds for the dropped node's continuations.
The search proves optimality (``proven_optimal``) when it finishes with no such bound
below the incumbent; ``info["relaxed_deadlines"]`` says whether it searched the relaxation
and ``info["least_broken"]`` gives that bound. Without a feasible incumbent it proves
infeasibility when it finishes with none.

**Stopping.** The search runs in chunks of nodes between checks of the time limit; when
the limit passes, the bound returned is the least bound of the nodes left open (never
below the per-task bounds and the work relaxation's, which is solved only then, in the
share of the limit :func:`partopt.shared.solvers.start.work_share` keeps for it, nor,
from K = 6 on, the chain-schedule LP's: solved at the root for the priced bound, or
otherwise in the fifth of the limit kept for it). Cost grows steeply with the number of
tasks that overlap in time and with the LP's gap (``bench/results/shared_speed.md``).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, NamedTuple

import numba
import numpy as np

from partopt.formulas import REL_TOL
from partopt.progress import is_watched, report_search
from partopt.result import SolverOutput
from partopt.shared.kernels import PackedScenario
from partopt.shared.solvers.common import best_candidate, delay_caps
from partopt.shared.solvers.orders import solve_shared_order_search
from partopt.shared.solvers.priced import (
    PRICED_SHARE,
    PRICED_TASKS,
    CompletionTables,
    priced_bound_kernel,
    priced_completions,
)
from partopt.shared.solvers.start import (
    chain_lp_reserve,
    exact_start,
    incumbent_output,
    reported_bound,
    vetted_answer,
    vetted_bound,
    with_work_bound,
    work_share,
)

if TYPE_CHECKING:
    from partopt.objective import Objective
    from partopt.shared.evaluation import ScenarioEvaluation
    from partopt.shared.model import Scenario
    from partopt.shared.solvers.start import ExactStart

__all__ = [
    "CHECK_EVERY_S",
    "CHUNK_NODES",
    "FIRST_CHUNK_NODES",
    "MEMO_BYTES",
    "BranchAndBound",
    "deadlines_may_bind",
    "solve_shared_bnb",
]

#: Memory for the dominance table (bytes).
MEMO_BYTES = 256 * 2**20
#: Most nodes between two checks of the time limit; fewer where nodes are slow (see :data:`CHECK_EVERY_S`).
CHUNK_NODES = 200_000
#: Seconds of search between two checks of the time limit (and looks at CP-SAT beside it): each
#: chunk's nodes are the last chunk's rate times this, or what is left of the limit if less.
CHECK_EVERY_S = 0.1
#: Nodes of the first chunk, before the search's rate is known.
FIRST_CHUNK_NODES = 2_000
#: With ``probe=True``, before the chain-schedule LP, for this many tasks, the search runs without it for
#: :data:`PROBE_SHARE` of the time limit (or :data:`PROBE_S` seconds without one), in chunks of
#: :data:`PROBE_CHUNK_NODES`: where it finishes, the LP's time is saved. Off by default; what it
#: costs and saves is measured in ``bench/results/shared_probe.md``.
PROBE_TASKS = range(4, 7)
PROBE_SHARE = 0.01
PROBE_S = 3.0
PROBE_CHUNK_NODES = 20_000
_WAYS = 4

#: Slots of the search's float scalars (``_Search.scal``): the incumbent's cost, the last start t*,
#: the node's cost, and the least relaxed cost of a leaf whose deadlines cost more (settled under
#: "hard", unsettled else; see :func:`_broken_leaf`), all in s.
UPPER, TSTAR, COST, LEAST_SETTLED, LEAST_UNSETTLED = range(5)
#: Slots of the search's integer counters (``_Search.ints``): depth, nodes, whether an incumbent
#: was found, finished, nodes dropped by dominance, started, blocks over their deadline (the last
#: is passed on as a one-element view).
DEPTH, NODES, FOUND, FINISHED, DROPPED, STARTED, OVER = range(7)


class Tables(NamedTuple):
    """The scenario's packed tables the search reads (:class:`~partopt.shared.kernels.PackedScenario`),
    with each task's least device energy to go, ``need[k, m, i]`` (J), and the sums of its block
    deadlines so far, ``cum_tau[k, m]`` (s)."""

    dur: np.ndarray
    trans: np.ndarray
    energy: np.ndarray
    ret: np.ndarray
    rel: np.ndarray
    dev: np.ndarray
    nblk: np.ndarray
    tau: np.ndarray
    task_tau: np.ndarray
    budget: np.ndarray
    need: np.ndarray
    cum_tau: np.ndarray


class Options(NamedTuple):
    """The search's fixed settings."""

    n_srv: int
    hard: bool
    beta: float
    rel_tol: float
    use_memo: bool
    with_budgets: bool
    relax: bool


class State(NamedTuple):
    """The node under expansion: each resource's free time (servers, then devices' CPUs; s), each
    task's next block, its last block's location and end (s), each device's energy spent (J), and
    the placement and start times (s) so far."""

    free: np.ndarray
    nxt: np.ndarray
    last_loc: np.ndarray
    last_end: np.ndarray
    spent: np.ndarray
    place: np.ndarray
    start: np.ndarray


class Stack(NamedTuple):
    """Per depth: the children (task, location, priced key), how many, how many tried, the node's bound (s)."""

    task: np.ndarray
    loc: np.ndarray
    key: np.ndarray
    children: np.ndarray
    tried: np.ndarray
    bound: np.ndarray

    @classmethod
    def empty(cls, ops: int, width: int) -> Stack:
        """A stack for ``ops`` blocks in all, at most ``width`` children a node."""
        return cls(
            np.zeros((ops + 1, width), np.int64),
            np.zeros((ops + 1, width), np.int64),
            np.zeros((ops + 1, width)),
            np.zeros(ops + 1, np.int64),
            np.zeros(ops + 1, np.int64),
            np.full(ops + 1, np.inf),
        )


class Undo(NamedTuple):
    """Per depth, what :func:`_place` changed: the resource's free time, the task's last end and
    location, t*, the cost, the energy spent and the block's excess over its deadline."""

    free: np.ndarray
    end: np.ndarray
    loc: np.ndarray
    tstar: np.ndarray
    cost: np.ndarray
    energy: np.ndarray
    over: np.ndarray

    @classmethod
    def empty(cls, ops: int) -> Undo:
        """Undo records for ``ops`` blocks in all."""
        return cls(*(np.zeros(ops + 1, np.int64 if field == "loc" else float) for field in cls._fields))


class Leaf(NamedTuple):
    """:func:`_repair`'s inputs and work arrays: the resources' first free times (s), the leaf's
    tasks in placing order, the repaired starts, and the ends and least starts it works on (s)."""

    free0: np.ndarray
    seq: np.ndarray
    repaired: np.ndarray
    ends: np.ndarray
    low: np.ndarray


class Memo(NamedTuple):
    """The dominance table (:func:`_dominated`): per slot and way, a node's blocks placed per task,
    cost less the releases of its unfinished tasks, t*, resources' free times, tasks' last ends and
    locations, devices' energy, and each slot's next way to replace; with each task's twin group
    (:func:`twin_groups`) and work arrays for a node's canonical form (:func:`_canonical`)."""

    key: np.ndarray
    cost: np.ndarray
    tstar: np.ndarray
    free: np.ndarray
    end: np.ndarray
    loc: np.ndarray
    spent: np.ndarray
    next_way: np.ndarray
    twin: np.ndarray
    nxt: np.ndarray
    last_end: np.ndarray
    last_loc: np.ndarray

    @classmethod
    def empty(cls, k_tasks: int, n_res: int, n_dev: int, slots: int, twin: np.ndarray | None = None) -> Memo:
        """An empty table of ``slots`` slots of :data:`_WAYS` ways; ``twin``: each task's twin group
        (-1: none; default none)."""
        return cls(
            np.full((slots, _WAYS, k_tasks), -1, np.int64),
            np.zeros((slots, _WAYS)),
            np.zeros((slots, _WAYS)),
            np.zeros((slots, _WAYS, n_res)),
            np.zeros((slots, _WAYS, k_tasks)),
            np.zeros((slots, _WAYS, k_tasks), np.int64),
            np.zeros((slots, _WAYS, n_dev)),
            np.zeros(slots, np.int64),
            np.full(k_tasks, -1, np.int64) if twin is None else np.asarray(twin, np.int64),
            np.zeros(k_tasks, np.int64),
            np.zeros(k_tasks),
            np.zeros(k_tasks, np.int64),
        )


def twin_groups(packed: PackedScenario, relax: bool) -> np.ndarray:
    """Each task's twin group (-1: none): tasks of one device with equal tables (blocks, transfers,
    energy, returns, block deadlines) and no task deadline. Twins differ only in their release, and
    handing one twin's future blocks to another changes no cost (the sum of delays counts finishes
    less releases, both summed over the tasks), so the dominance test may match a node's twins in
    any order (:func:`_canonical`). Not under relaxed block deadlines, whose check at every block
    counts from the task's release; none then."""
    k_tasks = packed.rel.size
    twin = np.full(k_tasks, -1, np.int64)
    if relax:
        return twin
    groups = 0
    for k in range(k_tasks):
        if twin[k] >= 0 or math.isfinite(packed.task_tau[k]):
            continue
        mates = [
            other
            for other in range(k + 1, k_tasks)
            if twin[other] < 0
            and not math.isfinite(packed.task_tau[other])
            and packed.dev[other] == packed.dev[k]
            and packed.nblk[other] == packed.nblk[k]
            and all(
                np.array_equal(table[other], table[k])
                for table in (packed.dur, packed.trans, packed.energy, packed.ret, packed.tau)
            )
        ]
        if mates:
            twin[[k, *mates]] = groups
            groups += 1
    return twin


def _memo_slots(k_tasks: int, n_res: int, n_dev: int, ops: int) -> int:
    """The dominance table's slots: as many as :data:`MEMO_BYTES` holds, fewer for a small search."""
    entry = 8 * (3 * k_tasks + n_res + n_dev + 3)
    return 1 << max(4, min(int(math.log2(max(16, MEMO_BYTES // (entry * _WAYS)))), 8 + ops // 2))


@numba.njit(cache=True, nogil=True)
def _chain_bound(k, dur, trans, ret, dev, nblk, n_srv, free, m0, loc0, end0, tstar, cur, nxt_c):  # pragma: no cover
    """The earliest finish (C + return, s) of task k's blocks m0.. alone against ``free``,
    its last block ended at ``end0`` on ``loc0``, no block starting before ``tstar``."""
    locs = dur.shape[2]
    for j in range(locs):
        cur[j] = np.inf
    cur[loc0] = end0
    for m in range(m0, nblk[k]):
        for j in range(locs):
            best = np.inf
            for i in range(locs):
                if cur[i] < np.inf:
                    best = min(best, cur[i] + trans[k, m, i, j])
            best = max(best, free[j - 1 if j > 0 else n_srv + dev[k]], tstar)
            nxt_c[j] = best + dur[k, m, j]
        for j in range(locs):
            cur[j] = nxt_c[j]
    out = np.inf
    for j in range(locs):
        out = min(out, cur[j] + ret[k, j])
    return out


@numba.njit(cache=True, nogil=True)
def _slot(nxt, bits):  # pragma: no cover
    h = np.uint64(1469598103934665603)
    for k in range(nxt.size):
        h = (h ^ np.uint64(nxt[k] + 1)) * np.uint64(1099511628211)
    return np.int64(h & np.uint64((1 << bits) - 1))


@numba.njit(cache=True, nogil=True)
def _canonical(nxt, last_end, last_loc, cost, rel, nblk, twin, c_nxt, c_end, c_loc):  # pragma: no cover
    """The node's canonical form for the dominance table, in ``c_nxt``, ``c_end`` and ``c_loc``:
    within each twin group the members' (blocks placed, last location, last end) sorted (most
    blocks first), dealt out to the group's tasks in index order; an unstarted task's last end is
    its release. Returns the cost less the releases of the unfinished tasks (s): what a node's
    continuations add to it is then the same, twins exchanged, as long as each block starts no
    later."""
    k_tasks = nxt.size
    c_nxt[:] = nxt
    c_end[:] = last_end
    c_loc[:] = last_loc
    base = cost
    for k in range(k_tasks):
        if nxt[k] < nblk[k]:
            base -= rel[k]
    for k in range(k_tasks):
        g = twin[k]
        if g < 0:
            continue
        # insertion sort of the group's members that come before k and k itself (index order)
        p = k
        while True:
            q = p - 1
            while q >= 0 and twin[q] != g:
                q -= 1
            if q < 0:
                break
            later = (
                c_nxt[q] < c_nxt[p]
                or (c_nxt[q] == c_nxt[p] and c_loc[q] > c_loc[p])
                or (c_nxt[q] == c_nxt[p] and c_loc[q] == c_loc[p] and c_end[q] > c_end[p])
            )
            if not later:
                break
            c_nxt[q], c_nxt[p] = c_nxt[p], c_nxt[q]
            c_end[q], c_end[p] = c_end[p], c_end[q]
            c_loc[q], c_loc[p] = c_loc[p], c_loc[q]
            p = q
    return base


@numba.njit(cache=True, nogil=True)
def _dominated(
    nxt,
    free,
    last_end,
    last_loc,
    spent,
    cost,
    tstar,
    trans,
    nblk,
    with_budgets,
    relax,
    mkey,
    mcost,
    mtstar,
    mfree,
    mend,
    mloc,
    mspent,
    mnext,
    bits,
):  # pragma: no cover
    """Whether a stored node dominates this one (see the module docstring); if none does,
    this one is stored."""
    slot = _slot(nxt, bits)
    for w in range(mkey.shape[1]):
        if mkey[slot, w, 0] < 0 or mcost[slot, w] > cost or mtstar[slot, w] > tstar:
            continue
        ok = True
        for k in range(nxt.size):
            if mkey[slot, w, k] != nxt[k]:
                ok = False
                break
        for r in range(free.size):
            if ok and mfree[slot, w, r] > max(free[r], tstar):
                ok = False
        for d in range(spent.size):
            if ok and with_budgets and mspent[slot, w, d] > spent[d]:
                ok = False
        for k in range(nxt.size):
            m = nxt[k]
            if not ok or m >= nblk[k]:
                continue
            if (with_budgets and mloc[slot, w, k] != last_loc[k]) or (relax and mend[slot, w, k] > last_end[k]):
                ok = False
                break
            for j in range(trans.shape[2]):
                if mend[slot, w, k] + trans[k, m, mloc[slot, w, k], j] > max(
                    last_end[k] + trans[k, m, last_loc[k], j], tstar
                ):
                    ok = False
                    break
        if ok:
            return True
    w = mnext[slot] % mkey.shape[1]
    mnext[slot] += 1
    mkey[slot, w] = nxt
    mend[slot, w] = last_end
    mloc[slot, w] = last_loc
    mfree[slot, w] = free
    mspent[slot, w] = spent
    mcost[slot, w], mtstar[slot, w] = cost, tstar
    return False


@numba.njit(cache=True, nogil=True)
def _energy_short(spent, budget, need, nxt, last_loc, dev, nblk, rel_tol):  # pragma: no cover
    """Whether some device cannot finish its tasks within its budget."""
    total = spent.copy()
    for k in range(nxt.size):
        if nxt[k] < nblk[k]:
            total[dev[k]] += need[k, nxt[k], last_loc[k]]
    for d in range(budget.size):  # noqa: SIM110 - a Numba kernel: no generator expressions
        if total[d] > budget[d] * (1.0 + rel_tol):
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _bound(tables, n_srv, hard, rel_tol, free, nxt, last_loc, last_end, tstar, cost, cur, nxt_c):  # pragma: no cover
    """The node's bound (see the module docstring); inf under "hard" when a task cannot keep its deadline."""
    dur, trans, _, ret, rel, dev, nblk, _, task_tau, _, _, _ = tables
    lb = cost
    for k in range(nxt.size):
        if nxt[k] < nblk[k]:
            d_k = (
                _chain_bound(
                    k, dur, trans, ret, dev, nblk, n_srv, free, nxt[k], last_loc[k], last_end[k], tstar, cur, nxt_c
                )
                - rel[k]
            )
            lb += d_k
            if hard and d_k > task_tau[k] * (1.0 + rel_tol):
                return np.inf
    return lb


@numba.njit(cache=True, nogil=True)
def _priced_child(priced, tables, n_srv, free, nxt, last_loc, last_end, cost, k, j, s, e):  # pragma: no cover
    """The priced bound of the child that starts task k's next block on j at s, ending at e (s);
    the node's arrays are changed and put back."""
    _, trans, _, ret, rel, dev, nblk, _, _, _, _, _ = tables
    m, res = nxt[k], j - 1 if j > 0 else n_srv + dev[k]
    was_free, was_end, was_loc = free[res], last_end[k], last_loc[k]
    free[res], last_end[k], last_loc[k], nxt[k] = e, e, j, m + 1
    if m + 1 == nblk[k]:
        cost += e + ret[k, j] - rel[k]  # a lower bound on the child's cost (penalties are >= 0)
    lb = priced_bound_kernel(*priced, trans, dev, nblk, n_srv, free, nxt, last_loc, last_end, s, cost)  # type: ignore[call-arg]
    free[res], last_end[k], last_loc[k], nxt[k] = was_free, was_end, was_loc, m
    return lb


@numba.njit(cache=True, nogil=True)
def _children(
    tables, n_srv, free, nxt, last_loc, last_end, tstar, cost, upper, priced, ck, cj, ckey, depth
):  # pragma: no cover
    """The node's children (task, location) at ``depth``, earliest end first, or with priced
    tables least priced bound first and those at ``upper`` or above left out; returns how many."""
    dur, trans, _, _, _, dev, nblk, _, _, _, _, _ = tables
    n = 0
    for k in range(nxt.size):
        m = nxt[k]
        if m >= nblk[k]:
            continue
        for j in range(dur.shape[2]):
            s = max(last_end[k] + trans[k, m, last_loc[k], j], free[j - 1 if j > 0 else n_srv + dev[k]], tstar)
            key = s + dur[k, m, j]
            if priced[0].size > 0:
                key = _priced_child(priced, tables, n_srv, free, nxt, last_loc, last_end, cost, k, j, s, key)
                if key >= upper * (1.0 - 1e-12):
                    continue
            p = n
            while p > 0 and ckey[depth, p - 1] > key:
                ck[depth, p], cj[depth, p], ckey[depth, p] = ck[depth, p - 1], cj[depth, p - 1], ckey[depth, p - 1]
                p -= 1
            ck[depth, p], cj[depth, p], ckey[depth, p] = k, j, key
            n += 1
    return n


@numba.njit(cache=True, nogil=True)
def _place(
    tables, n_srv, hard, beta, rel_tol, relax, k, j, depth, state, undo, tstar, cost, broken
):  # pragma: no cover
    """Place task k's next block on j (the undo record kept at ``depth``); returns the new (t*, cost).

    relax: block deadlines are left out of the cost (see "Block deadlines" in the module
    docstring); ``broken[0]`` counts the blocks over their deadline (their excess kept in the
    undo record), and under "hard" a block ending past its task's release plus its deadlines so far closes
    the child (no later start of the blocks before it can save it)."""
    dur, trans, energy, ret, rel, dev, nblk, tau, task_tau, _, _, cum_tau = tables
    free, nxt, last_loc, last_end, spent, place, start = state
    u_free, u_end, u_loc, u_tstar, u_cost, u_energy, u_over = undo
    m, before = nxt[k], last_loc[k]
    res = j - 1 if j > 0 else n_srv + dev[k]
    s = max(last_end[k] + trans[k, m, before, j], free[res], tstar)
    e = s + dur[k, m, j]
    u_free[depth], u_end[depth], u_loc[depth] = free[res], last_end[k], before
    u_tstar[depth], u_cost[depth], u_energy[depth] = tstar, cost, energy[k, m, before, j]
    u_over[depth] = 0.0
    block = e - last_end[k]
    finish = e
    if m + 1 == nblk[k]:
        block += ret[k, j]
        finish += ret[k, j]
        d_k = e + ret[k, j] - rel[k]
        cost += d_k
        if not hard:
            cost += beta * max(d_k - task_tau[k], 0.0)
        elif d_k > task_tau[k] * (1.0 + rel_tol):
            cost = np.inf  # breaks the task's deadline: the child is closed by its bound
    if relax:
        over = max(block - tau[k, m], 0.0)
        if (hard and block > tau[k, m] * (1.0 + rel_tol)) or (not hard and over > 0.0):
            u_over[depth] = over
            broken[0] += 1
        if hard and finish - rel[k] > cum_tau[k, m] * (1.0 + rel_tol):
            cost = np.inf
    elif hard and block > tau[k, m] * (1.0 + rel_tol):
        cost = np.inf  # breaks a block deadline
    elif not hard:
        cost += beta * max(block - tau[k, m], 0.0)
    free[res], last_end[k], last_loc[k], nxt[k] = e, e, j, m + 1
    spent[dev[k]] += energy[k, m, before, j]
    place[k, m], start[k, m] = j, s
    return s, cost


@numba.njit(cache=True, nogil=True)
def _unplace(tables, n_srv, k, j, depth, state, undo, broken):  # pragma: no cover
    """Undo :func:`_place` of task k's last block on j at ``depth``; returns the old (t*, cost)."""
    dev = tables.dev
    free, nxt, last_loc, last_end, spent, _, _ = state
    u_free, u_end, u_loc, u_tstar, u_cost, u_energy, u_over = undo
    free[j - 1 if j > 0 else n_srv + dev[k]] = u_free[depth]
    last_end[k], last_loc[k] = u_end[depth], u_loc[depth]
    nxt[k] -= 1
    spent[dev[k]] -= u_energy[depth]
    if u_over[depth] > 0.0:
        broken[0] -= 1
    return u_tstar[depth], u_cost[depth]


@numba.njit(cache=True, nogil=True)
def _repair(tables, n_srv, hard, beta, rel_tol, free0, seq, place, start, out, ends, low):  # pragma: no cover
    """The earliest schedule with the leaf's locations and order on every resource that keeps
    every block deadline; its start times in ``out``, its cost returned (inf when none keeps them).

    The leaf's blocks, in the order the search placed them (``seq``: their tasks), start as
    early as their input, their resource and ``low`` allow; a block ending more than its
    deadline after the block before it raises that block's ``low`` so that it ends just in
    time; repeated until nothing moves. Every constraint is a difference of two times, so the
    first fixed point is the least schedule that keeps them all (each time no later than in any
    other). Each pass carries every path one more deadline back, so without a cycle of
    constraints that cannot all be kept (a positive cycle) the fixed point comes within a pass
    per block plus one; still moving after that, no schedule with this order keeps them."""
    dur, trans, _, ret, rel, dev, nblk, tau, task_tau, _, _, _ = tables
    k_tasks = nblk.size
    low[:, :] = -np.inf
    res_end = free0.copy()
    cnt = np.zeros(k_tasks, np.int64)
    for _ in range(seq.size + 2):
        res_end[:] = free0
        cnt[:] = 0
        for d in range(seq.size):
            k = seq[d]
            m = cnt[k]
            cnt[k] += 1
            j = place[k, m]
            ready = rel[k] + trans[k, 0, 0, j] if m == 0 else ends[k, m - 1] + trans[k, m, place[k, m - 1], j]
            r = j - 1 if j > 0 else n_srv + dev[k]
            s = max(ready, res_end[r], low[k, m])
            out[k, m] = s
            ends[k, m] = s + dur[k, m, j]
            res_end[r] = ends[k, m]
        moved = False
        for k in range(k_tasks):
            last = nblk[k] - 1
            for m in range(last, -1, -1):
                finish = ends[k, m] + (ret[k, place[k, m]] if m == last else 0.0)
                before = rel[k] if m == 0 else ends[k, m - 1]
                if finish - before > tau[k, m] * (1.0 + 0.5 * rel_tol):
                    if m > 0:
                        low[k, m - 1] = max(low[k, m - 1], finish - tau[k, m] - dur[k, m - 1, place[k, m - 1]])
                        moved = True
                    elif finish - before > tau[k, m] * (1.0 + rel_tol):
                        return np.inf  # the first block cannot end earlier: no schedule keeps it
        if not moved:
            cost = 0.0
            for k in range(k_tasks):
                last = nblk[k] - 1
                d_k = ends[k, last] + ret[k, place[k, last]] - rel[k]
                cost += d_k
                if hard and d_k > task_tau[k] * (1.0 + rel_tol):
                    return np.inf
                if not hard:
                    cost += beta * max(d_k - task_tau[k], 0.0)
            return cost
    return np.inf


@numba.njit(cache=True, nogil=True)
def _leaf_value(tables, hard, beta, place, start):  # pragma: no cover
    """The leaf's cost with its block deadlines' excess (under "penalty"; inf under "hard" when any
    is broken): the relaxed search leaves it out."""
    dur, _, _, ret, rel, _, nblk, tau, task_tau, _, _, _ = tables
    cost = 0.0
    for k in range(nblk.size):
        before = rel[k]
        for m in range(nblk[k]):
            e = start[k, m] + dur[k, m, place[k, m]]
            block = e - before + (ret[k, place[k, m]] if m == nblk[k] - 1 else 0.0)
            cost += beta * max(block - tau[k, m], 0.0)
            before = e
        d_k = before + ret[k, place[k, nblk[k] - 1]] - rel[k]
        cost += d_k + beta * max(d_k - task_tau[k], 0.0)
    return np.inf if hard else cost


@numba.njit(cache=True, nogil=True)
def _broken_leaf(
    tables, n_srv, hard, beta, rel_tol, cost, upper, state, best, ck, idx, scal, ints, leaf
):  # pragma: no cover
    """A leaf with blocks over their deadline, of relaxed cost ``cost``: the better of itself (its
    excess priced, under "penalty") and its least schedule keeping every deadline becomes the
    incumbent if below ``upper``; when both cost more than ``cost``, ``cost`` is a bound the
    search could not close: in ``scal[LEAST_SETTLED]`` under "hard", where the repair is the best schedule
    with the leaf's order (needed only where dominance dropped nodes); else in ``scal[LEAST_UNSETTLED]``.
    Returns the incumbent's cost."""
    place, start = state.place, state.start
    free0, seq, repaired, ends, low = leaf
    for d in range(seq.size):
        seq[d] = ck[d, idx[d] - 1]
    value = _leaf_value(tables, hard, beta, place, start)
    kept = _repair(tables, n_srv, hard, beta, rel_tol, free0, seq, place, start, repaired, ends, low)
    if kept < upper and kept <= value:
        upper = kept
        ints[FOUND] = 1
        best[0][:, :], best[1][:, :] = place, repaired
    elif value < upper:
        upper = value
        ints[FOUND] = 1
        best[0][:, :], best[1][:, :] = place, start
    if min(kept, value) > cost * (1.0 + rel_tol):
        slot = (
            LEAST_SETTLED if hard else LEAST_UNSETTLED
        )  # under "penalty" the repair is not always the best with this order
        scal[slot] = min(scal[slot], cost)
    return upper


@numba.njit(cache=True, nogil=True)
def _search(
    tables,
    n_srv,
    hard,
    beta,
    rel_tol,
    use_memo,
    with_budgets,
    relax,
    chunk,
    state,
    best,
    stack,
    undo,
    memo,
    scal,
    ints,
    priced,
    leaf,
):  # pragma: no cover
    """Run the search for ``chunk`` nodes from the state in the arrays (changed in place).
    scal and ints: the slots named UPPER .. LEAST_UNSETTLED and DEPTH .. OVER (module constants);
    leaf = the resources' first free times and work arrays for :func:`_repair`.
    Returns True when the search is finished."""
    _, trans, _, _, _, dev, nblk, _, _, budget, need, _ = tables
    free, nxt, last_loc, last_end, spent, place, start = state
    ck, cj, ckey, ncand, idx, lbs = stack
    mkey = memo.key
    total_ops = ck.shape[0] - 1
    bits = 0
    while (1 << (bits + 1)) <= mkey.shape[0]:
        bits += 1
    upper, tstar, cost = scal[UPPER], scal[TSTAR], scal[COST]
    depth, nodes = ints[DEPTH], ints[NODES]
    cur, nxt_c = np.empty(trans.shape[2]), np.empty(trans.shape[2])
    expand = ints[STARTED] == 0  # a fresh search expands its root first
    ints[STARTED] = 1
    while True:
        if expand:
            nodes += 1
            lb = _bound(tables, n_srv, hard, rel_tol, free, nxt, last_loc, last_end, tstar, cost, cur, nxt_c)
            if priced[0].size > 0 and depth > 0:  # its parent priced it
                lb = max(lb, ckey[depth - 1, idx[depth - 1] - 1])
            elif priced[0].size > 0 and lb < upper:
                lb = max(
                    lb,
                    priced_bound_kernel(
                        *priced,
                        trans,
                        dev,
                        nblk,
                        n_srv,
                        free,
                        nxt,
                        last_loc,
                        last_end,  # type: ignore[call-arg]
                        tstar,
                        cost,
                    ),
                )
            lbs[depth] = lb
            ncand[depth], idx[depth] = 0, 0
            if lb >= upper * (1.0 - 1e-12) or (
                with_budgets and _energy_short(spent, budget, need, nxt, last_loc, dev, nblk, rel_tol)
            ):
                pass
            elif depth == total_ops and ints[OVER] == 0:
                upper = cost
                ints[FOUND] = 1
                best[0][:, :], best[1][:, :] = place, start
            elif depth == total_ops:  # blocks over their deadline: the least schedule that keeps them
                upper = _broken_leaf(
                    tables, n_srv, hard, beta, rel_tol, cost, upper, state, best, ck, idx, scal, ints, leaf
                )
            elif (
                use_memo
                and depth > 0
                and _dominated(
                    memo.nxt,
                    free,
                    memo.last_end,
                    memo.last_loc,
                    spent,
                    _canonical(
                        nxt,
                        last_end,
                        last_loc,
                        cost,
                        tables.rel,
                        nblk,
                        memo.twin,
                        memo.nxt,
                        memo.last_end,
                        memo.last_loc,
                    ),
                    tstar,
                    trans,  # type: ignore[call-arg]
                    nblk,
                    with_budgets,
                    relax,
                    memo.key,
                    memo.cost,
                    memo.tstar,
                    memo.free,
                    memo.end,
                    memo.loc,
                    memo.spent,
                    memo.next_way,
                    bits,
                )
            ):
                ints[DROPPED] += 1
            else:
                ncand[depth] = _children(
                    tables, n_srv, free, nxt, last_loc, last_end, tstar, cost, upper, priced, ck, cj, ckey, depth
                )
        expand = True
        if nodes >= ints[NODES] + chunk:
            break
        while idx[depth] >= ncand[depth] and depth > 0:  # backtrack to a node with children left
            depth -= 1
            tstar, cost = _unplace(
                tables, n_srv, ck[depth, idx[depth] - 1], cj[depth, idx[depth] - 1], depth, state, undo, ints[OVER:]
            )
        if idx[depth] >= ncand[depth]:
            ints[FINISHED] = 1
            break
        c = idx[depth]
        idx[depth] += 1
        tstar, cost = _place(
            tables,
            n_srv,
            hard,
            beta,
            rel_tol,
            relax,
            ck[depth, c],
            cj[depth, c],
            depth,
            state,
            undo,
            tstar,
            cost,
            ints[OVER:],
        )
        depth += 1
    scal[UPPER], scal[TSTAR], scal[COST] = upper, tstar, cost
    ints[DEPTH], ints[NODES] = depth, nodes
    return ints[FINISHED] == 1


def _energy_to_go(packed: PackedScenario) -> np.ndarray:
    """need[k, m, i]: the least device energy (J) of task k's blocks m.. when block m - 1 ran on i."""
    k_tasks, m_max, locs = packed.dur.shape
    need = np.zeros((k_tasks, m_max + 1, locs))
    for k in range(k_tasks):
        for m in range(packed.nblk[k] - 1, -1, -1):
            need[k, m] = (packed.energy[k, m] + need[k, m + 1][None, :]).min(axis=1)
    return need


class _Search:
    """The search's state, kept between chunks of nodes (see :func:`_search`)."""

    def __init__(
        self,
        scenario: Scenario,
        objective: Objective,
        upper: float,
        memo: bool,
        with_budgets: bool,
        priced: CompletionTables | None = None,
        relax: bool = False,
    ):
        p = self.packed = PackedScenario(scenario)
        k_tasks, m_max, locs = p.dur.shape
        ops, n_dev = int(p.nblk.sum()), len(scenario.devices)
        n_res = scenario.num_servers + n_dev
        self.tables = Tables(
            p.dur,
            p.trans,
            p.energy,
            p.ret,
            p.rel,
            p.dev,
            p.nblk,
            p.tau,
            p.task_tau,
            p.budget,
            _energy_to_go(p),
            np.cumsum(p.tau, axis=1),
        )
        self.options = Options(
            scenario.num_servers,
            objective.kind == "hard",
            float(objective.beta),
            REL_TOL,
            memo,
            with_budgets,
            relax,
        )
        free0 = p.resource_free0
        self.state = State(
            free0.copy(),
            np.zeros(k_tasks, np.int64),
            np.zeros(k_tasks, np.int64),
            p.rel.copy(),
            np.zeros(n_dev),
            np.zeros((k_tasks, m_max), np.int64),
            np.zeros((k_tasks, m_max)),
        )
        self.best_found = (np.zeros((k_tasks, m_max), np.int64), np.zeros((k_tasks, m_max)))
        self.stack = Stack.empty(ops, k_tasks * locs)
        self.undo = Undo.empty(ops)
        self.leaf = Leaf(
            free0,
            np.zeros(ops, np.int64),
            np.zeros((k_tasks, m_max)),
            np.zeros((k_tasks, m_max)),
            np.zeros((k_tasks, m_max)),
        )
        self.memo = Memo.empty(
            k_tasks, n_res, n_dev, _memo_slots(k_tasks, n_res, n_dev, ops) if memo else 16, twin_groups(p, relax)
        )
        self.scal = np.array([upper, -np.inf, 0.0, np.inf, np.inf])  # UPPER .. LEAST_UNSETTLED
        self.ints = np.zeros(7, np.int64)  # DEPTH .. OVER
        self.priced = (
            (np.zeros((0, 0, 0, 1)), np.zeros(0, np.int64), np.zeros((0, 1)), 1, 1.0)
            if priced is None
            else priced.kernel_args()
        )

    def run(self, nodes: int) -> bool:
        """Search ``nodes`` more nodes; True when the search is finished."""
        return bool(
            _search(
                self.tables,
                *self.options,
                int(nodes),
                self.state,
                self.best_found,
                self.stack,
                self.undo,
                self.memo,
                self.scal,
                self.ints,
                self.priced,
                self.leaf,
            )
        )

    @property
    def found(self) -> bool:
        return bool(self.ints[FOUND])

    @property
    def nodes(self) -> int:
        return int(self.ints[NODES])

    @property
    def dropped(self) -> int:
        return int(self.ints[DROPPED])

    @property
    def least_broken(self) -> float:
        """The least cost (s) of a leaf whose block deadlines could not be kept at that cost (its
        deadlines left out); inf when none was met. Under "hard" with no node dropped by dominance
        every leaf stood for itself alone, and a settled repair is the best schedule with its order
        on every resource (:func:`_repair`): such leaves bound nothing more and are left out."""
        settled = math.inf if self.options.hard and self.dropped == 0 else float(self.scal[LEAST_SETTLED])
        return min(settled, float(self.scal[LEAST_UNSETTLED]))

    def best(self) -> tuple[list, list]:
        """The best schedule found (placement, start_s)."""
        return self.packed.rows(self.best_found[0]), self.packed.rows(self.best_found[1])

    def report(self, objective: Objective, known, lower: float) -> None:
        """Report the incumbent and a valid bound to the CLI's live line, if it watches: ``lower``
        (s), raised to the tree's open bound."""
        if is_watched():
            value = min(objective.value(known), float(self.scal[UPPER]))
            report_search("shared-bnb", value, max(lower, self.open_bound()))

    def open_bound(self) -> float:
        """The least bound of the nodes left open (s); the incumbent's value when none is, and
        -inf when the search never started (its root is open, its stack still empty)."""
        if not self.ints[STARTED]:
            return -math.inf
        ncand, idx, lbs = self.stack.children, self.stack.tried, self.stack.bound
        depth = int(self.ints[DEPTH])
        open_lbs = [lbs[d] for d in range(depth + 1) if idx[d] < ncand[d]]
        return float(min([self.scal[UPPER], self.least_broken, *open_lbs]))


def _first_incumbent(
    scenario: Scenario, objective: Objective, start: ExactStart, stop: float, seed, incumbent, info: dict
) -> tuple[Any, Any, ScenarioEvaluation]:
    """The search's first incumbent (placement, start_s and its evaluation): the best of the start's
    (earliest-finish), the order search's (a quarter of the time to ``stop``, a perf_counter) and
    ``incumbent``'s, if given. The order search's seconds go to ``info["heuristic_s"]``."""
    heuristic_begin = time.perf_counter()
    heuristic = solve_shared_order_search(
        scenario,
        objective,
        time_limit=max(0.0, (stop - time.perf_counter()) / 4) if math.isfinite(stop) else None,
        seed=0 if seed is None else seed,
    )
    info["heuristic_s"] = time.perf_counter() - heuristic_begin
    candidates: list = [start.incumbent] + (
        [] if heuristic.placement is None else [(heuristic.placement, heuristic.start_s)]
    )
    if incumbent is not None:
        if not isinstance(incumbent, (tuple, list)) or len(incumbent) != 2:
            raise ValueError(f"incumbent: must be a (placement, start_s or None) pair, got {incumbent!r}")
        candidates.append(tuple(incumbent))
    return best_candidate(scenario, objective, candidates)


def _answer(
    scenario: Scenario,
    objective: Objective,
    start: ExactStart,
    search: _Search,
    finished: bool,
    first: tuple[Any, Any, ScenarioEvaluation],
    tables: CompletionTables | None,
    time_limit: float | None,
    begin: float,
    info: dict,
) -> SolverOutput:
    """The branch and bound's answer once its search stopped (``finished`` or out of time): the
    better of its schedule and the ``first`` incumbent (placement, start_s, evaluation), proven
    when the search finished, is trusted and left no leaf bound below it; else with the best
    bound at hand (the open nodes', the work relaxation's in its share, the chain-schedule LP's)."""
    stop = math.inf if time_limit is None else begin + float(time_limit)
    placement, start_s, known = first
    upper = objective.value(known)
    trusted = True  # the search pruned by its own incumbent: a proof stands only if evaluate agrees with it
    if search.found:
        found = best_candidate(scenario, objective, [search.best()])[2]
        trusted = objective.feasible(found) and objective.raw_value(found) <= search.scal[UPPER] * (1 + REL_TOL) + 1e-12
        placement, start_s, known = best_candidate(scenario, objective, [search.best(), (placement, start_s)])
    if finished and not search.found and not objective.feasible(known):
        if math.isfinite(search.least_broken):  # leaves whose deadlines could not be kept: no proof
            return SolverOutput(placement=placement, start_s=start_s, info=info)
        return SolverOutput(placement=None, proven_infeasible=True, info=info)
    value = objective.value(known)
    proven = finished and trusted and not search.least_broken < value * (1 - REL_TOL)
    if not proven:  # the work LP in its share; the chain-schedule LP in what is left
        start = with_work_bound(
            start,
            scenario,
            None
            if time_limit is None
            else max(0.1, min(stop - time.perf_counter(), work_share(scenario) * float(time_limit))),
        )
    if tables is None:
        bound = reported_bound(start, scenario, objective, known, start.lower, proven, time_limit, begin, info)
    else:  # the chain-schedule LP was solved for the prices: its bound is known
        lp_bound = vetted_bound("the chain-schedule LP", tables.lp_bound_s, known)
        bound = start.lower if lp_bound is None else max(start.lower, min(lp_bound, upper))
    bound = max(bound, min(value, search.least_broken) if finished else search.open_bound())
    proven, bound = vetted_answer(
        "shared-bnb", proven, bound, known, objective, [start.known, known], sum(start.bounds)
    )
    if objective.feasible(known):
        bound = min(bound, value)  # the open bound may carry the 1e-12 margin
    return SolverOutput(
        placement=placement,
        start_s=start_s,
        proven_optimal=proven,
        timed_out=not finished,
        lower_bound=bound,
        info=info,
    )


def deadlines_may_bind(scenario: Scenario, upper: float, delay_low: list[float]) -> bool:
    """Whether some block deadline could bind in a solution of objective below ``upper`` (s): a
    block's delay is at most its task's, at most its cap (:func:`delay_caps`)."""
    return any(
        math.isfinite(tau) and not tau > cap
        for tab, cap in zip(scenario.tables, delay_caps(upper, delay_low))
        for tau in tab.deadline
    )


def solve_shared_bnb(
    scenario: Scenario,
    objective: Objective,
    *,
    time_limit=None,
    seed=None,
    memo: bool = True,
    incumbent: tuple | None = None,
    priced: bool = True,
    probe: bool = False,
) -> SolverOutput:
    """Solve ``scenario`` exactly by branch and bound in continuous time (see the module docstring).

    The first incumbent is the best of earliest-finish's and the order search's schedules (seed
    ``seed``, 0 when None; the order search starts from the local search) and
    ``incumbent``, a known solution (placement, start_s or None for FIFO dispatch), e.g. another
    solver's: the better it is, the less there is to search. memo: the dominance table (on by
    default; off only to check that it changes no answer). priced: the priced bound of
    :mod:`partopt.shared.solvers.priced` for 4 to 16 tasks (on by default; off to compare).
    probe: for 4 to 6 tasks, before that bound's LP, a short search without it
    (:data:`PROBE_SHARE` of the time; off by default: on the draws of ``bench/shared_probe.py``
    the LP was quick and the probe cost more than it saved; it pays where the LP is slow).
    """
    run = BranchAndBound(
        scenario,
        objective,
        time_limit=time_limit,
        seed=seed,
        memo=memo,
        incumbent=incumbent,
        priced=priced,
        probe=probe,
    )
    run.advance()
    return run.answer()


class BranchAndBound:
    """One run of the branch and bound (arguments as :func:`solve_shared_bnb`'s) that can pause
    and resume: :meth:`advance` searches until a given time, :meth:`offer` hands it a schedule
    found elsewhere (the incumbent when better: it prunes by it from then on), :meth:`answer`
    ends it. The default solver runs CP-SAT beside it and offers it each CP-SAT round's schedule
    (:mod:`partopt.shared.solvers.portfolio`). Time is counted from construction: the tree stops
    at :attr:`tree_stop`, keeping the rest of ``time_limit`` for the bounds of the answer."""

    #: The search's nodes per second in its last chunk (None before its first).
    _rate: float | None = None

    def __init__(
        self,
        scenario: Scenario,
        objective: Objective,
        *,
        time_limit=None,
        seed=None,
        memo: bool = True,
        incumbent: tuple | None = None,
        priced: bool = True,
        probe: bool = False,
    ):
        self.scenario, self.objective, self.time_limit = scenario, objective, time_limit
        self.begin = time.perf_counter()
        stop = math.inf if time_limit is None else self.begin + float(time_limit)
        self.info: dict = {}
        self.finished = False
        self.search: _Search | None = None
        self.tables: CompletionTables | None = None
        self.tree_stop = stop
        self.early: SolverOutput | None = None
        start = exact_start(scenario, objective, time_limit, work=False)  # the work bound only if the search stops
        if isinstance(start, SolverOutput):
            self.early = start
            return
        self.start = start
        if time.perf_counter() >= stop:
            self.early = incumbent_output(start, self.info)
            return
        reserve = (
            0.0
            if time_limit is None
            else (work_share(scenario) * float(time_limit) + chain_lp_reserve(scenario, time_limit))
        )
        self.first = _first_incumbent(scenario, objective, start, stop, seed, incumbent, self.info)
        known = self.first[2]
        upper = objective.value(known)
        report_search("shared-bnb", upper, start.lower)
        relax = deadlines_may_bind(scenario, upper, start.delay_low)
        with_budgets = any(math.isfinite(d.budget) for d in scenario.devices)
        if priced and scenario.num_tasks in PRICED_TASKS and math.isfinite(upper):
            use_probe = probe and scenario.num_tasks in PROBE_TASKS
            done = self._probe(upper, memo, with_budgets, relax, stop) if use_probe else None
            if done is not None:  # finished without the LP: its time saved
                self.search, self.finished, self.tree_stop = done, True, stop - reserve
                self.info.update(relaxed_deadlines=relax)
                return
            upper = min(upper, objective.value(self.first[2]))
            lp_begin = time.perf_counter()
            self.tables = priced_completions(
                scenario,
                upper,
                start.delay_low,
                self.first[:2],
                None if time_limit is None else PRICED_SHARE * float(time_limit),
            )
            self.info["priced_s"] = time.perf_counter() - lp_begin
            if self.tables is not None:
                reserve = 0.0 if time_limit is None else work_share(scenario) * float(time_limit)
                self.info["priced_root_bound"] = self.tables.root_bound(scenario)
                self.info["priced_slot_s"] = self.tables.coarse_s
        self.tree_stop = stop - reserve
        self.search = _Search(
            scenario,
            objective,
            upper * (1 + 1e-12) if math.isfinite(upper) else math.inf,
            memo,
            with_budgets,
            self.tables,
            relax,
        )
        self.info.update(relaxed_deadlines=relax, tree_s=self.info.get("tree_s", 0.0))

    def _probe(self, upper: float, memo: bool, with_budgets: bool, relax: bool, stop: float) -> _Search | None:
        """The search without the chain-schedule LP's prices, for :data:`PROBE_SHARE` of the time to
        ``stop`` (a perf_counter): finished, it is returned (the LP would only have cost time);
        otherwise None, and what it found better than ``upper`` becomes the first incumbent.
        Its seconds go to ``info["probe_s"]``, its time in its tree to ``info["tree_s"]``."""
        begin = time.perf_counter()
        until = begin + PROBE_SHARE * (stop - begin) if math.isfinite(stop) else begin + PROBE_S
        probe = _Search(self.scenario, self.objective, upper * (1 + 1e-12), memo, with_budgets, None, relax)
        finished = False
        while not finished and time.perf_counter() < until:
            finished = probe.run(PROBE_CHUNK_NODES)
        self.info["probe_s"] = self.info["tree_s"] = time.perf_counter() - begin
        if finished:
            return probe
        if probe.found:
            self.first = best_candidate(self.scenario, self.objective, [self.first[:2], probe.best()])
        return None

    def advance(self, until: float | None = None) -> bool:
        """Search until the search finishes, :attr:`tree_stop` or ``until`` (a
        ``time.perf_counter()``; None: no earlier), whichever comes first; True when finished."""
        if self.search is None or self.finished:
            return self.finished
        stop = self.tree_stop if until is None else min(until, self.tree_stop)
        tree_begin = now = time.perf_counter()
        while not self.finished and now < stop:
            nodes = self.search.nodes
            self.finished = self.search.run(self._chunk(stop - now))
            self.search.report(self.objective, self.first[2], self.start.lower)
            before, now = now, time.perf_counter()
            if now > before:
                self._rate = (self.search.nodes - nodes) / (now - before)
        self.info["tree_s"] += time.perf_counter() - tree_begin
        return self.finished

    def _chunk(self, left_s: float) -> int:
        """Nodes to search before the next look at the clock, ``left_s`` seconds before the stop:
        :data:`CHECK_EVERY_S` (or ``left_s``, if less) at the last chunk's rate, within
        :data:`CHUNK_NODES` (:data:`FIRST_CHUNK_NODES` before a rate is known)."""
        if self._rate is None:
            return FIRST_CHUNK_NODES
        return int(min(CHUNK_NODES, max(1.0, self._rate * min(CHECK_EVERY_S, left_s))))

    def best(self) -> tuple[Any, Any] | None:
        """The best schedule so far (placement, start_s), the search's or the first incumbent's; None
        before there is one."""
        if self.search is None:
            early = self.early
            return None if early is None or early.placement is None else (early.placement, early.start_s)
        candidates = [self.first[:2]] + ([self.search.best()] if self.search.found else [])
        return best_candidate(self.scenario, self.objective, candidates)[:2]

    def offer(self, placement, start_s) -> None:
        """Take ``placement`` and ``start_s`` (a schedule found elsewhere) as the incumbent if it
        beats the current one; the search prunes by its cost from then on (valid: no schedule
        that costs less is cut). Once the search finished it only joins the candidates of the
        answer; a run that ended before its search (:attr:`early`) ignores it."""
        if self.search is None:
            return
        self.first = best_candidate(self.scenario, self.objective, [self.first[:2], (placement, start_s)])
        known, search = self.first[2], self.search
        if not self.objective.feasible(known) or self.finished:
            return
        upper = self.objective.raw_value(known) * (1 + 1e-12)
        if upper < search.scal[UPPER]:
            search.scal[UPPER] = upper
            search.ints[FOUND] = 0  # what it found costs more: only its later finds are its own

    def answer(self) -> SolverOutput:
        """The run's answer (see :func:`_answer`), with its time shares in ``info``."""
        if self.search is None:
            assert self.early is not None
            return self.early
        search = self.search
        self.info.update(nodes=search.nodes, dropped=search.dropped, search_s=time.perf_counter() - self.begin)
        if math.isfinite(search.least_broken):
            self.info["least_broken"] = search.least_broken
        return _answer(
            self.scenario,
            self.objective,
            self.start,
            search,
            self.finished,
            self.first,
            self.tables,
            self.time_limit,
            self.begin,
            self.info,
        )
