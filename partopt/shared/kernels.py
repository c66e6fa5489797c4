"""Compiled loops (Numba) of the shared edge: the local search's pricing of placements under
FIFO dispatch (:class:`FifoScorer`) or as list schedules in a fixed task order
(:class:`AppendScorer`), and the earliest-finish list schedules, priced or not
(:class:`ListScheduler`). Loaded on a solver's first call; machine code cached on disk.
"""

from __future__ import annotations

import functools
import heapq
import math

import numba
import numpy as np

from partopt.formulas import REL_TOL
from partopt.shared.evaluation import ScheduleSummary


@numba.njit(cache=True, nogil=True)
def _budgets_kept(spent, budget, rel_tol):  # pragma: no cover
    """Whether every device's energy ``spent`` is within its budget (J)."""
    for d in range(budget.size):  # noqa: SIM110 - a Numba kernel: no generator expressions
        if spent[d] > budget[d] * (1.0 + rel_tol):
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _fifo_run(
    dur,
    trans,
    ret,
    rel,
    dev,
    nblk,
    tau,
    task_tau,
    energy,
    budget,
    placement,
    rel_tol,
    free,
    prev_end,
    nxt,
    spent,
    acc,
    count,
    stride,
    record,
    pop_ready,
    pop_k,
    pop_m,
    pos,
    ends,
    snap_free,
    snap_prev_end,
    snap_nxt,
    snap_spent,
    snap_acc,
):  # pragma: no cover
    """FIFO dispatch from a state: resources' free times ``free`` (the servers, then the devices'
    CPUs), each task's last end ``prev_end`` and next block ``nxt``, devices' energy ``spent``,
    ``acc`` = (total, psi, deadlines kept) of the blocks done, ``count`` blocks dispatched.
    With ``record``, the dispatch order (pop_*, pos), the blocks' ends and the state before
    every ``stride``-th dispatch (snap_*) are kept, so a run can restart from there. The
    state arrays are changed. Returns the summary and the count after the last dispatch."""
    k_tasks = dur.shape[0]
    heap = [(0.0, 0, 0)]
    heap.pop()
    for k in range(k_tasks):
        b = nxt[k]
        if b < nblk[k]:
            before = 0 if b == 0 else placement[k, b - 1]
            heap.append((prev_end[k] + trans[k, b, before, placement[k, b]], k, b))
    heapq.heapify(heap)
    n_srv = free.size - budget.size
    total, psi, deadlines_ok = acc[0], acc[1], acc[2] > 0.5
    while len(heap) > 0:
        if record and count % stride == 0:
            s = count // stride
            snap_free[s], snap_prev_end[s], snap_nxt[s], snap_spent[s] = free, prev_end, nxt, spent
            snap_acc[s, 0], snap_acc[s, 1], snap_acc[s, 2] = total, psi, 1.0 if deadlines_ok else 0.0
        ready, k, m = heapq.heappop(heap)
        if record:
            pop_ready[count], pop_k[count], pop_m[count], pos[k, m] = ready, k, m, count
        count += 1
        loc = placement[k, m]
        res = loc - 1 if loc > 0 else n_srv + dev[k]
        begin = max(ready, free[res])
        end = begin + dur[k, m, loc]
        free[res] = end
        if record:
            ends[k, m] = end
        block = end - prev_end[k]
        spent[dev[k]] += energy[k, m, 0 if m == 0 else placement[k, m - 1], loc]
        prev_end[k] = end
        nxt[k] = m + 1
        if m == nblk[k] - 1:
            block += ret[k, loc]
            d_k = end + ret[k, loc] - rel[k]
            total += d_k
            psi += max(d_k - task_tau[k], 0.0)
            if d_k > task_tau[k] * (1.0 + rel_tol):
                deadlines_ok = False
        else:
            heapq.heappush(heap, (end + trans[k, m + 1, loc, placement[k, m + 1]], k, m + 1))
        psi += max(block - tau[k, m], 0.0)
        if block > tau[k, m] * (1.0 + rel_tol):
            deadlines_ok = False
    return deadlines_ok, _budgets_kept(spent, budget, rel_tol), total, psi, count


