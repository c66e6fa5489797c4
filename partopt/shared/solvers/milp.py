"""Exact shared-edge solver: a disjunctive MILP through OR-Tools MathOpt (SCIP), a second
opinion for small scenarios.

Data in continuous time (s): p_{kmj}, t_{kmij}, q_{kj}, r_k, b_j as in
:mod:`partopt.shared.solvers.cpsat`, e_{kmij} device energies (J); H a horizon no
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
as possible) so that MILP tolerances never leave an overlap; the bound is SCIP's (and,
unproven from K = 6 on, at least the chain-schedule LP's: :func:`partopt.shared.solvers.start.reported_bound`).
Size grows with the square of the number of blocks: meant for K M up to about 30.
"""

from __future__ import annotations

import datetime
import math
import time
from typing import TYPE_CHECKING, Any

from partopt.result import SolverOutput
from partopt.shared.evaluation import compact_schedule
from partopt.shared.solvers.common import best_candidate
from partopt.shared.solvers.start import exact_start, incumbent_output, reported_bound, search_seconds, vetted_answer

if TYPE_CHECKING:
    from partopt.objective import Objective
    from partopt.shared.model import Scenario

__all__ = ["SCIP_FEASTOL", "scip_bound", "solve_shared_milp"]


class _Milp:
    """The MILP of the module docstring, built piece by piece in a MathOpt model."""

    def __init__(self, scenario: Scenario, objective: Objective, delay_low: list[float]):
        from ortools.math_opt.python import mathopt

        self.scenario, self.hard = scenario, objective.kind == "hard"
        self.n_loc = scenario.num_servers + 1
        tables = scenario.tables
        self.avail = [0.0] + [s.available_s for s in scenario.servers]
        serial = sum(
            max(tab.duration[m]) + max(max(r) for r in tab.transfer[m])
            for tab in tables
            for m in range(len(tab.duration))
        )
        self.big = (
            max(t.release_s for t in scenario.tasks)
            + max(self.avail)
            + 2 * serial
            + max(max(tab.return_s) for tab in tables)
        )
        self.mo = mathopt.Model(name="partopt-shared")
        self.x: dict = {}
        self.z: dict = {}
        self.start: dict = {}
        self.end: dict = {}
        self.delay: list = []
        self.excess: list = []
        for k in range(scenario.num_tasks):
            for m in range(len(tables[k].duration)):
                self._block(k, m)
            self._task(k, delay_low[k])
        self._disjunctions()
        self._energy()
        total = sum(self.delay)
        self.mo.minimize(total + objective.beta * sum(self.excess) if self.excess else total)

    def _block(self, k: int, m: int) -> None:
        """(1)-(3) for block (k, m)."""
        mo, n_loc, x = self.mo, self.n_loc, self.x
        task, tab = self.scenario.tasks[k], self.scenario.tables[k]
        for j in range(n_loc):
            x[k, m, j] = mo.add_binary_variable(name=f"x[{k},{m},{j}]")
        start = self.start[k, m] = mo.add_variable(lb=task.release_s, ub=self.big, name=f"S[{k},{m}]")
        end = self.end[k, m] = mo.add_variable(lb=task.release_s, ub=self.big, name=f"C[{k},{m}]")
        mo.add_linear_constraint(sum(x[k, m, j] for j in range(n_loc)) == 1)  # (1)
        mo.add_linear_constraint(end == start + sum(tab.duration[m][j] * x[k, m, j] for j in range(n_loc)))  # (2)
        mo.add_linear_constraint(start >= sum(self.avail[j] * x[k, m, j] for j in range(1, n_loc)))
        if m == 0:  # (3)
            mo.add_linear_constraint(
                start >= task.release_s + sum(tab.transfer[0][0][j] * x[k, 0, j] for j in range(n_loc))
            )
            return
        z = self.z
        for i in range(n_loc):
            for j in range(n_loc):
                z[k, m, i, j] = mo.add_variable(lb=0.0, ub=1.0, name=f"z[{k},{m},{i},{j}]")
        for i in range(n_loc):  # (1)
            mo.add_linear_constraint(sum(z[k, m, i, j] for j in range(n_loc)) == x[k, m - 1, i])
            mo.add_linear_constraint(sum(z[k, m, j, i] for j in range(n_loc)) == x[k, m, i])
        mo.add_linear_constraint(
            start
            >= self.end[k, m - 1]
            + sum(tab.transfer[m][i][j] * z[k, m, i, j] for i in range(n_loc) for j in range(n_loc))
        )  # (3)

    def _task(self, k: int, delay_low: float) -> None:
        """(5) D_k with its lower bound; (6) deadlines or their excesses."""
        mo, task, tab = self.mo, self.scenario.tasks[k], self.scenario.tables[k]
        last = len(tab.duration) - 1
        back = sum(tab.return_s[j] * self.x[k, last, j] for j in range(self.n_loc))
        d_k = mo.add_variable(lb=delay_low * (1 - 1e-9), ub=self.big, name=f"D[{k}]")
        mo.add_linear_constraint(d_k == self.end[k, last] + back - task.release_s)  # (5)
        self.delay.append(d_k)
        limits = [
            (
                self.end[k, m] - (task.release_s if m == 0 else self.end[k, m - 1]) + (back if m == last else 0.0),
                tab.deadline[m],
                f"{k},{m}",
            )
            for m in range(last + 1)
        ]
        if task.deadline_s is not None:
            limits.append((d_k, task.deadline_s, f"{k}"))
        for expr, tau, label in limits:  # (6)
            if not math.isfinite(tau):
                continue
            if self.hard:
                mo.add_linear_constraint(expr <= tau)
            else:
                e = mo.add_variable(lb=0.0, ub=self.big, name=f"E[{label}]")
                mo.add_linear_constraint(e >= expr - tau)
                self.excess.append(e)

    def _disjunctions(self) -> None:
        """(4): blocks of two tasks on one resource, one before the other."""
        tasks, x, big = self.scenario.tasks, self.x, self.big
        blocks = [(k, m) for k in range(len(tasks)) for m in range(len(self.scenario.tables[k].duration))]
        for a, u in enumerate(blocks):
            for v in blocks[a + 1 :]:
                if u[0] == v[0]:
                    continue  # one task's blocks are ordered by its chain
                shared = list(range(1, self.n_loc)) + ([0] if tasks[u[0]].device == tasks[v[0]].device else [])
                order = self.mo.add_binary_variable(name=f"o[{u},{v}]")
                for j in shared:
                    off = 2 - x[(*u, j)] - x[(*v, j)]
                    self.mo.add_linear_constraint(self.start[v] >= self.end[u] - big * (1 - order) - big * off)
                    self.mo.add_linear_constraint(self.start[u] >= self.end[v] - big * order - big * off)

    def _energy(self) -> None:
        """(7): each device's energy within its budget."""
        n_loc, x, z = self.n_loc, self.x, self.z
        for d, dev in enumerate(self.scenario.devices):
            if dev.energy_budget_j is None:
                continue
            terms = []
            for k, task in enumerate(self.scenario.tasks):
                if task.device != d:
                    continue
                energy = self.scenario.tables[k].energy
                terms += [energy[0][0][j] * x[k, 0, j] for j in range(n_loc)]
                terms += [
                    energy[m][i][j] * z[k, m, i, j]
                    for m in range(1, len(energy))
                    for i in range(n_loc)
                    for j in range(n_loc)
                ]
            if terms:  # a device without tasks spends nothing
                self.mo.add_linear_constraint(sum(terms) <= dev.energy_budget_j)

    def solution(self, values) -> tuple[list, list]:
        """The placement and the raw start times (s) of a MathOpt solution."""
        counts = self.scenario.block_counts
        placement = [
            [max(range(self.n_loc), key=lambda j: values[self.x[k, m, j]]) for m in range(counts[k])]
            for k in range(len(counts))
        ]
        return placement, [[values[self.start[k, m]] for m in range(counts[k])] for k in range(len(counts))]


