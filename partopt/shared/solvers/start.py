"""Where the exact shared-edge solvers (CP-SAT, MILP, branch and bound) start and end:
per-task bounds, the work relaxation's bound on the total
(:mod:`partopt.shared.solvers.relaxation`), the earliest-finish incumbent, the answer when
the limit passes while a model is built, and the chain-schedule LP's bound
(:mod:`partopt.shared.solvers.columns`) for an answer the search did not prove."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from partopt.objective import Objective
from partopt.result import SolverOutput, bound_exceeds, reject_bound
from partopt.shared.evaluation import ScenarioEvaluation, evaluate_scenario
from partopt.shared.solvers.columns import CHAIN_LP_GRID_S, refined_chain_lp_bound
from partopt.shared.solvers.common import task_lower_bounds
from partopt.shared.solvers.heuristics import earliest_finish_schedule
from partopt.shared.solvers.relaxation import refined_work_bound, work_bound

if TYPE_CHECKING:
    from partopt.shared.model import Scenario

__all__ = [
    "CHAIN_LP_MIN_TASKS",
    "CHAIN_LP_SHARE",
    "WORK_BOUND_MIN_TASKS",
    "ExactStart",
    "chain_lp_reserve",
    "exact_start",
    "grid_rounding_steps",
    "incumbent_output",
    "reported_bound",
    "search_seconds",
    "vetted_answer",
    "vetted_bound",
    "with_incumbent",
    "with_work_bound",
    "work_share",
]

#: From this many tasks on, the exact solvers also solve the work relaxation (an LP) for a
#: bound on the total delay: with fewer, the per-task bounds are nearly as good.
WORK_BOUND_MIN_TASKS = 3
#: From this many tasks on, an exact solver keeps :data:`CHAIN_LP_SHARE` of its time limit for
#: the chain-schedule LP's bound, spent only when its search proves nothing: on the speed
#: bench every scenario with fewer tasks is proven well within a minute, none with more.
CHAIN_LP_MIN_TASKS = 6
CHAIN_LP_SHARE = 0.2
#: Beyond :data:`CHAIN_LP_LARGE_AFTER` tasks (where the default solver no longer runs the branch
#: and bound) the chain-schedule LP gets this share instead: there it is the strongest bound by far,
#: and CP-SAT's search rarely improves the order search's schedule
#: (``bench/results/shared_large_bounds.md``).
CHAIN_LP_LARGE_SHARE = 0.6
CHAIN_LP_LARGE_AFTER = 16
#: From this many tasks on the chain-schedule LP is not solved (each of its master LPs takes tens
#: of seconds at K = 256, so a time limit ends it near its start); the work relaxation is refined
#: in its place (:func:`~partopt.shared.solvers.relaxation.refined_work_bound`).
CHAIN_LP_MAX_TASKS = 128


@dataclass(frozen=True)
class ExactStart:
    """What both exact solvers start from: per-task bounds on their objective share and on
    D_k alone (s), the work relaxation's bound on sum_k D_k (s, None when not solved), and
    the earliest-finish solution as hint and incumbent, with its evaluation ``known``."""

    bounds: list[float]
    delay_low: list[float]
    incumbent: tuple[list, list]
    known: ScenarioEvaluation
    work_bound: float | None = None

    @property
    def lower(self) -> float:
        """The best of these bounds on the objective (s): the penalty only adds to sum_k D_k."""
        return max(sum(self.bounds), -math.inf if self.work_bound is None else self.work_bound)


def work_share(scenario: Scenario) -> float:
    """The share of an exact solver's time limit the work relaxation gets: it grows with K, from
    5% at K = 8 to half from K = 80 on (the larger the scenario, the less search adds to its bound)."""
    return min(0.5, scenario.num_tasks / 160)


def grid_rounding_steps(scenario: Scenario) -> int:
    """How many grid steps a schedule on an integer time grid may lose to rounding up:
    K (2 sum_k M_k + 1), one per duration and transfer before each block and one per return
    (the agreement rule of docs/model.md)."""
    return scenario.num_tasks * (2 * sum(scenario.block_counts) + 1)


def vetted_bound(what: str, bound: float | None, known: ScenarioEvaluation) -> float | None:
    """``bound`` on sum_k D_k (s), or None when it lies above the total delay of ``known``, a
    schedule in hand that keeps every deadline and budget: such a bound is invalid, so it is
    dropped and reported (:class:`~partopt.result.InvalidBoundWarning`) before it can become a
    cut or a reported bound."""
    if bound is not None and known.feasible and bound_exceeds(bound, known.total_delay):
        reject_bound(what, bound, known.total_delay)
        return None
    return bound


def vetted_answer(
    what: str,
    proven: bool,
    bound: float,
    chosen: ScenarioEvaluation,
    objective: Objective,
    in_hand: list[ScenarioEvaluation],
    fallback: float,
    tolerance_s: float = 0.0,
) -> tuple[bool, float]:
    """A model solver's claim (proven optimal, lower bound in s) checked against every schedule in
    hand (the incumbent, the hint, its own): a schedule better than a proven answer ``chosen`` by
    more than ``tolerance_s`` (the grid's rounding) refutes the proof, and a bound above a schedule
    in hand is invalid. Either is reported (:class:`~partopt.result.InvalidBoundWarning`); the proof
    is dropped, and an invalid bound replaced by ``fallback`` (s; e.g. the per-task bounds' sum)."""
    values = [objective.raw_value(ev) for ev in in_hand if objective.feasible(ev)]
    if not values:
        return proven, bound
    best = min(values)
    if proven and objective.feasible(chosen) and objective.raw_value(chosen) > best + tolerance_s + 1e-9 * best:
        reject_bound(f"{what} (its proof of optimality)", objective.raw_value(chosen), best)
        proven = False
    if bound_exceeds(bound, best):
        reject_bound(what, bound, best)
        return proven, fallback
    return proven, bound


def with_work_bound(start: ExactStart, scenario: Scenario, time_limit: float | None = None) -> ExactStart:
    """``start`` with the work relaxation's bound on the total (K >= :data:`WORK_BOUND_MIN_TASKS`;
    buckets over the incumbent's span; ``time_limit`` s for the LP, spent on finer buckets from
    :data:`CHAIN_LP_MAX_TASKS` tasks on), vetted against the incumbent."""
    if scenario.num_tasks < WORK_BOUND_MIN_TASKS:
        return start
    span = max(max(row) for row in start.known.finish_s)
    if scenario.num_tasks >= CHAIN_LP_MAX_TASKS and time_limit is not None:
        found = refined_work_bound(scenario, start.delay_low, span, time_limit)
    else:
        found = work_bound(scenario, start.delay_low, span, time_limit=time_limit)
    return dataclasses.replace(start, work_bound=vetted_bound("the work relaxation", found, start.known))


def with_incumbent(start: ExactStart, scenario: Scenario, objective: Objective, incumbent) -> ExactStart:
    """``start`` with ``incumbent`` (placement, start_s or None for FIFO dispatch) as its hint and
    incumbent when it keeps the objective's constraints and beats the one it has; the work bound
    is vetted against it too."""
    if not isinstance(incumbent, (tuple, list)) or len(incumbent) != 2:
        raise ValueError(f"incumbent: must be a (placement, start_s or None) pair, got {incumbent!r}")
    known = evaluate_scenario(scenario, *incumbent)
    if not objective.feasible(known) or (
        objective.feasible(start.known) and objective.raw_value(known) >= objective.raw_value(start.known)
    ):
        return start
    return dataclasses.replace(
        start,
        incumbent=(list(known.placement), list(known.start_s)),
        known=known,
        work_bound=vetted_bound("the work relaxation", start.work_bound, known),
    )


def chain_lp_reserve(scenario: Scenario, time_limit: float | None) -> float:
    """Seconds of ``time_limit`` an exact solver keeps for the chain-schedule LP: 0 without a limit
    or outside [:data:`CHAIN_LP_MIN_TASKS`, :data:`CHAIN_LP_MAX_TASKS`) tasks, else
    :data:`CHAIN_LP_SHARE` of it, :data:`CHAIN_LP_LARGE_SHARE` beyond :data:`CHAIN_LP_LARGE_AFTER`."""
    if time_limit is None or not CHAIN_LP_MIN_TASKS <= scenario.num_tasks < CHAIN_LP_MAX_TASKS:
        return 0.0
    return (CHAIN_LP_SHARE if scenario.num_tasks <= CHAIN_LP_LARGE_AFTER else CHAIN_LP_LARGE_SHARE) * float(time_limit)


def search_seconds(scenario: Scenario, time_limit: float | None, begin: float, have_schedule: bool) -> float | None:
    """Seconds a model solver's search gets: what is left of ``time_limit`` since ``begin``
    (a ``time.perf_counter()``), less the chain-schedule LP's reserve when it ``have_schedule``
    (a feasible incumbent: the LP needs a schedule's objective; without one the search has every
    second, as it must find one first); None without a limit."""
    if time_limit is None:
        return None
    reserve = chain_lp_reserve(scenario, time_limit) if have_schedule else 0.0
    return time_limit - (time.perf_counter() - begin) - reserve


def reported_bound(
    start: ExactStart,
    scenario: Scenario,
    objective: Objective,
    known: ScenarioEvaluation,
    bound: float,
    proven: bool,
    time_limit: float | None,
    begin: float,
    info: dict | None = None,
) -> float:
    """The bound an exact solver reports (s): its own ``bound``, raised, when the search did not
    prove ``known`` (the best schedule found) optimal and :data:`CHAIN_LP_MIN_TASKS` <= K <
    :data:`CHAIN_LP_MAX_TASKS`, by the chain-schedule LP's bound below ``known``'s objective,
    solved in what is left of ``time_limit`` since ``begin`` (a ``time.perf_counter()``), on
    slots that fit the horizon first, then on finer grids while the time left allows
    (:func:`~partopt.shared.solvers.columns.refined_chain_lp_bound`),
    and stopped as soon as it cannot pass ``bound``. Where each bound came from goes to ``info``:
    ``work_bound`` and ``chain_lp`` (its bound, seconds, whether it converged, its slot and fine
    grid in s, whether it stopped because it could not pass ``bound``)."""
    if info is not None and start.work_bound is not None:
        info["work_bound"] = start.work_bound
    if proven or not CHAIN_LP_MIN_TASKS <= scenario.num_tasks < CHAIN_LP_MAX_TASKS or not objective.feasible(known):
        return bound
    upper = objective.raw_value(known)
    left = None if time_limit is None else max(0.1, time_limit - (time.perf_counter() - begin))
    incumbent = (known.placement, known.start_s)
    found = refined_chain_lp_bound(
        scenario, upper, start.delay_low, finest_s=CHAIN_LP_GRID_S, time_limit=left, incumbent=incumbent, floor_s=bound
    )
    lp_bound = None if found is None else vetted_bound("the chain-schedule LP", found.bound_s, known)
    if info is not None and found is not None:
        info["chain_lp"] = {
            "bound": lp_bound,
            "seconds": found.seconds,
            "converged": found.converged,
            "slot_s": found.grid_s,
            "fine_s": found.fine_s,
            "futile": found.futile,
        }
    return bound if lp_bound is None else max(bound, min(lp_bound, upper))


def exact_start(
    scenario: Scenario, objective: Objective, time_limit: float | None = None, work: bool = True
) -> ExactStart | SolverOutput:
    """The :class:`ExactStart` of ``scenario``, or the proof of infeasibility when some task has
    no feasible placement even alone (under "hard" its deadlines and its device's budget, under
    "penalty" the budget, which binds under both). With ``work``, the work relaxation's bound
    too, within :func:`work_share` of ``time_limit`` (s)."""
    hard = objective.kind == "hard"
    bounds = task_lower_bounds(scenario, objective)
    if any(math.isinf(b) for b in bounds):
        return SolverOutput(
            placement=None, proven_infeasible=True, info={"reason": "a task has no feasible placement even alone"}
        )
    delay_low = bounds if hard else task_lower_bounds(scenario, Objective("penalty", 0.0))  # on D_k alone
    incumbent = earliest_finish_schedule(scenario, keep_deadlines=hard)
    start = ExactStart(bounds, delay_low, incumbent, evaluate_scenario(scenario, *incumbent))
    if not work:
        return start
    return with_work_bound(start, scenario, None if time_limit is None else work_share(scenario) * time_limit)


def incumbent_output(start: ExactStart, info: dict, lower_bound: float | None = None) -> SolverOutput:
    """The incumbent, not proven: the answer when the time limit passed while the model was built
    (or when ``info["termination"]`` says why else), with ``lower_bound`` (s; default the start's)."""
    return SolverOutput(
        placement=start.known.placement,
        start_s=start.known.start_s,
        timed_out=True,
        lower_bound=start.lower if lower_bound is None else lower_bound,
        info={"termination": "time limit reached while building the model", **info},
    )