@numba.njit(cache=True, nogil=True)
def _first_change(pop_ready, pop_k, pop_m, pos, ready, k, m):  # pragma: no cover
    """The first dispatch that can differ when block (k, m) becomes ready at ``ready`` instead:
    the earlier of its old place and the first dispatch of a key above its new one (the
    dispatch order is sorted by (ready, task, block))."""
    lo, hi = 0, pos[k, m]
    while lo < hi:
        mid = (lo + hi) // 2
        r = pop_ready[mid]
        if r < ready or (r == ready and (pop_k[mid] < k or (pop_k[mid] == k and pop_m[mid] < m))):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _per_task(table: str, doc: str) -> functools.cached_property:
    """A per-task array of a :class:`PackedScenario`, made from its distinct ``table`` on first use."""

    def view(self) -> np.ndarray:
        return getattr(self, table)[self.table_of]

    view.__doc__ = doc
    return functools.cached_property(view)


class PackedScenario:
    """One scenario's tables packed into arrays once, for the compiled loops below: durations
    (K, max M, L), transfers and energies (K, max M, L, L), returns (K, L), releases, devices,
    block counts, block and task deadlines, budgets and server availabilities."""

    def __init__(self, scenario):
        tables = scenario.tables
        k_tasks, locs = scenario.num_tasks, scenario.num_servers + 1
        m_max = max(scenario.block_counts)
        self.nblk = np.array(scenario.block_counts, dtype=np.int64)
        # tasks of one device and model share their tables: each distinct one is packed once, and
        # the per-task arrays below are made from them only when a loop asks for them
        distinct: dict[int, int] = {}
        self.table_of = np.array([distinct.setdefault(id(tab), len(distinct)) for tab in tables], dtype=np.int64)
        first = {i: tab for tab, i in zip(tables, self.table_of.tolist())}
        self.t_dur = np.zeros((len(first), m_max, locs))
        self.t_trans = np.zeros((len(first), m_max, locs, locs))
        self.t_energy = np.zeros((len(first), m_max, locs, locs))
        self.t_tau = np.full((len(first), m_max), np.inf)
        self.t_ret = np.zeros((len(first), locs))
        for i, tab in first.items():
            m = len(tab.duration)
            self.t_dur[i, :m], self.t_trans[i, :m] = tab.duration, tab.transfer
            self.t_energy[i, :m], self.t_tau[i, :m], self.t_ret[i] = tab.energy, tab.deadline, tab.return_s
        self.rel = np.array([t.release_s for t in scenario.tasks], dtype=float)
        self.dev = np.array([t.device for t in scenario.tasks], dtype=np.int64)
        self.task_tau = np.array([np.inf if t.deadline_s is None else t.deadline_s for t in scenario.tasks])
        self.budget = np.array([d.budget for d in scenario.devices], dtype=float)
        self.free0 = np.array([s.available_s for s in scenario.servers], dtype=float)
        self.placement = np.zeros((k_tasks, m_max), dtype=np.int64)  # the packed layout

    dur = _per_task("t_dur", "Each task's block durations (K, max M, L), s.")
    trans = _per_task("t_trans", "Each task's transfer times into each block (K, max M, L, L), s.")
    energy = _per_task("t_energy", "Each task's device energy of each block (K, max M, L, L), J.")
    tau = _per_task("t_tau", "Each task's block deadlines (K, max M), s (inf for none and past its blocks).")
    ret = _per_task("t_ret", "Each task's return time from each location (K, L), s.")

    @property
    def resource_free0(self) -> np.ndarray:
        """When each resource is first free (s): the servers from their ``available_s``, then the
        devices' CPUs from 0."""
        return np.concatenate([self.free0, np.zeros(self.budget.size)])

    def packed(self, placement, dtype=np.int64) -> np.ndarray:
        """``placement`` (one row a task) as the (K, max M) array the loops take (of ``dtype``:
        float for start times)."""
        out = np.zeros(self.placement.shape, dtype=dtype)
        for k, row in enumerate(placement):
            out[k, : len(row)] = row
        return out

    def rows(self, packed: np.ndarray) -> list[list]:
        """A packed (K, max M) array back as one list a task (ints or floats)."""
        rows = packed.tolist()
        for k in np.flatnonzero(self.nblk < packed.shape[1]).tolist():  # shorter chains: their own blocks only
            rows[k] = rows[k][: self.nblk[k]]
        return rows


