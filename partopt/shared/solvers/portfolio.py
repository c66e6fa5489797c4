"""The shared edge's default exact solver: the branch and bound, then CP-SAT from its answer.

Which exact method is strongest depends on the scenario's size
(``bench/results/shared_speed.md``): the continuous-time branch and bound proves small and
middle scenarios far faster than CP-SAT (every K = 8 scenario of the speed bench, where
CP-SAT proves none) but its schedules are weaker where it proves nothing; CP-SAT finds better
schedules there and scales to hundreds of tasks. So, for up to :data:`BNB_MAX_TASKS` tasks,
the branch and bound runs first with a share of the time limit (:func:`bnb_share`); if it
proves its answer (optimal or infeasible) that is the answer. Where no heuristic schedule keeps
every deadline, CP-SAT first probes with :data:`PROBE_SHARE` of the limit: it proves
infeasibility at once where the branch and bound, with no incumbent to prune by, would
enumerate, and otherwise hands its schedule to the branch and bound as the incumbent. Beyond, the order search runs
first with :data:`ORDER_SHARE` of the limit (CP-SAT's model alone takes seconds to build there).
Otherwise CP-SAT runs in the time left, its hint and incumbent the first member's schedule. The answer is the best
schedule either found, with the higher of their bounds (each valid in continuous time,
vetted against both schedules), "optimal" when CP-SAT proves it (on its grid). Never weaker
than the stronger of the two alone at that size, up to the time each gets.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from partopt.result import SolverOutput
from partopt.shared.solvers.bnb import solve_shared_bnb
from partopt.shared.solvers.common import best_candidate
from partopt.shared.solvers.cpsat import solve_shared_cpsat
from partopt.shared.solvers.orders import solve_shared_order_search
from partopt.shared.solvers.start import exact_start, vetted_bound

if TYPE_CHECKING:
    from partopt.objective import Objective
    from partopt.shared.model import Scenario

__all__ = ["BNB_MAX_TASKS", "ORDER_SHARE", "PROBE_SHARE", "bnb_share", "solve_shared_exact"]

#: Beyond this many tasks the branch and bound is not tried (its priced bound stops at 16).
BNB_MAX_TASKS = 16

#: Beyond BNB_MAX_TASKS, the share of the time limit the order search gets before CP-SAT: at
#: K = 134 CP-SAT spent 10 s building its model and answered earliest-finish's schedule, 49%
#: above what the order search finds in 2 s (bench/results/online.md's 60 tasks/s streams).
ORDER_SHARE = 0.3

#: Up to BNB_MAX_TASKS, the share of the time limit CP-SAT gets first when no heuristic schedule
#: is feasible (a probe for infeasibility, or for an incumbent).
PROBE_SHARE = 0.1


def bnb_share(num_tasks: int) -> float:
    """The share of the time limit the branch and bound gets before CP-SAT: nearly all of it where
    it proves (every K <= 8 scenario of the speed bench, within 42 s of 60; CP-SAT none from K = 6
    on), half beyond, where CP-SAT's schedules are better."""
    return 0.9 if num_tasks <= 8 else 0.5


def solve_shared_exact(scenario: Scenario, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Solve ``scenario`` exactly with the portfolio of the module docstring (``time_limit`` s in all)."""
    begin = time.perf_counter()
    k = scenario.num_tasks
    if k <= BNB_MAX_TASKS:
        first_name, hint = "shared-bnb", None
        if not _heuristics_feasible(scenario, objective):
            probe = solve_shared_cpsat(
                scenario, objective, seed=seed, time_limit=None if time_limit is None else PROBE_SHARE * time_limit
            )
            if probe.proven_optimal or probe.proven_infeasible:
                return _tagged(probe, "shared-cpsat")
            hint = None if probe.placement is None else (probe.placement, probe.start_s)
        left = None if time_limit is None else float(time_limit) - (time.perf_counter() - begin)
        first = solve_shared_bnb(
            scenario, objective, seed=seed, incumbent=hint, time_limit=None if left is None else bnb_share(k) * left
        )
        if first.proven_optimal or first.proven_infeasible:
            return _tagged(first, "shared-bnb")
    else:
        first_name = "shared-order-search"
        first = solve_shared_order_search(
            scenario, objective, seed=seed, time_limit=None if time_limit is None else ORDER_SHARE * float(time_limit)
        )
    left = None if time_limit is None else max(0.5, float(time_limit) - (time.perf_counter() - begin))
    known = None if first.placement is None else (first.placement, first.start_s)
    second = solve_shared_cpsat(scenario, objective, time_limit=left, seed=seed, incumbent=known)
    if second.proven_infeasible:
        return _tagged(second, "shared-cpsat")
    candidates = [(r.placement, r.start_s) for r in (second, first) if r.placement is not None]
    if not candidates:
        return _tagged(second, "shared-cpsat")
    placement, start_s, best = best_candidate(scenario, objective, candidates)
    bounds = [b for b in (first.lower_bound, second.lower_bound) if b is not None and math.isfinite(b)]
    bound = (
        vetted_bound("shared-exact", max(bounds), best)
        if bounds and objective.feasible(best)
        else (max(bounds) if bounds else None)
    )
    # CP-SAT was given the first member's schedule: its proof, if any, already stands against it.
    proven = second.proven_optimal
    info = {
        "first": {"solver": first_name, **(first.info or {})},
        "then": {"solver": "shared-cpsat", **(second.info or {})},
        "proven_by": "shared-cpsat" if proven else None,
    }
    return SolverOutput(
        placement=placement, start_s=start_s, proven_optimal=proven, timed_out=not proven, lower_bound=bound, info=info
    )


def _heuristics_feasible(scenario: Scenario, objective: Objective) -> bool:
    """Whether earliest-finish's schedule (or the per-task start's incumbent) is feasible; True
    when the start proves the scenario infeasible at once (the branch and bound says so)."""
    start = exact_start(scenario, objective, work=False)
    return isinstance(start, SolverOutput) or objective.feasible(start.known)


def _tagged(output: SolverOutput, solver: str) -> SolverOutput:
    """``output`` with the portfolio member that gave it named in its info."""
    return SolverOutput(
        placement=output.placement,
        start_s=output.start_s,
        proven_optimal=output.proven_optimal,
        proven_infeasible=output.proven_infeasible,
        timed_out=output.timed_out,
        lower_bound=output.lower_bound,
        info={
            **(output.info or {}),
            "proven_by" if (output.proven_optimal or output.proven_infeasible) else "answered_by": solver,
        },
    )
