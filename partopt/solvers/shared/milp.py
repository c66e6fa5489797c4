"""Exact shared-edge solver: a disjunctive MILP through OR-Tools MathOpt (SCIP), a second
opinion for small scenarios.

Data in continuous time (s): p_{kmj}, t_{kmij}, q_{kj}, r_k, b_j as in
:mod:`partopt.solvers.shared.cpsat`, e_{kmij} device energies (J); H a horizon no
schedule needs to pass (releases and availabilities plus twice the serial time of all
blocks).

Variables: x_{kmj} in {0, 1}; z_{kmij} >= 0 the move of block m's input from i to j
(m >= 1); S_{km}, C_{km} >= 0; o_{uv} in {0, 1} for two blocks u < v of different
tasks (1: u before v where they share a resource); D_k.

    (1) sum_j x_{kmj} = 1;  sum_j z_{kmij} = x_{k,m-1,i};  sum_i z_{kmij} = x_{kmj}
    (2) C_{km} = S_{km} + sum_j p_{kmj} x_{kmj};  S_{km} >= sum_j b_j x_{kmj}
    (3) S_{k0} >= r_k + sum_j t_{k0,0j} x_{k0j};  S_{km} >= C_{k,m-1} + sum_ij t_{kmij} z_{kmij}
    (4) for u, v on a common resource rho (a server, or one device's CPU):
        S_v >= C_u - H (1 - o_uv) - H (2 - x_{u rho} - x_{v rho})
        S_u >= C_v - H o_uv      - H (2 - x_{u rho} - x_{v rho})
    (5) D_k = C_{k,M-1} + sum_j q_{kj} x_{k,M-1,j} - r_k >= the task's lower bound
    (6) hard: C_{km} - C_{k,m-1} (+ return) <= tau_m, D_k <= tau_k; penalty: excess >= that - tau
    (7) per device: sum_{k,m,i,j} e_{kmij} z_{kmij} (x for m = 0) <= budget
    minimize sum_k D_k (+ beta sum excess)

The solver's schedule is compacted (each resource's order kept, every block as early
as possible) so that MILP tolerances never leave an overlap; the bound is SCIP's.
Size grows with the square of the number of blocks: meant for K M up to about 30.
"""

from __future__ import annotations

import datetime
import math
import time

from partopt.evaluation import Objective
from partopt.result import SolverOutput
from partopt.scenario import Scenario
from partopt.schedule import compact_schedule
from partopt.solvers.shared.common import best_candidate, task_lower_bounds
from partopt.solvers.shared.heuristics import earliest_finish_schedule

__all__ = ["solve_shared_milp"]


