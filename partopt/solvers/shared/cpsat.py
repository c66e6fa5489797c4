"""Exact shared-edge solver: CP-SAT over optional intervals.

Data (on an integer time grid of ``grid_s`` seconds; every duration, transfer, return,
release and availability rounded *up*, so that any schedule of the model is valid
in continuous time): tasks k with blocks m = 0..M_k-1, locations j = 0 (the task's
device) and 1..N (servers); p_{kmj} block durations, t_{kmij} input transfers,
q_{kj} result returns, r_k releases, b_j server availabilities, e_{kmij} device
energies (scaled per device so that its budget is 10^7 units, rounded up).

Variables: x_{kmj} in {0, 1} (block (k, m) runs on j); S_{km}, C_{km} integer start
and end; an optional interval [S_{km}, S_{km} + p_{kmj}) present iff x_{kmj};
D_k integer, the task's end-to-end delay.

    (1) sum_j x_{kmj} = 1                                    one location per block
    (2) C_{km} = S_{km} + sum_j p_{kmj} x_{kmj}
    (3) NoOverlap(intervals on server j), S_{km} >= b_j if x_{kmj}
    (4) NoOverlap(intervals on device d's CPU over d's tasks)
    (5) S_{k0} >= r_k + sum_j t_{k0,0j} x_{k0j}
    (6) S_{km} >= C_{k,m-1} + t_{kmij}   if x_{k,m-1,i} and x_{kmj}  (transfers on both ends)
    (7) D_k = C_{k,M-1} + sum_j q_{kj} x_{k,M-1,j} - r_k
    (8) hard: L_{km} = C_{km} - C_{k,m-1} (+ return for the last) <= tau_m / grid - 1,
        D_k <= tau_k / grid - 1 (one step kept for the rounding of the previous end)
    (9) per device: sum e x (+ y_{kmn} >= x_{k,m-1,0} + x_{kmn} - 1 for sends) <= budget
    minimize  sum_k D_k  (+ beta sum of deadline excesses under "penalty")

Strengthening, from the structure:

- D_k >= the task's own lower bound (earliest finish on an empty edge; its Part I
  optimum alone), so the search starts from a strong bound;
- the earliest-finish heuristic's solution as a hint, and as the incumbent returned
  if the solver finds nothing better in time;
- D_a + D_b >= the proven bound of tasks a and b solved as a scenario of their own
  (under "hard", K >= 3): the LP then sees part of the queueing that one task's
  bound ignores;
- identical tasks (same device, model, release and deadline) start in index order;
- the best of the solver's schedule and its left-compacted copy (every block as early
  as its order allows, in continuous time) is returned.

"Optimal" means proven optimal on the grid. The reported lower bound is valid in
continuous time: the grid's bound less K (2 sum_k M_k + 1) grid steps (rounding can
delay every block by one step per block before it), never below the sum of the
per-task bounds.
"""

from __future__ import annotations

import math
import os
import time
from fractions import Fraction

from partopt.evaluation import Objective
from partopt.result import SolverOutput
from partopt.scenario import Scenario
from partopt.schedule import compact_schedule
from partopt.solvers.shared.common import best_candidate, task_lower_bounds
from partopt.solvers.shared.heuristics import earliest_finish_schedule

__all__ = ["solve_shared_cpsat", "DEFAULT_GRID_S"]

#: Default time grid (s): 1 microsecond.
DEFAULT_GRID_S = 1e-6
_ENERGY_UNITS = 10**7


def _up(x: float, grid: float) -> int:
    """x / grid rounded up (a hair of float noise forgiven)."""
    return math.ceil(x / grid - 1e-6)


def _down(x: float, grid: float) -> int:
    return math.floor(x / grid + 1e-6)


