"""The shared edge's default exact solver: the branch and bound and CP-SAT, each from the other's schedule.

Which exact method is strongest depends on the scenario's size
(``bench/results/shared_speed.md``, ``bench/results/peers.md``): the continuous-time branch
and bound proves small and middle scenarios far faster than CP-SAT (every K = 8 scenario of
the speed bench, where CP-SAT proves none) but its schedules are weaker where it proves
nothing; CP-SAT finds better schedules there and scales to hundreds of tasks. So, for up to
:data:`BNB_MAX_TASKS` tasks, both run side by side (after :data:`ALONE_S` of the branch and
bound's tree alone, in which small scenarios are proven; not at all when less than
:data:`MIN_BESIDE_S` of the tree's time is left then, so that a short limit is kept): the branch and bound
(:class:`~partopt.shared.solvers.bnb.BranchAndBound`) on one core (its search is compiled and
holds no lock), CP-SAT on the others (:func:`beside_workers`: two workers at least, as one
searches without large neighbourhoods) for the rest of the tree's time, from the branch and
bound's best schedule; each schedule CP-SAT finds becomes the branch and bound's incumbent as
soon as it is found (one run rather than rounds of half the time left, each a restart: 0.25%
better schedules on the 14 scenarios of ``bench/results/shared_proofs.md`` left unproven), and
when the branch and bound proves its answer (optimal or infeasible) CP-SAT is stopped and that
is the answer. Where no heuristic schedule keeps every deadline, CP-SAT first probes with
:data:`PROBE_SHARE` of the limit: it proves infeasibility at once where the branch and bound,
with no incumbent to prune by, would enumerate, and otherwise hands its schedule to the branch
and bound as the incumbent.
Beyond, the order search runs first with :data:`ORDER_SHARE` of the limit (CP-SAT's model alone
takes seconds to build there), then CP-SAT from its schedule. The answer is the best schedule
any found, with the higher of their bounds (each valid in continuous time, vetted against both
schedules), "optimal" when one of them proves it (CP-SAT on its grid). On 2 cores the tree
shares them with CP-SAT's two workers, so a proof the branch and bound alone finds near the limit
can be lost (mixed K = 12, seed 7,000,002: 46.8 s alone); where neither proves, CP-SAT alone, with
both cores for the whole limit, can end with a better schedule (mixed K = 16 draws).
"""

from __future__ import annotations

import contextvars
import math
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from partopt.execution import usable_cores
from partopt.result import SolverOutput
from partopt.shared.evaluation import compact_schedule
from partopt.shared.solvers.bnb import BranchAndBound
from partopt.shared.solvers.common import best_candidate
from partopt.shared.solvers.cpsat import solve_shared_cpsat
from partopt.shared.solvers.orders import solve_shared_order_search
from partopt.shared.solvers.start import exact_start, vetted_bound

if TYPE_CHECKING:
    from partopt.objective import Objective
    from partopt.shared.model import Scenario

__all__ = [
    "ALONE_S",
    "BNB_MAX_TASKS",
    "MIN_BESIDE_S",
    "MIN_BESIDE_WORKERS",
    "MIN_ROUND_S",
    "OFFER_EVERY_S",
    "ORDER_SHARE",
    "PROBE_SHARE",
    "beside_workers",
    "solve_shared_exact",
]

#: Beyond this many tasks the branch and bound is not tried (its priced bound stops at 16).
BNB_MAX_TASKS = 16

#: Beyond BNB_MAX_TASKS, the share of the time limit the order search gets before CP-SAT: at
#: K = 134 CP-SAT spent 10 s building its model and answered earliest-finish's schedule, 49%
#: above what the order search finds in 2 s (bench/results/online.md's 60 tasks/s streams).
ORDER_SHARE = 0.3