class _MoveScorer(PackedScenario):
    """What the local search's two pricings share: :meth:`score` prices a placement,
    :meth:`trace` prices one and records the states a run can restart from, and
    :meth:`score_move` prices the traced placement with one block moved, restarting from
    the last recorded state the move cannot change. ``dispatched`` counts the blocks
    scheduled by all calls: a measure of the work done that does not depend on the machine.
    A subclass gives :meth:`_run` (from the start, or from recorded state ``restart``) and
    :meth:`_restart`."""

    def __init__(self, scenario):
        super().__init__(scenario)
        self.traced: np.ndarray | None = None
        self.dispatched = 0  #: blocks scheduled by every call so far: the work done

    def _run(self, packed: np.ndarray, record: bool, restart: int | None = None) -> ScheduleSummary:
        raise NotImplementedError

    def _initial(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The state before anything runs: free times (the servers from their availability, then
        the devices' CPUs), the devices' energy spent, and (total, psi, deadlines kept)."""
        return (
            self.resource_free0,
            np.zeros(self.budget.size),
            np.array([0.0, 0.0, 1.0]),
        )

    def _restart(self, k: int, m: int, loc: int) -> int:
        """The recorded state a run of the traced placement with block (k, m) on ``loc`` restarts from."""
        raise NotImplementedError

    def score(self, placement) -> ScheduleSummary:
        """The schedule of ``placement`` summed up: one row a task, or the array of :meth:`packed`."""
        packed = placement if isinstance(placement, np.ndarray) else self.packed(placement)
        return self._run(packed, record=False)

    def trace(self, packed: np.ndarray) -> ScheduleSummary:
        """:meth:`score` of the packed placement, recording its run for :meth:`score_move`
        (which then expects ``packed`` to hold this placement between calls)."""
        self.traced = packed
        return self._run(packed, record=True)

    def score_move(self, k: int, m: int, loc: int) -> ScheduleSummary:
        """:meth:`score` of the traced placement with block (k, m) on ``loc`` (the placement is
        restored before returning)."""
        packed = self.traced
        if packed is None:
            raise RuntimeError("score_move: trace a placement first")
        restart, here = self._restart(k, m, loc), int(packed[k, m])
        packed[k, m] = loc
        try:
            return self._run(packed, record=False, restart=restart)
        finally:
            packed[k, m] = here


class FifoScorer(_MoveScorer):
    """Prices placements of one scenario under FIFO dispatch in compiled code, for search loops:
    ``score(placement)`` gives a :class:`partopt.shared.evaluation.ScheduleSummary` (deadlines met, budgets
    kept, sum of D_k (s), psi (s)), the figures :func:`partopt.shared.evaluation.evaluate_scenario`
    reports for the same placement (a test checks that they agree), for an
    :class:`partopt.objective.Objective` to judge.

    For a search that moves one block at a time, :meth:`trace` records a placement's dispatch
    and :meth:`score_move` prices one move from it by dispatching again only from the last
    recorded state before the first dispatch the move can change (every ``stride`` blocks a
    state is kept), as :meth:`score` would price the moved placement."""

    def __init__(self, scenario, stride: int = 16):
        super().__init__(scenario)
        k_tasks, res = self.dur.shape[0], self.free0.size + self.budget.size
        events = int(self.nblk.sum())
        snaps = events // stride + 1
        self.stride = stride
        self.pop_ready = np.empty(events)
        self.pop_k, self.pop_m = np.empty(events, np.int64), np.empty(events, np.int64)
        self.pos = np.zeros(self.placement.shape, dtype=np.int64)
        self.ends = np.zeros(self.placement.shape)
        self.snap_free, self.snap_prev_end = np.empty((snaps, res)), np.empty((snaps, k_tasks))
        self.snap_nxt = np.empty((snaps, k_tasks), dtype=np.int64)
        self.snap_spent, self.snap_acc = np.empty((snaps, self.budget.size)), np.empty((snaps, 3))

    def _run(self, packed: np.ndarray, record: bool, restart: int | None = None) -> ScheduleSummary:
        if restart is None:  # from the start
            (free, spent, acc), count = self._initial(), 0
            prev_end, nxt = self.rel.copy(), np.zeros(self.rel.size, dtype=np.int64)
        else:
            free, prev_end = self.snap_free[restart].copy(), self.snap_prev_end[restart].copy()
            nxt, spent = self.snap_nxt[restart].copy(), self.snap_spent[restart].copy()
            acc, count = self.snap_acc[restart].copy(), restart * self.stride
        ok, kept, total, psi, end = _fifo_run(
            self.dur,
            self.trans,
            self.ret,
            self.rel,
            self.dev,
            self.nblk,
            self.tau,
            self.task_tau,
            self.energy,
            self.budget,
            packed,
            REL_TOL,
            free,
            prev_end,
            nxt,
            spent,
            acc,
            count,
            self.stride,
            record,
            self.pop_ready,
            self.pop_k,
            self.pop_m,
            self.pos,
            self.ends,
            self.snap_free,
            self.snap_prev_end,
            self.snap_nxt,
            self.snap_spent,
            self.snap_acc,
        )
        self.dispatched += end - count
        return ScheduleSummary(bool(ok), bool(kept), float(total), float(psi))

    def _restart(self, k: int, m: int, loc: int) -> int:
        """The state recorded before the first dispatch block (k, m) on ``loc`` can change."""
        packed = self.traced
        assert packed is not None
        before = 0 if m == 0 else int(packed[k, m - 1])
        ready = (self.rel[k] if m == 0 else self.ends[k, m - 1]) + self.trans[k, m, before, loc]
        return _first_change(self.pop_ready, self.pop_k, self.pop_m, self.pos, ready, k, m) // self.stride


@numba.njit(cache=True, nogil=True)
def _chain_dp(dur, trans, ret, tau, nblk, release, avail, price, keep, rel_tol, fin, chg, par, row):  # pragma: no cover
    """The earliest-finish DP of one chain (:func:`partopt.shared.solvers.common.earliest_finish_chain`,
    loop for loop) into ``row``; False when no placement is left."""
    locs = avail.size
    inf = np.inf
    for m in range(nblk):
        last = m == nblk - 1
        for j in range(locs):
            best, arg, best_end = inf, 0, inf
            extra = price[j] * dur[m, j]
            for i in range(locs):
                if m == 0:
                    if i != 0:
                        continue
                    prev, before = release, 0.0
                else:
                    prev, before = fin[m - 1, i], chg[m - 1, i]
                if prev == inf:
                    continue
                end = max(prev + trans[m, i, j], avail[j]) + dur[m, j]
                if keep and end + (ret[j] if last else 0.0) - prev > tau[m] * (1.0 + rel_tol):
                    continue
                if end + before < best:
                    best, arg, best_end = end + before, i, end
            fin[m, j], par[m, j] = best_end, arg
            chg[m, j] = (0.0 if m == 0 else chg[m - 1, arg]) + extra
    j, least = 0, inf
    for loc in range(locs):
        total = fin[nblk - 1, loc] + ret[loc] + chg[nblk - 1, loc]
        if total < least:
            j, least = loc, total
    if least == inf:
        return False
    for m in range(nblk - 1, -1, -1):
        row[m] = j
        j = par[m, j]
    return True


@numba.njit(cache=True, nogil=True)
def _prices(static_k, fastest_k, release, avail, w1, b1, w2, b2, scale, price):  # pragma: no cover
    """The learned price of every location for one task into ``price``: the network on the
    task's static features with columns 2 and 3 (queue, mean server queue) from ``avail``."""
    locs = avail.size
    n_feat, hidden = w1.shape
    feats = np.empty(n_feat)
    mean_queue = 0.0
    for j in range(1, locs):
        mean_queue += max(avail[j] - release, 0.0) / fastest_k
    mean_queue /= locs - 1
    for j in range(locs):
        feats[:] = static_k[j]
        feats[2] = max(avail[j] - release, 0.0) / fastest_k
        feats[3] = mean_queue
        z = b2
        for h in range(hidden):
            a = b1[h]
            for c in range(n_feat):
                a += feats[c] * w1[c, h]
            z += np.tanh(a) * w2[h]
        price[j] = scale * (max(z, 0.0) + np.log1p(np.exp(-abs(z))))  # softplus


@numba.njit(cache=True, nogil=True)
def _list_schedule(
    table,
    dur,
    trans,
    ret,
    rel,
    dev,
    nblk,
    tau,
    task_tau,
    energy,
    budget,
    free0,
    order,
    static,
    fastest,
    w1,
    b1,
    w2,
    b2,
    scale,
    keep,
    rel_tol,
    placement,
    start,
):  # pragma: no cover
    k_tasks, (_, m_max, locs) = rel.size, dur.shape
    n_srv = free0.size
    free = np.empty(n_srv + budget.size)  # the servers, then the devices' CPUs
    free[:n_srv] = free0
    free[n_srv:] = 0.0
    spent = np.zeros(budget.size)
    fin, chg = np.empty((m_max, locs)), np.empty((m_max, locs))
    par = np.zeros((m_max, locs), dtype=np.int64)
    avail, price = np.empty(locs), np.zeros(locs)
    acc = np.array([0.0, 0.0, 1.0])  # total, psi, deadlines kept so far
    snap_free, snap_spent = np.empty((k_tasks, free.size)), np.empty((k_tasks, budget.size))
    snap_acc = np.empty((k_tasks, 3))
    ok, kept, total, psi = True, True, 0.0, 0.0
    for idx in range(k_tasks):
        k = order[idx]
        avail[0] = free[n_srv + dev[k]]
        avail[1:] = free[:n_srv]
        if scale != 0.0:
            _prices(static[k], fastest[k], rel[k], avail, w1, b1, w2, b2, scale, price)
        if not _chain_dp(  # noqa: SIM102 - two calls, the second only when the first finds nothing
            dur[table[k]],
            trans[table[k]],
            ret[table[k]],
            tau[table[k]],
            nblk[k],
            rel[k],
            avail,
            price,
            keep,
            rel_tol,
            fin,
            chg,
            par,
            placement[k],
        ):
            # No move keeps the deadlines: the fastest placement anyway.
            if not _chain_dp(
                dur[table[k]],
                trans[table[k]],
                ret[table[k]],
                tau[table[k]],
                nblk[k],
                rel[k],
                avail,
                price,
                False,
                rel_tol,
                fin,
                chg,
                par,
                placement[k],
            ):
                return False, False, np.inf, np.inf
        ok, kept, total, psi, _ = _append_run(
            table,
            dur,
            trans,
            ret,
            rel,
            dev,
            nblk,
            tau,
            task_tau,
            energy,
            budget,
            order,
            placement,
            rel_tol,
            idx,
            idx + 1,
            free,
            spent,
            acc,
            True,
            snap_free,
            snap_spent,
            snap_acc,
            start,
        )
        acc[0], acc[1], acc[2] = total, psi, 1.0 if ok else 0.0
    return ok, kept, total, psi


class ListScheduler(PackedScenario):
    """Builds earliest-finish list schedules of one scenario in compiled code: tasks in a given
    order, each placed by the (optionally priced) earliest-finish DP against the times at
    which every resource becomes free and appended there
    (:func:`partopt.shared.solvers.heuristics.earliest_finish_schedule` calls it; the learned
    dispatch passes its network's weights). A test checks it against the Python DP."""

    def schedule(
        self,
        order,
        keep_deadlines: bool,
        static: np.ndarray | None = None,
        fastest: np.ndarray | None = None,
        weights: tuple | None = None,
        scale: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray, ScheduleSummary]:
        """(placement, start times (s), summary) of the list schedule in ``order`` (task indices),
        placement and start times as packed (K, max M) arrays (:meth:`rows` lists them by task).

        keep_deadlines: drop moves that break a block deadline (a task left without one takes
        its fastest placement). Prices: with ``weights`` (w1 (F, H), b1 (H,), w2 (H,), b2) and
        ``scale`` != 0, each location j of task k is charged ``scale`` x softplus(tanh(f_j w1 +
        b1) w2 + b2) per second of work, f_j being ``static[k, j]`` (K, L, F) with columns 2
        and 3 replaced by j's queue and the servers' mean queue over ``fastest[k]`` (s), as in
        :func:`partopt.learned.dispatch.dispatch_features`.
        """
        k_tasks, locs = self.rel.size, self.t_dur.shape[2]
        if weights is None or scale == 0.0:
            w1, b1, w2, b2 = np.zeros((4, 1)), np.zeros(1), np.zeros(1), 0.0
            static, fastest, scale = np.zeros((k_tasks, locs, 4)), np.ones(k_tasks), 0.0
        else:
            w1, b1, w2 = (np.ascontiguousarray(w, dtype=np.float64) for w in weights[:3])
            b2 = float(weights[3])
        placement, start = np.zeros_like(self.placement), np.zeros(self.placement.shape)
        ok, kept, total, psi = _list_schedule(
            self.table_of,
            self.t_dur,
            self.t_trans,
            self.t_ret,
            self.rel,
            self.dev,
            self.nblk,
            self.t_tau,
            self.task_tau,
            self.t_energy,
            self.budget,
            self.free0,
            np.asarray(order, dtype=np.int64),
            np.ascontiguousarray(static),
            np.asarray(fastest, dtype=np.float64),
            w1,
            b1,
            w2,
            b2,
            float(scale),
            bool(keep_deadlines),
            REL_TOL,
            placement,
            start,
        )
        if not math.isfinite(total):
            raise RuntimeError("earliest-finish found no placement for a task")
        return placement, start, ScheduleSummary(bool(ok), bool(kept), float(total), float(psi))


@numba.njit(cache=True, nogil=True)
def _append_run(
    table,
    dur,
    trans,
    ret,
    rel,
    dev,
    nblk,
    tau,
    task_tau,
    energy,
    budget,
    order,
    placement,
    rel_tol,
    first,
    stop,
    free,
    spent,
    acc,
    record,
    snap_free,
    snap_spent,
    snap_acc,
    start,
):  # pragma: no cover
    """The list schedule of fixed placements: tasks ``order[first:stop]`` one after another, each
    block at the later of its input's arrival and its resource's free time (``free``: the
    servers, then the devices' CPUs), from the state ``free``, ``spent``, ``acc`` = (total,
    psi, deadlines kept) of the tasks before. With ``record``, the state before every task
    and the start times are kept. The tables are per distinct table (``table[k]``: task k's).
    Returns the summary and the blocks scheduled."""
    n_srv = free.size - budget.size
    total, psi, deadlines_ok = acc[0], acc[1], acc[2] > 0.5
    blocks = 0
    for idx in range(first, stop):
        if record:
            snap_free[idx], snap_spent[idx] = free, spent
            snap_acc[idx, 0], snap_acc[idx, 1], snap_acc[idx, 2] = total, psi, 1.0 if deadlines_ok else 0.0
        k = order[idx]
        t = table[k]
        prev_loc, prev_end = 0, rel[k]
        for m in range(nblk[k]):
            loc = placement[k, m]
            res = n_srv + dev[k] if loc == 0 else loc - 1
            begin = max(prev_end + trans[t, m, prev_loc, loc], free[res])
            end = begin + dur[t, m, loc]
            if record:
                start[k, m] = begin
            block = end - prev_end + (ret[t, loc] if m == nblk[k] - 1 else 0.0)
            psi += max(block - tau[t, m], 0.0)
            deadlines_ok = deadlines_ok and block <= tau[t, m] * (1.0 + rel_tol)
            spent[dev[k]] += energy[t, m, 0 if m == 0 else placement[k, m - 1], loc]
            free[res] = end
            prev_loc, prev_end = loc, end
        blocks += nblk[k]
        d_k = prev_end + ret[t, prev_loc] - rel[k]
        total += d_k
        psi += max(d_k - task_tau[k], 0.0)
        deadlines_ok = deadlines_ok and d_k <= task_tau[k] * (1.0 + rel_tol)
    return deadlines_ok, _budgets_kept(spent, budget, rel_tol), total, psi, blocks


class AppendScorer(_MoveScorer):
    """Prices placements of one scenario as list schedules in a fixed task ``order``: each task's
    blocks appended, one after another, to the resources' queues (the schedule
    earliest-finish and the learned dispatch build, with their placements; a test checks it
    against :func:`partopt.shared.evaluation.evaluate_scenario`). :meth:`score_move` schedules again
    only from the moved task on; :meth:`start_times` gives the traced schedule."""

    def __init__(self, scenario, order):
        super().__init__(scenario)
        self.order = np.asarray(order, dtype=np.int64)
        if sorted(self.order.tolist()) != list(range(scenario.num_tasks)):
            raise ValueError("order: must hold every task index once")
        self.position = np.empty_like(self.order)
        self.position[self.order] = np.arange(self.order.size)
        k_tasks, res = self.order.size, self.free0.size + self.budget.size
        self.snap_free, self.snap_spent = np.empty((k_tasks, res)), np.empty((k_tasks, self.budget.size))
        self.snap_acc = np.empty((k_tasks, 3))
        self.start = np.zeros(self.placement.shape)

    def _run(self, packed: np.ndarray, record: bool, restart: int | None = None) -> ScheduleSummary:
        if restart is None:  # from the start
            (free, spent, acc), first = self._initial(), 0
        else:
            first, free = restart, self.snap_free[restart].copy()
            spent, acc = self.snap_spent[restart].copy(), self.snap_acc[restart].copy()
        ok, kept, total, psi, blocks = _append_run(
            self.table_of,
            self.t_dur,
            self.t_trans,
            self.t_ret,
            self.rel,
            self.dev,
            self.nblk,
            self.t_tau,
            self.task_tau,
            self.t_energy,
            self.budget,
            self.order,
            packed,
            REL_TOL,
            first,
            self.order.size,
            free,
            spent,
            acc,
            record,
            self.snap_free,
            self.snap_spent,
            self.snap_acc,
            self.start,
        )
        self.dispatched += blocks
        return ScheduleSummary(bool(ok), bool(kept), float(total), float(psi))

    def _restart(self, k: int, m: int, loc: int) -> int:
        """The state recorded before task k: the tasks before it in the order are unchanged."""
        return int(self.position[k])

    def start_times(self) -> list[list[float]]:
        """The start times (s) of the last traced placement."""
        return self.rows(self.start)


@numba.njit(cache=True, nogil=True)
def _sequence_run(
    dur, trans, ret, rel, dev, nblk, tau, task_tau, energy, budget, free0, sequence, placement, rel_tol, start
):  # pragma: no cover
    """The semi-active schedule of a block sequence: ``sequence`` holds every task index once per
    block, its j-th occurrence of k standing for block j of k; each block, in sequence order, starts
    at the later of its input's arrival and its resource's free time. Returns the summary."""
    k_tasks = nblk.size
    n_srv = free0.size
    free = np.empty(n_srv + budget.size)
    free[:n_srv] = free0
    free[n_srv:] = 0.0
    spent = np.zeros(budget.size)
    nxt = np.zeros(k_tasks, dtype=np.int64)
    prev_loc = np.zeros(k_tasks, dtype=np.int64)
    prev_end = rel.copy()
    total, psi, deadlines_ok = 0.0, 0.0, True
    for idx in range(sequence.size):
        k = sequence[idx]
        m = nxt[k]
        nxt[k] = m + 1
        loc = placement[k, m]
        res = n_srv + dev[k] if loc == 0 else loc - 1
        begin = max(prev_end[k] + trans[k, m, prev_loc[k], loc], free[res])
        end = begin + dur[k, m, loc]
        start[k, m] = begin
        last = m == nblk[k] - 1
        block = end - prev_end[k] + (ret[k, loc] if last else 0.0)
        psi += max(block - tau[k, m], 0.0)
        deadlines_ok = deadlines_ok and block <= tau[k, m] * (1.0 + rel_tol)
        spent[dev[k]] += energy[k, m, 0 if m == 0 else placement[k, m - 1], loc]
        free[res] = end
        prev_loc[k], prev_end[k] = loc, end
        if last:
            d_k = end + ret[k, loc] - rel[k]
            total += d_k
            psi += max(d_k - task_tau[k], 0.0)
            deadlines_ok = deadlines_ok and d_k <= task_tau[k] * (1.0 + rel_tol)
    return deadlines_ok, _budgets_kept(spent, budget, rel_tol), total, psi


class SequenceScorer(PackedScenario):
    """Prices (block sequence, placement) pairs as semi-active schedules in compiled code, for the
    order-changing search (:mod:`partopt.shared.solvers.orders`): a sequence lists every task
    index once per block (block j of task k where k occurs for the j-th time), so that every
    sequence is a valid order and every semi-active schedule has one (its blocks by start
    time). :meth:`score` gives the :class:`partopt.shared.evaluation.ScheduleSummary`
    :func:`partopt.shared.evaluation.evaluate_scenario` reports for the schedule (a test checks
    it) and keeps the start times (s) in ``start``."""

    def __init__(self, scenario):
        super().__init__(scenario)
        self.start = np.zeros(self.placement.shape)
        self.dispatched = 0  #: blocks scheduled by every call so far: the work done

    def sequence_of(self, start_s) -> np.ndarray:
        """The sequence of a schedule: its blocks by (start time (s), task, block)."""
        blocks = sorted((float(s), k, m) for k, row in enumerate(start_s) for m, s in enumerate(row))
        return np.array([k for _, k, _ in blocks], dtype=np.int64)

    def score(self, sequence: np.ndarray, packed: np.ndarray) -> ScheduleSummary:
        """The summary of ``sequence`` with the packed placement (start times into ``start``)."""
        ok, kept, total, psi = _sequence_run(
            self.dur,
            self.trans,
            self.ret,
            self.rel,
            self.dev,
            self.nblk,
            self.tau,
            self.task_tau,
            self.energy,
            self.budget,
            self.free0,
            sequence,
            packed,
            REL_TOL,
            self.start,
        )
        self.dispatched += sequence.size
        return ScheduleSummary(bool(ok), bool(kept), float(total), float(psi))