def solve_shared_cpsat(scenario: Scenario, objective: Objective, *, time_limit=None, seed=None,
                       grid_s: float = DEFAULT_GRID_S, workers: int | None = None, hint: bool = True,
                       symmetry: bool = True, task_bounds: bool = True, log: bool = False,
                       params: dict | None = None, pair_bounds: bool = True) -> SolverOutput:
    """Solve ``scenario`` exactly with CP-SAT (see the module docstring for the model).

    grid_s: the time grid (s); workers: CP-SAT search workers (default: the cores);
    hint, symmetry, task_bounds, pair_bounds: the strengthenings (on by default; pair
    bounds under "hard" with K >= 3, spending at most a quarter of the time limit); log: print the
    solver's search log; params: further CP-SAT parameters by name (e.g.
    ``{"linearization_level": 2}``).
    """
    from ortools.sat.python import cp_model

    begin = time.perf_counter()
    if isinstance(grid_s, bool) or not isinstance(grid_s, (int, float)) or not (0 < grid_s <= 1):
        raise ValueError(f"grid_s: must be a number in (0, 1] seconds, got {grid_s!r}")
    g = float(grid_s)
    hard = objective.kind == "hard"
    tables = scenario.tables
    tasks = scenario.tasks
    n_loc = scenario.num_servers + 1
    bounds = task_lower_bounds(scenario, objective)
    delay_low = bounds if hard else task_lower_bounds(scenario, Objective("penalty", 0.0))  # on D_k alone
    if not task_bounds:
        delay_low = [0.0] * scenario.num_tasks
    if hard and any(math.isinf(b) for b in bounds):
        return SolverOutput(placement=None, proven_infeasible=True,
                            info={"reason": "a task has no feasible placement even alone", "grid_s": g})
    ef_placement, ef_start = earliest_finish_schedule(scenario, keep_deadlines=hard)

    # Integer data.
    dur = [[[_up(p, g) for p in row] for row in tab.duration] for tab in tables]
    trans = [[[[_up(t, g) for t in r] for r in mat] for mat in tab.transfer] for tab in tables]
    ret = [[_up(q, g) for q in tab.return_s] for tab in tables]
    rel = [_up(t.release_s, g) for t in tasks]
    avail = [0] + [_up(s.available_s, g) for s in scenario.servers]
    # Every block fits before the serial schedule of everything, run twice over.
    serial = sum(max(dur[k][m]) + max(max(r) for r in trans[k][m]) for k in range(len(tasks)) for m in range(len(dur[k])))
    horizon = max(rel) + max(avail) + 2 * serial + max(max(r) for r in ret) + 1

    cp = cp_model.CpModel()
    x, start, end, delay = {}, {}, {}, []
    on_server = {j: [] for j in range(1, n_loc)}
    on_device = {d: [] for d in range(scenario.num_devices)}
    excess = []
    for k, task in enumerate(tasks):
        m_k = len(dur[k])
        for m in range(m_k):
            start[k, m] = cp.new_int_var(rel[k], horizon, f"S[{k},{m}]")
            end[k, m] = cp.new_int_var(rel[k], horizon, f"C[{k},{m}]")
            lits = [cp.new_bool_var(f"x[{k},{m},{j}]") for j in range(n_loc)]
            for j, lit in enumerate(lits):
                x[k, m, j] = lit
            cp.add_exactly_one(lits)  # (1)
            cp.add(end[k, m] == start[k, m] + sum(dur[k][m][j] * lits[j] for j in range(n_loc)))  # (2)
            for j in range(n_loc):
                if dur[k][m][j] > 0:
                    iv = cp.new_optional_fixed_size_interval_var(start[k, m], dur[k][m][j], lits[j], f"I[{k},{m},{j}]")
                    (on_device[task.device] if j == 0 else on_server[j]).append(iv)
                if j > 0 and avail[j] > rel[k]:
                    cp.add(start[k, m] >= avail[j]).only_enforce_if(lits[j])  # (3)
            if m == 0:  # (5)
                cp.add(start[k, 0] >= rel[k] + sum(trans[k][0][0][j] * lits[j] for j in range(n_loc)))
            else:  # (6)
                cp.add(start[k, m] >= end[k, m - 1])
                for i in range(n_loc):
                    for j in range(n_loc):
                        if trans[k][m][i][j] > 0:
                            cp.add(start[k, m] >= end[k, m - 1] + trans[k][m][i][j]).only_enforce_if(
                                [x[k, m - 1, i], lits[j]])
        last = m_k - 1
        back = sum(ret[k][j] * x[k, last, j] for j in range(n_loc))
        low = max(0, _down(delay_low[k], g) - 1) if math.isfinite(delay_low[k]) else 0
        d_k = cp.new_int_var(low, horizon, f"D[{k}]")
        cp.add(d_k == end[k, last] + back - rel[k])  # (7)
        delay.append(d_k)
        for m in range(m_k):  # (8)
            prev = rel[k] if m == 0 else end[k, m - 1]
            block = end[k, m] - prev + (back if m == last else 0)
            tau = tables[k].deadline[m]
            if math.isfinite(tau):
                if hard:
                    cp.add(block <= _down(tau, g) - 1)
                else:
                    e = cp.new_int_var(0, horizon, f"E[{k},{m}]")
                    cp.add(e >= block - _down(tau, g))
                    excess.append(e)
        if task.deadline_s is not None:
            if hard:
                cp.add(d_k <= _down(task.deadline_s, g) - 1)
            else:
                e = cp.new_int_var(0, horizon, f"E[{k}]")
                cp.add(e >= d_k - _down(task.deadline_s, g))
                excess.append(e)
    if pair_bounds and hard and len(tasks) >= 3:
        budget = None if time_limit is None else time_limit / 4
        for (a, b), low in _pair_bounds(scenario, objective, grid_s, budget).items():
            cp.add(delay[a] + delay[b] >= _down(low, g) - 2)
    for ivs in list(on_server.values()) + list(on_device.values()):  # (3), (4)
        if len(ivs) > 1:
            cp.add_no_overlap(ivs)
    _energy_budgets(cp, scenario, x)  # (9)
    if symmetry:
        _break_symmetry(cp, scenario, start)
    scale = Fraction(objective.beta).limit_denominator(1000)
    if hard or not excess:
        cp.minimize(sum(delay))
        weight = (1, 0)
    else:
        weight = (scale.denominator, scale.numerator)
        cp.minimize(weight[0] * sum(delay) + weight[1] * sum(excess))
    if hint:
        for k, row in enumerate(ef_placement):
            for m, loc in enumerate(row):
                for j in range(n_loc):
                    cp.add_hint(x[k, m, j], j == loc)
                cp.add_hint(start[k, m], min(_up(ef_start[k][m], g), horizon))

    solver = cp_model.CpSolver()
    remaining = None if time_limit is None else time_limit - (time.perf_counter() - begin)
    info = {"grid_s": g, "build_s": time.perf_counter() - begin, "beta_used": float(scale)}
    candidates = [(ef_placement, ef_start)]
    bound_s = sum(bounds)
    if remaining is not None and remaining <= 0:
        info["termination"] = "time limit reached while building the model"
        placement, start_s, _ = best_candidate(scenario, objective, candidates)
        return SolverOutput(placement=placement, start_s=start_s, timed_out=True, lower_bound=bound_s, info=info)
    sat = solver.parameters
    if remaining is not None:
        sat.max_time_in_seconds = remaining
    sat.num_workers = int(workers) if workers else max(1, len(os.sched_getaffinity(0)) if hasattr(
        os, "sched_getaffinity") else (os.cpu_count() or 1))
    sat.random_seed = 0 if seed is None else int(seed) % (2**31)
    sat.log_search_progress = bool(log)
    for key, value in dict(params or {}).items():
        if not hasattr(solver.parameters, key):
            raise ValueError(f"params: {key!r} is not a CP-SAT parameter")
        setattr(solver.parameters, key, value)
    status = solver.solve(cp)
    info.update(termination=solver.status_name(status), solve_s=solver.wall_time,
                branches=solver.num_branches, conflicts=solver.num_conflicts)
    if status == cp_model.INFEASIBLE:
        return SolverOutput(placement=None, proven_infeasible=True, info=info)
    if status == cp_model.MODEL_INVALID:
        raise RuntimeError(f"shared-cpsat built an invalid model: {cp.validate()}")
    proven = status == cp_model.OPTIMAL
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        placement = [[next(j for j in range(n_loc) if solver.value(x[k, m, j])) for m in range(len(dur[k]))]
                     for k in range(len(tasks))]
        grid_start = [[solver.value(start[k, m]) * g for m in range(len(dur[k]))] for k in range(len(tasks))]
        candidates = [(placement, grid_start), (placement, compact_schedule(scenario, placement, grid_start))] + (
            [] if proven else candidates)
        slack = len(tasks) * (2 * sum(len(d) for d in dur) + 1)
        grid_bound = (solver.best_objective_bound / weight[0] - slack) * g
        bound_s = max(bound_s, grid_bound)
    placement, start_s, _ = best_candidate(scenario, objective, candidates)
    return SolverOutput(placement=placement, start_s=start_s, proven_optimal=proven, timed_out=not proven,
                        lower_bound=bound_s, info=info)


