"""A lower bound on a shared-edge scenario's total delay from a preemptive, time-indexed
work relaxation (an LP), valid in continuous time.

One task's blocks run one at a time, each block's cycles at its location's speed, so
task k's chain is a fixed amount of work: with P_{kr} the time its whole chain takes on
resource r (its device or a server; every block's duration there is c_m / speed_r, so
P_{kr} = sum_m duration[m][r]), a schedule does a fraction y of k's work on r in time
y P_{kr}. Drop the chain order, the transfers between blocks, non-preemption, the
deadlines and the budgets; keep the resources' capacity and each task's own pace:

    time buckets [s_t, s_{t+1}), t = 0..T-1, and a last one [s_T, inf) without capacity
    y_{krt} >= 0     fraction of task k's work done on resource r in bucket t
    sum_{r,t} y_{krt} = 1                                             all work done
    sum_k P_{kr} y_{krt} <= length of bucket t on r (after b_r)        one block at a time
    sum_r P_{kr} y_{krt} <= length of bucket t after r_k               one block of k at a time
    y_{krt} = 0 before e_{kr}, the earliest k's work can reach r; y_{krt} P_{kr} <= s_{t+1} - e_{kr}
                     (e_{kr} over every route: :func:`~partopt.shared.solvers.common.earliest_starts`)
    D_k >= sum_{r,t} (max(s_t, e_{kr}) + min(P_{kv}, P_{kr})) y_{krt} - P_{kv} / 2 + min_r return_{kr} - r_k
                     for every resource v
    D_k >= a_k       (k's own lower bound alone: its Part I optimum, an empty edge)
    minimize sum_k D_k

The D_k rows are mean-busy-time bounds. With Y_r the share of k's work done on r, the
task ends at least g(Y) after the mean time of its work, g(Y) = (1/2) sum_{r,r'} Y_r
Y_{r'} min(P_{kr}, P_{kr'}): the most the mean can lag the end is when the work runs
without a gap, the faster resources' shares last (the exchange argument of Smith's
rule). g is convex (min(P_r, P_r') is a positive semidefinite kernel), so each tangent
at a vertex Y = e_v, sum_r min(P_{kv}, P_{kr}) Y_r - P_{kv} / 2, is below it: the row for
v. The fastest v gives min_r P_{kr} / 2, Goemans et al.'s bound for a task served at a
rate of at most 1 / min_r P_{kr}; a slower v charges a task the slow resource's pace for
the share it does there. Each bucket's work is counted at its start, so the LP's optimum
is a lower bound on sum_k D_k of every schedule, hence on both objectives (the penalty
only adds). It sees what one task's bound cannot: tasks that queue for the same fast
server.

Why each row holds for every feasible schedule in continuous time (:meth:`WorkLp.point`
maps a schedule to the LP's columns, and a test checks every row there):

- all work done: each block runs once, whole, on one resource;
- one block at a time: blocks on r in bucket t fill at most its length after b_r (the
  device's CPU is one resource for all its tasks, free from the first release);
- one block of k at a time: a chain's blocks never overlap, none before r_k;
- e_{kr}: no block of k can start on r before the earliest-start DP over every route says
  (each step of that DP is non-decreasing in its inputs); the device's uplinks need not
  obey the triangle inequality, so the direct upload alone is not a bound;
- the D_k rows: the tangents of the convex g at the simplex's vertices, with every
  bucket's work counted at the bucket's start (no later than when it runs);
- D_k >= a_k: each task's own bound (:func:`~partopt.shared.solvers.common.task_lower_bounds`).

The LP is solved by HiGHS, and its bound is the Lagrangian of HiGHS's row multipliers
(:func:`lagrangian_bound`), valid however inexact they are.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from partopt.shared.solvers.common import earliest_starts

if TYPE_CHECKING:
    from partopt.shared.model import Scenario

__all__ = [
    "MAX_BUCKETS",
    "MAX_WORK_COLUMNS",
    "WorkLp",
    "buckets_for",
    "lagrangian_bound",
    "refined_work_bound",
    "work_bound",
    "work_lp",
]

#: The most buckets :func:`refined_work_bound` lays (its LP grows with them; beyond, HiGHS's
#: interior point takes minutes at K = 256).
MAX_BUCKETS = 1600
#: The most y columns :func:`refined_work_bound` lets an LP have, counted as K (N + 1) buckets
#: (an upper bound). HiGHS's interior point takes most of the memory: the process peaked at 615 MB
#: with 283,000 columns and 1.05 GB with 563,000 (K = 256, 376 and 752 buckets; the LP's own arrays
#: about 0.5 kB a column while built), so this keeps a refinement under about a gigabyte.
MAX_WORK_COLUMNS = 500_000
#: How much longer the work LP takes over twice the buckets (measured: 2.5x to 3x at K = 64 and 256,
#: HiGHS's interior point; ``bench/results/shared_large_bounds.md``).
_REFINE_GROWTH = 3.0


def buckets_for(scenario: Scenario) -> int:
    """Time buckets for ``scenario``: 240 for small cases, fewer as K (N+1) grows, so that the
    LP keeps to about 60,000 columns (HiGHS solves it in seconds); at least 30."""
    return int(min(240, max(30, round(60_000 / (scenario.num_tasks * (scenario.num_servers + 1))))))


def _proportional(tab) -> bool:
    """Whether every block's durations are one amount of work at per-location speeds."""
    d = np.asarray(tab.duration, dtype=float)
    total = d.sum(axis=0)
    if np.any(total <= 0):
        return False
    share = d / total
    return bool(np.allclose(share, share[:, :1], rtol=1e-6, atol=1e-12))


