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
    D_k >= sum_{r,t} max(s_t, e_{kr}) y_{krt} + min_r P_{kr} / 2 + min_r return_{kr} - r_k
    D_k >= a_k       (k's own lower bound alone: its Part I optimum, an empty edge)
    minimize sum_k D_k

The first D_k row is the mean-busy-time bound: a task whose work is done at a rate of at
most 1 / min_r P_{kr} finishes at least half its fastest time after the mean time of its
work (Goemans et al.'s bound for sum of completion times), and each bucket's work is
counted at its start, so the LP's optimum is a lower bound on sum_k D_k of every
schedule, hence on both objectives (the penalty only adds). It sees what one task's
bound cannot: tasks that queue for the same fast server. The LP is solved by HiGHS.
"""

from __future__ import annotations

import math

import numpy as np

from partopt.scenario import Scenario

__all__ = ["work_bound", "buckets_for"]


def buckets_for(scenario: Scenario) -> int:
    """Time buckets for ``scenario``: 240 for small cases, fewer as K (N+1) grows, so that the
    LP keeps to about 60,000 columns (HiGHS solves it in seconds); at least 30."""
    return int(min(240, max(30, round(60_000 / (scenario.num_tasks * (scenario.num_servers + 1))))))


def _earliest(tab, release: float, loc: int) -> float:
    """The earliest time any of the task's work can run on ``loc`` (s): at release on the
    device; on a server, after the device ran the blocks before the first one sent and that
    block's input arrived."""
    if loc == 0:
        return release
    best, device_time = math.inf, 0.0
    for m, row in enumerate(tab.duration):
        best = min(best, release + device_time + tab.transfer[m][0][loc])
        device_time += row[0]
    return best


def _proportional(tab) -> bool:
    """Whether every block's durations are one amount of work at per-location speeds."""
    d = np.asarray(tab.duration, dtype=float)
    total = d.sum(axis=0)
    if np.any(total <= 0):
        return False
    share = d / total
    return bool(np.allclose(share, share[:, :1], rtol=1e-6, atol=1e-12))


def work_bound(scenario: Scenario, task_bounds: list[float], span_s: float, buckets: int | None = None,
               time_limit: float | None = None) -> float | None:
    """The LP bound of the module docstring (s), or None when it cannot be had (durations
    that are not one amount of work, HiGHS missing, or the LP not solved in time).

    task_bounds: a_k, each task's own lower bound on D_k (s); span_s: the end of a known
    schedule, over which the buckets are laid (later work goes to the open last bucket);
    buckets: how many (default :func:`buckets_for`); time_limit: seconds for HiGHS.
    """
    try:
        import highspy
    except ImportError:
        return None
    tables = scenario.tables
    buckets = buckets_for(scenario) if buckets is None else int(buckets)
    if not all(_proportional(tab) for tab in tables) or buckets < 1:
        return None
    k_tasks, n_serv = scenario.num_tasks, scenario.num_servers
    releases = [t.release_s for t in scenario.tasks]
    t0 = min(releases)
    edges = np.linspace(t0, max(span_s, t0 + 1e-9), buckets + 1)  # s_0 .. s_T; bucket T is [s_T, inf)
    starts = edges
    ends = np.append(edges[1:], math.inf)
    avail = [0.0] + [s.available_s for s in scenario.servers]

    cols_cost, cols_upper, entries = [], [], []  # entries: (row, col, value)
    row_count = 0
    work_row = {}
    task_rows: dict[tuple[int, int], int] = {}
    res_rows: dict[tuple[str, int, int], int] = {}
    row_upper: list[float] = []

    def row(key, dictionary, upper) -> int:
        nonlocal row_count
        if key not in dictionary:
            dictionary[key] = row_count
            row_upper.append(upper)
            row_count += 1
        return dictionary[key]

    for k in range(k_tasks):
        work_row[k] = row_count
        row_upper.append(1.0)  # an equality: lower set below
        row_count += 1
    delay_rows = []
    task_cols = []
    col = 0
    for k, tab in enumerate(tables):
        first_col = col
        device = scenario.tasks[k].device
        whole = [sum(r[j] for r in tab.duration) for j in range(n_serv + 1)]
        for j in range(n_serv + 1):
            e = _earliest(tab, releases[k], j)
            first = max(e, avail[j])
            for t in range(buckets + 1):
                if ends[t] <= first:
                    continue
                begin = max(starts[t], first)
                cols_cost.append(begin)
                cols_upper.append(min(1.0, (ends[t] - begin) / whole[j]) if math.isfinite(ends[t]) else 1.0)
                entries.append((work_row[k], col, 1.0))
                if math.isfinite(ends[t]):
                    r_task = row((k, t), task_rows, ends[t] - max(starts[t], releases[k]))
                    entries.append((r_task, col, whole[j]))
                    resource = ("device", device, t) if j == 0 else ("server", j, t)
                    length = ends[t] - max(starts[t], avail[j])
                    entries.append((row(resource, res_rows, length), col, whole[j]))
                col += 1
        delay_rows.append((min(whole) / 2 + min(tab.return_s) - releases[k]))
        task_cols.append((first_col, col))
    n_y = col
    # D_k columns: cost 1, lower a_k; row D_k - sum begin y >= const, written as sum begin y - D_k <= -const.
    from partopt.solvers.milp_pulp import native_stdout_silenced

    with native_stdout_silenced():  # HiGHS prints a banner from C when it starts
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("solver", "ipm")
    highs.setOptionValue("run_crossover", "off")
    if time_limit is not None:
        highs.setOptionValue("time_limit", max(0.1, float(time_limit)))
    lower_rows = [-math.inf] * row_count
    for k in range(k_tasks):
        lower_rows[work_row[k]] = 1.0
    first_delay_row = row_count
    for k in range(k_tasks):
        lower_rows.append(-math.inf)
        row_upper.append(-delay_rows[k])
    costs = np.concatenate([np.zeros(n_y), np.ones(k_tasks)])
    col_lower = np.concatenate([np.zeros(n_y), np.asarray(task_bounds, dtype=float)])
    col_upper = np.concatenate([np.asarray(cols_upper), np.full(k_tasks, math.inf)])
    rows = [r for r, _, _ in entries]
    cols = [c for _, c, _ in entries]
    vals = [v for _, _, v in entries]
    # The delay rows: + begin * y for each of k's columns, - D_k.
    for k, (first_col, end_col) in enumerate(task_cols):
        for c in range(first_col, end_col):
            rows.append(first_delay_row + k)
            cols.append(c)
            vals.append(cols_cost[c])
        rows.append(first_delay_row + k)
        cols.append(n_y + k)
        vals.append(-1.0)
    lp = highspy.HighsLp()
    lp.num_col_ = n_y + k_tasks
    lp.num_row_ = len(row_upper)
    lp.col_cost_ = costs
    lp.col_lower_ = col_lower
    lp.col_upper_ = col_upper
    lp.row_lower_ = np.asarray(lower_rows)
    lp.row_upper_ = np.asarray(row_upper)
    order = np.lexsort((np.asarray(rows), np.asarray(cols)))
    cols_sorted = np.asarray(cols)[order]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(cols_sorted, np.arange(lp.num_col_ + 1)).astype(np.int32)
    lp.a_matrix_.index_ = np.asarray(rows)[order].astype(np.int32)
    lp.a_matrix_.value_ = np.asarray(vals, dtype=float)[order]
    highs.passModel(lp)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    info = highs.getInfo()
    # Interior point without crossover: the primal objective is within the primal-dual error
    # of the LP's optimum; keep below it by twice that error (at least 1e-7 relative).
    value = float(info.objective_function_value)
    error = float(info.primal_dual_objective_error)
    error = error if math.isfinite(error) and error >= 0 else 1e-3
    return value - abs(value) * max(1e-7, 2 * error)