def solve_shared_milp(scenario: Scenario, objective: Objective, *, time_limit=None, seed=None,
                      threads: int = 1) -> SolverOutput:
    """Solve ``scenario`` exactly with the disjunctive MILP (see the module docstring); threads: SCIP's."""
    from ortools.math_opt.python import mathopt

    begin = time.perf_counter()
    hard = objective.kind == "hard"
    tables, tasks = scenario.tables, scenario.tasks
    n_loc = scenario.num_servers + 1
    bounds = task_lower_bounds(scenario, objective)
    delay_low = bounds if hard else task_lower_bounds(scenario, Objective("penalty", 0.0))  # on D_k alone
    if hard and any(math.isinf(b) for b in bounds):
        return SolverOutput(placement=None, proven_infeasible=True,
                            info={"reason": "a task has no feasible placement even alone"})
    avail = [0.0] + [s.available_s for s in scenario.servers]
    serial = sum(max(tab.duration[m]) + max(max(r) for r in tab.transfer[m]) for tab in tables
                 for m in range(len(tab.duration)))
    big = max(t.release_s for t in tasks) + max(avail) + 2 * serial + max(max(tab.return_s) for tab in tables)

    mo = mathopt.Model(name="partopt-shared")
    x, z, start, end, delay, excess = {}, {}, {}, {}, [], []
    for k, (task, tab) in enumerate(zip(tasks, tables)):
        m_k = len(tab.duration)
        for m in range(m_k):
            for j in range(n_loc):
                x[k, m, j] = mo.add_binary_variable(name=f"x[{k},{m},{j}]")
            start[k, m] = mo.add_variable(lb=task.release_s, ub=big, name=f"S[{k},{m}]")
            end[k, m] = mo.add_variable(lb=task.release_s, ub=big, name=f"C[{k},{m}]")
            mo.add_linear_constraint(sum(x[k, m, j] for j in range(n_loc)) == 1)  # (1)
            mo.add_linear_constraint(end[k, m] == start[k, m] + sum(tab.duration[m][j] * x[k, m, j]
                                                                    for j in range(n_loc)))  # (2)
            mo.add_linear_constraint(start[k, m] >= sum(avail[j] * x[k, m, j] for j in range(1, n_loc)))
            if m == 0:  # (3)
                mo.add_linear_constraint(start[k, 0] >= task.release_s + sum(
                    tab.transfer[0][0][j] * x[k, 0, j] for j in range(n_loc)))
                continue
            for i in range(n_loc):
                for j in range(n_loc):
                    z[k, m, i, j] = mo.add_variable(lb=0.0, ub=1.0, name=f"z[{k},{m},{i},{j}]")
            for i in range(n_loc):  # (1)
                mo.add_linear_constraint(sum(z[k, m, i, j] for j in range(n_loc)) == x[k, m - 1, i])
                mo.add_linear_constraint(sum(z[k, m, j, i] for j in range(n_loc)) == x[k, m, i])
            mo.add_linear_constraint(start[k, m] >= end[k, m - 1] + sum(
                tab.transfer[m][i][j] * z[k, m, i, j] for i in range(n_loc) for j in range(n_loc)))  # (3)
        last = m_k - 1
        back = sum(tab.return_s[j] * x[k, last, j] for j in range(n_loc))
        d_k = mo.add_variable(lb=delay_low[k] * (1 - 1e-9), ub=big, name=f"D[{k}]")
        mo.add_linear_constraint(d_k == end[k, last] + back - task.release_s)  # (5)
        delay.append(d_k)
        for m in range(m_k):  # (6)
            tau = tab.deadline[m]
            if not math.isfinite(tau):
                continue
            block = end[k, m] - (task.release_s if m == 0 else end[k, m - 1]) + (back if m == last else 0.0)
            if hard:
                mo.add_linear_constraint(block <= tau)
            else:
                e = mo.add_variable(lb=0.0, ub=big, name=f"E[{k},{m}]")
                mo.add_linear_constraint(e >= block - tau)
                excess.append(e)
        if task.deadline_s is not None:
            if hard:
                mo.add_linear_constraint(d_k <= task.deadline_s)
            else:
                e = mo.add_variable(lb=0.0, ub=big, name=f"E[{k}]")
                mo.add_linear_constraint(e >= d_k - task.deadline_s)
                excess.append(e)
    blocks = [(k, m) for k in range(len(tasks)) for m in range(len(tables[k].duration))]
    for a, u in enumerate(blocks):  # (4)
        for v in blocks[a + 1:]:
            if u[0] == v[0]:
                continue  # one task's blocks are ordered by its chain
            shared = list(range(1, n_loc)) + ([0] if tasks[u[0]].device == tasks[v[0]].device else [])
            order = mo.add_binary_variable(name=f"o[{u},{v}]")
            for j in shared:
                off = 2 - x[u + (j,)] - x[v + (j,)]
                mo.add_linear_constraint(start[v] >= end[u] - big * (1 - order) - big * off)
                mo.add_linear_constraint(start[u] >= end[v] - big * order - big * off)
    for d, dev in enumerate(scenario.devices):  # (7)
        if dev.energy_budget_j is None:
            continue
        terms = []
        for k, task in enumerate(tasks):
            if task.device != d:
                continue
            energy = tables[k].energy
            terms += [energy[0][0][j] * x[k, 0, j] for j in range(n_loc)]
            terms += [energy[m][i][j] * z[k, m, i, j] for m in range(1, len(energy))
                      for i in range(n_loc) for j in range(n_loc)]
        mo.add_linear_constraint(sum(terms) <= dev.energy_budget_j)
    total = sum(delay)
    mo.minimize(total + objective.beta * sum(excess) if excess else total)

    ef_placement, ef_start = earliest_finish_schedule(scenario, keep_deadlines=hard)
    hint = {x[k, m, j]: float(j == loc) for k, row in enumerate(ef_placement) for m, loc in enumerate(row)
            for j in range(n_loc)}
    remaining = None if time_limit is None else time_limit - (time.perf_counter() - begin)
    info = {"backend": "scip", "build_s": time.perf_counter() - begin}
    if remaining is not None and remaining <= 0:
        placement, start_s, _ = best_candidate(scenario, objective, [(ef_placement, ef_start)])
        return SolverOutput(placement=placement, start_s=start_s, timed_out=True, lower_bound=sum(bounds),
                            info={**info, "termination": "time limit reached while building the model"})
    params = mathopt.SolveParameters(
        relative_gap_tolerance=0.0, absolute_gap_tolerance=0.0, threads=threads,
        random_seed=0 if seed is None else int(seed) % (2**31),
        time_limit=None if remaining is None else datetime.timedelta(seconds=remaining))
    params.gscip.real_params["numerics/feastol"] = 1e-9
    result = mathopt.solve(mo, mathopt.SolverType.GSCIP, params=params,
                           model_params=mathopt.ModelSolveParameters(
                               solution_hints=[mathopt.SolutionHint(variable_values=hint)]))
    reason = result.termination.reason
    reasons = mathopt.TerminationReason
    info.update(termination=reason.name, solve_s=result.solve_time().total_seconds())
    if reason == reasons.INFEASIBLE:
        return SolverOutput(placement=None, proven_infeasible=True, info=info)
    dual = result.termination.objective_bounds.dual_bound
    bound = max(sum(bounds), float(dual)) if math.isfinite(dual) else sum(bounds)
    candidates = [(ef_placement, ef_start)]
    proven = reason == reasons.OPTIMAL
    if result.has_primal_feasible_solution():
        values = result.variable_values()
        placement = [[max(range(n_loc), key=lambda j: values[x[k, m, j]]) for m in range(len(tables[k].duration))]
                     for k in range(len(tasks))]
        raw = [[values[start[k, m]] for m in range(len(tables[k].duration))] for k in range(len(tasks))]
        candidates = [(placement, compact_schedule(scenario, placement, raw))] + ([] if proven else candidates)
    placement, start_s, _ = best_candidate(scenario, objective, candidates)
    return SolverOutput(placement=placement, start_s=start_s, proven_optimal=proven, timed_out=not proven,
                        lower_bound=bound, info=info)