@dataclass(frozen=True)
class _Lp:
    """The LP in arrays: y columns first, then one D_k column per task. The matrix is given by
    its nonzeros (``rows``, ``cols``, ``vals``), sorted by column and, within one, by row."""

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_upper: np.ndarray
    #: Each y column's (task k, location r, bucket t, the time its work is counted at in s).
    columns: np.ndarray
    #: The (task k, bucket t) of each task row and (resource, bucket t) of each resource row, in row
    #: order, after the K work rows and the K (N + 1) delay rows; resources: devices, then servers.
    task_rows: np.ndarray
    resource_rows: np.ndarray
    #: K, N + 1 and the number of devices.
    shape: tuple[int, int, int]

    def name(self, i: int) -> tuple:
        """Row ``i``'s name: ("work", k), ("delay", k, v), ("task", k, t), ("device", d, t) or ("server", j, t)."""
        k_tasks, locs, num_devices = self.shape
        if i < k_tasks:
            return ("work", i)
        if i < k_tasks * (1 + locs):
            return ("delay", *divmod(i - k_tasks, locs))
        i -= k_tasks * (1 + locs)
        if i < len(self.task_rows):
            return ("task", *(int(x) for x in self.task_rows[i]))
        r, t = (int(x) for x in self.resource_rows[i - len(self.task_rows)])
        return ("device", r, t) if r < num_devices else ("server", r - num_devices + 1, t)