#: How often (s) the branch and bound looks whether CP-SAT, beside it, has ended (its search
#: runs in chunks of about :data:`~partopt.shared.solvers.bnb.CHECK_EVERY_S` between looks).
OFFER_EVERY_S = 0.5
#: Seconds the branch and bound's tree searches alone before CP-SAT joins it: small scenarios
#: are proven within them, and their answer does not depend on how two threads' timings fall.
ALONE_S = 2.0
#: The shortest CP-SAT round beside the branch and bound (s; its model takes a second or two to build).
MIN_ROUND_S = 5.0
#: The least time (s) left of the tree's share after :data:`ALONE_S` for CP-SAT to join at all: its
#: start and model take about a second at K = 16, which a shorter round would spend beyond the limit.
MIN_BESIDE_S = 1.0

#: The fewest CP-SAT workers beside the branch and bound, even on two cores: with one worker CP-SAT
#: runs no large neighbourhood search (mixed K = 16, seed 5,000,001, 30 s: 1.982 s alone on one
#: worker, 1.399 s on two).
MIN_BESIDE_WORKERS = 2

#: Up to BNB_MAX_TASKS, the share of the time limit CP-SAT gets first when no heuristic schedule
#: is feasible (a probe for infeasibility, or for an incumbent).
PROBE_SHARE = 0.1