#: SCIP's feasibility tolerance here (relative to each row's size).
SCIP_FEASTOL = 1e-9


def scip_bound(scenario: Scenario, dual: float) -> float:
    """SCIP's dual bound (s) made safe against its tolerances: every row may be broken by
    :data:`SCIP_FEASTOL` (relative), so each block's completion time, and with it the objective,
    may sit that much low per block of a chain; the bound is lowered by that much per block (a
    random test found SCIP's bound 2.5e-9 (relative) above a valid schedule)."""
    slack = SCIP_FEASTOL * (1 + sum(scenario.block_counts)) * max(1.0, abs(dual))
    return dual - slack


def solve_shared_milp(
    scenario: Scenario, objective: Objective, *, time_limit=None, seed=None, threads: int = 1
) -> SolverOutput:
    """Solve ``scenario`` exactly with the disjunctive MILP (see the module docstring); threads: SCIP's."""
    from ortools.math_opt.python import mathopt

    begin = time.perf_counter()
    start = exact_start(scenario, objective, time_limit)
    if isinstance(start, SolverOutput):
        return start
    model = _Milp(scenario, objective, start.delay_low)
    hint = {
        model.x[k, m, j]: float(j == loc)
        for k, row in enumerate(start.incumbent[0])
        for m, loc in enumerate(row)
        for j in range(model.n_loc)
    }
    remaining = search_seconds(scenario, time_limit, begin, objective.feasible(start.known))
    info: dict[str, Any] = {"backend": "scip", "build_s": time.perf_counter() - begin}
    if remaining is not None and remaining <= 0:  # no time to search: the time kept for the bound is still spent
        bound = reported_bound(start, scenario, objective, start.known, start.lower, False, time_limit, begin, info)
        return incumbent_output(start, info, bound)
    candidates: list = [start.incumbent]
    params = mathopt.SolveParameters(
        relative_gap_tolerance=0.0,
        absolute_gap_tolerance=0.0,
        threads=threads,
        random_seed=0 if seed is None else int(seed) % (2**31),
        time_limit=None if remaining is None else datetime.timedelta(seconds=remaining),
    )
    params.gscip.real_params["numerics/feastol"] = SCIP_FEASTOL
    result = mathopt.solve(
        model.mo,
        mathopt.SolverType.GSCIP,
        params=params,
        model_params=mathopt.ModelSolveParameters(solution_hints=[mathopt.SolutionHint(variable_values=hint)]),
    )
    reason = result.termination.reason
    reasons = mathopt.TerminationReason
    info.update(termination=reason.name, solve_s=result.solve_time().total_seconds())
    if reason == reasons.INFEASIBLE:
        return SolverOutput(placement=None, proven_infeasible=True, info=info)
    dual = result.termination.objective_bounds.dual_bound
    bound = max(start.lower, scip_bound(scenario, float(dual))) if math.isfinite(dual) else start.lower
    proven = reason == reasons.OPTIMAL
    if result.has_primal_feasible_solution():
        found, raw = model.solution(result.variable_values())
        candidates = [(found, compact_schedule(scenario, found, raw))] + ([] if proven else candidates)
    placement, start_s, known = best_candidate(scenario, objective, candidates)
    proven, bound = vetted_answer(
        "shared-milp",
        proven,
        bound,
        known,
        objective,
        [start.known, known],
        sum(start.bounds),
        1e-6 * objective.raw_value(known),
    )
    bound = reported_bound(start, scenario, objective, known, bound, proven, time_limit, begin, info)
    return SolverOutput(
        placement=placement, start_s=start_s, proven_optimal=proven, timed_out=not proven, lower_bound=bound, info=info
    )