def _build(scenario: Scenario, edges: np.ndarray) -> tuple[_Lp, int]:
    """The LP of the module docstring over buckets ``edges`` (s_0..s_T; the last bucket is
    [s_T, inf)); returns it and the number of y columns, built in arrays (a K = 256 LP with
    280,000 columns in a third of a second)."""
    ends = np.append(edges[1:], math.inf)
    n_b, locs, k_tasks = len(edges) - 1, scenario.num_servers + 1, scenario.num_tasks
    avail = np.array([0.0] + [s.available_s for s in scenario.servers])
    whole = np.array([np.asarray(tab.duration, dtype=float).sum(axis=0) for tab in scenario.tables])  # P_{kr}
    release = np.array([task.release_s for task in scenario.tasks])
    device = np.array([task.device for task in scenario.tasks], dtype=np.int64)
    parts = []  # per (k, j): the buckets of its columns
    for k, tab in enumerate(scenario.tables):
        earliest = np.min(earliest_starts(tab, release[k], list(avail)), axis=0)  # e_{kr}, every route
        for j in range(locs):
            t = np.flatnonzero(ends > earliest[j])
            parts.append((np.full(t.size, k), np.full(t.size, j), t, np.maximum(edges[t], earliest[j])))
    ck, cj, ct, begin = (np.concatenate(x) for x in zip(*parts))
    n_y, bounded = ck.size, ct < n_b
    # rows: work (K), delay (K x locs), then the task and resource rows that have a column
    task_key = np.unique(ck[bounded] * n_b + ct[bounded])
    res = np.where(cj == 0, device[ck], scenario.num_devices + cj - 1)
    res_key = np.unique(res[bounded] * n_b + ct[bounded])
    first_task, first_res = k_tasks * (1 + locs), k_tasks * (1 + locs) + task_key.size
    task_row = first_task + np.searchsorted(task_key, ck * n_b + ct)
    res_row = first_res + np.searchsorted(res_key, res * n_b + ct)
    delay_row = k_tasks + np.arange(k_tasks * locs).reshape(k_tasks, locs)
    # each y column's entries in row order: work, the delay rows, then (bounded) its task's and resource's
    per_col = np.column_stack([ck, delay_row[ck], task_row, res_row])
    cost = whole[ck, cj]
    coef = np.column_stack([np.ones(n_y), begin[:, None] + np.minimum(whole[ck], cost[:, None]), cost, cost])
    keep = np.ones(per_col.shape, dtype=bool)
    keep[:, -2:] = bounded[:, None]
    y_cols = np.broadcast_to(np.arange(n_y)[:, None], per_col.shape)
    d_cols = np.repeat(n_y + np.arange(k_tasks), locs)
    tk, tt = np.divmod(task_key, n_b)
    rr, rt = np.divmod(res_key, n_b)
    tail = np.array([min(tab.return_s) for tab in scenario.tables]) - release
    res_free = np.concatenate([np.zeros(scenario.num_devices), avail[1:]])[rr]  # device CPUs free from 0
    upper = np.concatenate(
        [
            np.ones(k_tasks),
            (whole / 2 - tail[:, None]).ravel(),
            ends[tt] - np.maximum(edges[tt], release[tk]),
            ends[rt] - np.maximum(edges[rt], res_free),
        ]
    )
    lower = np.concatenate([np.ones(k_tasks), np.full(upper.size - k_tasks, -math.inf)])
    col_upper = np.where(bounded, np.minimum(1.0, (ends[ct] - begin) / cost), 1.0)  # P_{kr} > 0
    lp = _Lp(
        rows=np.concatenate([per_col[keep], delay_row.ravel()]).astype(np.int64),
        cols=np.concatenate([y_cols[keep], d_cols]).astype(np.int64),
        vals=np.concatenate([coef[keep], -np.ones(k_tasks * locs)]),
        row_lower=lower,
        row_upper=upper,
        col_upper=np.concatenate([col_upper, np.full(k_tasks, math.inf)]),
        columns=np.column_stack([ck, cj, ct, begin]),
        task_rows=np.column_stack([tk, tt]),
        resource_rows=np.column_stack([rr, rt]),
        shape=(k_tasks, locs, scenario.num_devices),
    )
    return lp, n_y