def _pair_bounds(scenario: Scenario, objective: Objective, grid_s: float, budget: float | None) -> dict:
    """Proven lower bounds on D_a + D_b for pairs of tasks: each pair solved alone (dropping
    the other tasks only frees the edge), as long as ``budget`` seconds last."""
    stop = math.inf if budget is None else time.perf_counter() + budget
    out = {}
    k = scenario.num_tasks
    for a in range(k):
        for b in range(a + 1, k):
            left = stop - time.perf_counter()
            if left <= 0.05:
                return out
            pair = scenario.replace(tasks=(scenario.tasks[a], scenario.tasks[b]))
            res = solve_shared_cpsat(pair, objective, time_limit=min(left, 5.0), grid_s=grid_s, workers=1,
                                     pair_bounds=False)
            if res.lower_bound is not None:
                out[a, b] = res.lower_bound
    return out


def _energy_budgets(cp, scenario: Scenario, x: dict) -> None:
    """(9): each device's energy within its budget, in units of budget / 10^7 rounded up."""
    for d, dev in enumerate(scenario.devices):
        if dev.energy_budget_j is None:
            continue
        unit = dev.energy_budget_j / _ENERGY_UNITS if dev.energy_budget_j > 0 else 1.0
        cap = _ENERGY_UNITS if dev.energy_budget_j > 0 else 0
        terms = []
        for k, task in enumerate(scenario.tasks):
            if task.device != d:
                continue
            energy = scenario.tables[k].energy
            for m in range(len(energy)):
                local = math.ceil(energy[m][0][0] / unit - 1e-9)
                if local > 0:
                    terms.append(local * x[k, m, 0])
                for j in range(1, len(energy[m])):
                    send = math.ceil(energy[m][0][j] / unit - 1e-9)
                    if send <= 0:
                        continue
                    if m == 0:
                        terms.append(send * x[k, 0, j])
                    else:
                        y = cp.new_bool_var(f"y[{k},{m},{j}]")
                        cp.add(y >= x[k, m - 1, 0] + x[k, m, j] - 1)
                        terms.append(send * y)
        if terms:
            cp.add(sum(terms) <= cap)


def _break_symmetry(cp, scenario: Scenario, start: dict) -> None:
    """Identical tasks (device, model, release, deadline) start in index order."""
    groups: dict = {}
    for k, t in enumerate(scenario.tasks):
        groups.setdefault((t.device, t.model, t.release_s, t.deadline_s), []).append(k)
    for members in groups.values():
        for a, b in zip(members, members[1:]):
            cp.add(start[a, 0] <= start[b, 0])