def solve_shared_exact(scenario: Scenario, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Solve ``scenario`` exactly with the portfolio of the module docstring (``time_limit`` s in all)."""
    begin = time.perf_counter()
    if scenario.num_tasks > BNB_MAX_TASKS:
        first = solve_shared_order_search(
            scenario, objective, seed=seed, time_limit=None if time_limit is None else ORDER_SHARE * float(time_limit)
        )
        left = None if time_limit is None else max(0.5, float(time_limit) - (time.perf_counter() - begin))
        known = None if first.placement is None else (first.placement, first.start_s)
        second = solve_shared_cpsat(scenario, objective, time_limit=left, seed=seed, incumbent=known)
        return _combined(scenario, objective, ("shared-order-search", first), second)
    hint = None
    if not _heuristics_feasible(scenario, objective):
        probe = solve_shared_cpsat(
            scenario, objective, seed=seed, time_limit=None if time_limit is None else PROBE_SHARE * time_limit
        )
        if probe.proven_optimal or probe.proven_infeasible:
            return _tagged(probe, "shared-cpsat")
        hint = None if probe.placement is None else (probe.placement, probe.start_s)
    left = None if time_limit is None else float(time_limit) - (time.perf_counter() - begin)
    return _bnb_beside_cpsat(scenario, objective, left, seed, hint)


def _bnb_beside_cpsat(scenario: Scenario, objective: Objective, left: float | None, seed, hint) -> SolverOutput:
    """The branch and bound in ``left`` s (None: no limit) from ``hint`` (a schedule or None), with
    CP-SAT beside it on the other cores until the tree's time is up (again if it ends sooner
    without a proof and :data:`MIN_ROUND_S` are left), from the branch and bound's best schedule,
    each schedule it finds offered to the branch and bound as its incumbent; CP-SAT stops when the
    branch and bound proves, and the branch and bound when CP-SAT does."""
    run = BranchAndBound(scenario, objective, seed=seed, incumbent=hint, time_limit=left)
    if run.early is not None and run.early.proven_infeasible:
        return _tagged(run.early, "shared-bnb")
    if run.advance(time.perf_counter() + ALONE_S):
        first = run.answer()
        if first.proven_optimal or first.proven_infeasible or first.placement is None:
            return _tagged(first, "shared-bnb")
        left_s = None if left is None else max(0.5, run.begin + left - time.perf_counter())
        second = solve_shared_cpsat(
            scenario, objective, time_limit=left_s, seed=seed, incumbent=run.best(), chain_lp=False
        )
        return _combined(scenario, objective, ("shared-bnb", first), second)
    if run.tree_stop - time.perf_counter() < MIN_BESIDE_S:  # CP-SAT would overrun the limit (never without one)
        return _tagged(run.answer(), "shared-bnb")
    stop = threading.Event()
    found: queue.SimpleQueue[tuple[list, list]] = queue.SimpleQueue()

    with ThreadPoolExecutor(max_workers=1) as pool:
        beside = _cpsat_beside(pool, run, left is not None, seed, stop, found)
        try:
            while (
                run.search is not None
                and not run.advance(time.perf_counter() + OFFER_EVERY_S)
                and time.perf_counter() < run.tree_stop
            ):
                _offer_found(run, found)
                if beside.done():
                    second = beside.result()
                    if second.proven_optimal or second.proven_infeasible:
                        return _tagged(second, "shared-cpsat")
                    if second.placement is not None:
                        run.offer(second.placement, second.start_s)
                    if run.tree_stop - time.perf_counter() >= MIN_ROUND_S:
                        beside = _cpsat_beside(pool, run, left is not None, seed, stop, found)
        finally:
            stop.set()
        second = beside.result()
        _offer_found(run, found)
    if second.proven_optimal or second.proven_infeasible:
        return _tagged(second, "shared-cpsat")
    first = run.answer()
    if first.proven_optimal or first.proven_infeasible:
        return _tagged(first, "shared-bnb")
    return _combined(scenario, objective, ("shared-bnb", first), second)


def _cpsat_beside(
    pool: ThreadPoolExecutor,
    run: BranchAndBound,
    limited: bool,
    seed,
    stop: threading.Event,
    found: queue.SimpleQueue,
) -> Future[SolverOutput]:
    """CP-SAT on ``pool`` beside ``run`` until its tree's time is up (no limit unless ``limited``),
    from its best schedule, each schedule it finds put in ``found``; ``stop`` ends it early."""
    return pool.submit(
        contextvars.copy_context().run,  # CP-SAT reports to the caller's watcher (the CLI's live line)
        solve_shared_cpsat,
        run.scenario,
        run.objective,
        time_limit=max(0.5, run.tree_stop - time.perf_counter()) if limited else None,
        seed=seed,
        incumbent=run.best(),
        workers=beside_workers(),
        chain_lp=False,
        stop=stop,
        on_schedule=lambda placement, start_s: found.put((placement, start_s)),
    )


def _offer_found(run: BranchAndBound, found: queue.SimpleQueue) -> None:
    """Offer ``run`` each schedule CP-SAT put in ``found`` (placement, grid start times (s)), compacted."""
    while not found.empty():
        placement, grid_start = found.get()
        run.offer(placement, compact_schedule(run.scenario, placement, grid_start))


def _combined(
    scenario: Scenario, objective: Objective, first: tuple[str, SolverOutput], second: SolverOutput
) -> SolverOutput:
    """The portfolio's answer from its first member's (named) answer and CP-SAT's, which was given
    the first member's schedule: the best schedule either found, with the higher of their bounds
    (each valid in continuous time, vetted against both schedules); "optimal" when CP-SAT proves it."""
    first_name, first_output = first
    if second.proven_infeasible:
        return _tagged(second, "shared-cpsat")
    candidates = [(r.placement, r.start_s) for r in (second, first_output) if r.placement is not None]
    if not candidates:
        return _tagged(second, "shared-cpsat")
    placement, start_s, best = best_candidate(scenario, objective, candidates)
    bounds = [b for b in (first_output.lower_bound, second.lower_bound) if b is not None and math.isfinite(b)]
    bound = (
        vetted_bound("shared-exact", max(bounds), best)
        if bounds and objective.feasible(best)
        else (max(bounds) if bounds else None)
    )
    # CP-SAT was given the first member's schedule: its proof, if any, already stands against it.
    proven = second.proven_optimal
    info = {
        "first": {"solver": first_name, **(first_output.info or {})},
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


def beside_workers() -> int:
    """CP-SAT's workers beside the branch and bound: the other cores, never fewer than
    :data:`MIN_BESIDE_WORKERS` (one worker searches without large neighbourhoods)."""
    return max(MIN_BESIDE_WORKERS, usable_cores() - 1)