def lagrangian_bound(lp: _Lp, n_y: int, task_bounds: list[float], row_dual: np.ndarray) -> float:
    """A lower bound on the LP's optimum (s) from any row multipliers ``row_dual``, valid however
    inexact they are (weak duality). Each multiplier first gets the sign its row allows (>= 0 on a
    finite lower bound, <= 0 on a finite upper bound), and each task's delay-row multipliers are
    scaled down so that D_k's reduced cost is not negative (D_k has no upper bound); then
    L(y) = sum_i y_i (lower_i or upper_i) + sum_j min over x_j's box of its reduced cost times x_j."""
    k_tasks = len(task_bounds)
    lower, upper = np.asarray(lp.row_lower, dtype=float), np.asarray(lp.row_upper, dtype=float)
    y = np.nan_to_num(np.asarray(row_dual, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    y = np.where(y > 0, np.where(np.isfinite(lower), y, 0.0), np.where(np.isfinite(upper), y, 0.0))
    rows, cols, vals = lp.rows, lp.cols, lp.vals
    on_delay = cols >= n_y  # D_k's entries: -1 in each of its delay rows (<= rows, so y <= 0 there)
    for k in range(k_tasks):
        mine = rows[on_delay & (cols == n_y + k)]
        taken = -float(y[mine].sum())  # D_k's reduced cost is 1 - taken
        if taken > 1.0:
            y[mine] /= taken
    reduced = np.concatenate([np.zeros(n_y), np.ones(k_tasks)])
    np.subtract.at(reduced, cols, vals * y[rows])
    col_lower = np.concatenate([np.zeros(n_y), np.asarray(task_bounds, dtype=float)])
    at = np.where(reduced >= 0, col_lower, np.asarray(lp.col_upper, dtype=float))
    if np.any(~np.isfinite(at) & (reduced != 0)):
        return -math.inf
    sides = np.where(y > 0, lower, upper)
    return float(np.dot(y[y != 0], sides[y != 0]) + np.dot(reduced[reduced != 0], at[reduced != 0]))


def _solve(lp: _Lp, n_y: int, task_bounds: list[float], time_limit: float | None) -> float | None:
    """A lower bound on the LP's optimum (s): HiGHS (interior point) finds row multipliers and
    :func:`lagrangian_bound` prices them, so the bound does not rest on the solver's accuracy."""
    import highspy

    from partopt.chain.solvers.milp import native_stdout_silenced

    k_tasks = len(task_bounds)
    rows, cols, vals = lp.rows, lp.cols, lp.vals
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n_y + k_tasks, len(lp.row_lower)
    model.col_cost_ = np.concatenate([np.zeros(n_y), np.ones(k_tasks)])
    model.col_lower_ = np.concatenate([np.zeros(n_y), np.asarray(task_bounds, dtype=float)])
    model.col_upper_ = np.asarray(lp.col_upper, dtype=float)
    model.row_lower_ = np.asarray(lp.row_lower, dtype=float)
    model.row_upper_ = np.asarray(lp.row_upper, dtype=float)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = np.searchsorted(cols, np.arange(model.num_col_ + 1)).astype(np.int32)
    model.a_matrix_.index_ = rows.astype(np.int32)
    model.a_matrix_.value_ = vals
    with native_stdout_silenced():  # HiGHS prints a banner from C when it starts
        highs = highspy.Highs()
    # one thread, as every HiGHS run in partopt: HiGHS keeps one scheduler per process, fixed by its
    # first run, and a later run asking another count (PuLP's HiGHS asks 1) fails as "Not Solved"
    for option, setting in (("output_flag", False), ("solver", "ipm"), ("run_crossover", "off"), ("threads", 1)):
        highs.setOptionValue(option, setting)
    if time_limit is not None:
        highs.setOptionValue("time_limit", max(0.1, float(time_limit)))
    highs.passModel(model)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    bound = lagrangian_bound(lp, n_y, task_bounds, np.asarray(highs.getSolution().row_dual))
    return bound if math.isfinite(bound) else None


def work_bound(
    scenario: Scenario,
    task_bounds: list[float],
    span_s: float,
    buckets: int | None = None,
    time_limit: float | None = None,
) -> float | None:
    """The LP bound of the module docstring (s), or None when it cannot be had (durations
    that are not one amount of work, HiGHS missing, or the LP not solved in time).

    task_bounds: a_k, each task's own lower bound on D_k (s); span_s: the end of a known
    schedule, over which the buckets are laid (later work goes to the open last bucket);
    buckets: how many (default :func:`buckets_for`); time_limit: seconds for HiGHS.
    """
    try:
        import highspy  # noqa: F401 - only to know whether the LP can be solved
    except ImportError:
        return None
    work = work_lp(scenario, span_s, buckets)
    return None if work is None else _solve(work.lp, work.n_y, task_bounds, time_limit)


def refined_work_bound(scenario: Scenario, task_bounds: list[float], span_s: float, time_limit: float) -> float | None:
    """The work relaxation's bound (s) within ``time_limit`` s, refined while time allows: first
    over :func:`buckets_for` buckets, then twice as many while the last solve, taken at
    :data:`_REFINE_GROWTH` times its time per doubling, fits in what is left (at most
    :data:`MAX_BUCKETS` buckets and :data:`MAX_WORK_COLUMNS` columns). Finer buckets count each
    bucket's work nearer its true time; each LP's bound is valid, and the highest is returned
    (None when none was had)."""
    begin = time.perf_counter()
    buckets, best = buckets_for(scenario), None
    per_bucket = scenario.num_tasks * (scenario.num_servers + 1)
    while buckets <= MAX_BUCKETS and (best is None or buckets * per_bucket <= MAX_WORK_COLUMNS):
        left = time_limit - (time.perf_counter() - begin)
        if left <= 0:
            break
        solve_begin = time.perf_counter()
        found = work_bound(scenario, task_bounds, span_s, buckets=buckets, time_limit=left)
        if found is None:
            break
        best = found if best is None else max(best, found)
        if _REFINE_GROWTH * (time.perf_counter() - solve_begin) > time_limit - (time.perf_counter() - begin):
            break
        buckets *= 2
    return best


@dataclass(frozen=True)
class WorkLp:
    """The work relaxation of one scenario, as built: its rows and columns (``lp``), the number of
    y columns (``n_y``, then one D_k column per task) and the bucket edges s_0..s_T (s)."""

    lp: _Lp
    n_y: int
    edges: np.ndarray

    def point(self, scenario: Scenario, placement, start_s, delays) -> tuple[np.ndarray, list[str]]:
        """The LP's columns at a schedule, and the work it does where the LP has no column (named):
        y_{krt} the share of task k's work that the schedule (``placement``, ``start_s`` in s) does
        on r within bucket t, D_k = ``delays`` (s). For every valid schedule nothing is stray and
        every row holds (:meth:`violations`): the docstring's argument, made checkable."""
        x = np.zeros(self.n_y + scenario.num_tasks)
        stray = []
        ends = np.append(self.edges[1:], math.inf)
        where = {(int(k), int(r), int(t)): c for c, (k, r, t, _) in enumerate(self.lp.columns)}
        for k, (tab, row) in enumerate(zip(scenario.tables, placement)):
            whole = np.asarray(tab.duration, dtype=float).sum(axis=0)
            for m, r in enumerate(row):
                begin, end = start_s[k][m], start_s[k][m] + tab.duration[m][r]
                for t in range(len(ends)):
                    overlap = min(end, ends[t]) - max(begin, self.edges[t] if t else -math.inf)
                    if overlap > 0 and (k, r, t) in where:
                        x[where[k, r, t]] += overlap / whole[r]
                    elif overlap > 0:
                        stray.append(f"task {k} block {m} works on {r} in bucket {t}, before the LP lets it")
        x[self.n_y :] = delays
        return x, stray

    def violations(self, x: np.ndarray, task_bounds: list[float], tol: float = 1e-9) -> list[str]:
        """The rows and column bounds that ``x`` breaks by more than ``tol`` (named)."""
        out = []
        rows, cols, vals = self.lp.rows, self.lp.cols, self.lp.vals
        activity = np.zeros(len(self.lp.row_lower))
        np.add.at(activity, rows, vals * x[cols])
        for i, (low, high) in enumerate(zip(self.lp.row_lower, self.lp.row_upper)):
            if not low - tol <= activity[i] <= high + tol:
                out.append(f"row {self.lp.name(i)}: {float(activity[i])!r} outside [{float(low)!r}, {float(high)!r}]")
        for c, (k, r, t, _) in enumerate(self.lp.columns):
            high = float(self.lp.col_upper[c])
            if not -tol <= x[c] <= high + tol:
                out.append(f"column y[{k:g}, {r:g}, {t:g}] = {float(x[c])!r} outside [0, {high!r}]")
        out += [
            f"D_{k} = {x[self.n_y + k]!r} below a_k = {a!r}"
            for k, a in enumerate(task_bounds)
            if x[self.n_y + k] < a - tol
        ]
        return out


def work_lp(scenario: Scenario, span_s: float, buckets: int | None = None) -> WorkLp | None:
    """The work relaxation's LP over ``buckets`` buckets laid over [first release, ``span_s``]
    (default :func:`buckets_for`), or None when the durations are not one amount of work."""
    buckets = buckets_for(scenario) if buckets is None else int(buckets)
    if buckets < 1 or not all(_proportional(tab) for tab in scenario.tables):
        return None
    t0 = min(t.release_s for t in scenario.tasks)
    edges = np.linspace(t0, max(span_s, t0 + 1e-9), buckets + 1)
    lp, n_y = _build(scenario, edges)
    return WorkLp(lp, n_y, edges)
