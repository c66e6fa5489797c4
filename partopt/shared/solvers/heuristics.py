"""Heuristics for the shared edge.

- ``shared-greedy``: the source paper's baseline. Tasks in release order; each block
  goes to the server with the least load (the one free earliest, ties to the faster),
  never to the device.
- ``earliest-finish``: tasks in release order; each is placed by the earliest-finish
  DP (:mod:`partopt.shared.solvers.common`) against the times at which every server
  and its device become free, and appended there. Exact for one task against fixed
  availabilities; its schedule is returned. Compiled
  (:class:`partopt.shared.kernels.ListScheduler`, checked against the Python DP).
- ``shared-local-search``: single-block moves, first improvement, tasks in release order,
  from the better of earliest-finish's and as-if-alone's placements, until no move helps,
  its effort is spent (blocks scheduled per task, a budget of work that makes the answer
  the same on every machine; its time per task: ``bench/results/shared_suites.md``) or the time limit
  is reached. A placement is priced as the list schedule of its tasks in release order
  (each task's blocks appended to the resources' queues, the schedule earliest-finish
  builds; the default) or, with ``dispatch="fifo"``, under FIFO dispatch, the model's rule
  for a placement without a schedule. Each trial is priced in compiled code from the last
  recorded state before the move (:class:`partopt.shared.kernels.AppendScorer`,
  :class:`partopt.shared.kernels.FifoScorer`, checked against :func:`partopt.evaluate`);
  the answer is priced by ``evaluate``.
- ``as-if-alone``: each task's Part I optimum (DP), as if it had the edge to itself,
  then FIFO dispatch. If a task has no feasible placement even alone, the scenario is
  proven infeasible.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Sequence

from partopt.result import SolverOutput
from partopt.shared.solvers.common import alone_optima, best_candidate

if TYPE_CHECKING:
    from partopt.objective import Objective
    from partopt.shared.model import Scenario

__all__ = [
    "check_effort",
    "earliest_finish_schedule",
    "local_search",
    "release_order",
    "solve_as_if_alone",
    "solve_earliest_finish",
    "solve_shared_greedy",
    "solve_shared_local_search",
]


def release_order(scenario: Scenario) -> list[int]:
    """Task indices by (release time, index)."""
    return sorted(range(scenario.num_tasks), key=lambda k: (scenario.tasks[k].release_s, k))


def solve_shared_greedy(scenario: Scenario, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Each block, in release order, to the least-loaded server (see the module docstring)."""
    free = [s.available_s for s in scenario.servers]
    speed = [s.cpu_hz for s in scenario.servers]
    placement: list[list[int]] = [[] for _ in scenario.tasks]
    for k in release_order(scenario):
        tab, prev_loc, prev_end, row = scenario.tables[k], 0, scenario.tasks[k].release_s, placement[k]
        for m in range(len(tab.duration)):
            n = min(range(len(free)), key=lambda i: (free[i], -speed[i], i))
            loc = n + 1
            begin = max(prev_end + tab.transfer[m][prev_loc][loc], free[n])
            free[n] = prev_end = begin + tab.duration[m][loc]
            prev_loc = loc
            row.append(loc)
    return SolverOutput(placement=placement)


def earliest_finish_schedule(scenario: Scenario, keep_deadlines: bool) -> tuple[list, list]:
    """Placement and start times of the earliest-finish heuristic: tasks in release order, each
    placed by :func:`partopt.shared.solvers.common.earliest_finish_chain` against the times at
    which every resource becomes free, and appended there (compiled:
    :class:`partopt.shared.kernels.ListScheduler`, checked against the Python DP by a test).
    keep_deadlines: drop moves that break a block deadline; a task left without a placement
    takes its fastest one."""
    from partopt.shared.kernels import ListScheduler  # Numba loads on first use

    scheduler = ListScheduler(scenario)
    placement, start, _ = scheduler.schedule(release_order(scenario), keep_deadlines)
    return scheduler.rows(placement), scheduler.rows(start)


def solve_earliest_finish(scenario: Scenario, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Tasks in release order, each by the earliest-finish DP (see the module docstring)."""
    placement, start = earliest_finish_schedule(scenario, keep_deadlines=objective.kind == "hard")
    return SolverOutput(placement=placement, start_s=start)


def _alone_placement(scenario: Scenario, objective: Objective) -> list | None:
    """Each task's Part I optimum; None when some task has no feasible placement even alone."""
    alone = alone_optima(scenario, objective)
    rows = [alone[(task.device, task.model)][0] for task in scenario.tasks]
    return None if any(row is None for row in rows) else [list(row) for row in rows if row is not None]


def solve_as_if_alone(scenario: Scenario, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Each task's single-chain optimum, then FIFO dispatch (see the module docstring)."""
    placement = _alone_placement(scenario, objective)
    if placement is None:
        return SolverOutput(placement=None, proven_infeasible=True, info={"reason": "a task is infeasible alone"})
    return SolverOutput(placement=placement)


#: The local search's default effort: blocks scheduled per task, in all (its time per task, with
#: list schedules and under FIFO dispatch: bench/results/shared_speed.md).
DISPATCHES_PER_TASK = 40_000


def check_effort(name: str, value: object) -> None:
    """Refuse a search's effort setting ``name`` unless it is an int >= 1 or None (no limit)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name}: must be an int >= 1 or None, got {value!r}")


def solve_shared_local_search(
    scenario: Scenario,
    objective: Objective,
    *,
    time_limit=None,
    seed=None,
    max_evaluations: int | None = None,
    dispatches_per_task: int | None = DISPATCHES_PER_TASK,
    dispatch: str = "list",
) -> SolverOutput:
    """Single-block moves (see the module docstring), each placement priced as the list schedule
    of its tasks in release order (``dispatch="list"``, the default) or under FIFO dispatch
    (``"fifo"``: about seven times dearer per block; better on some suites, worse on others,
    ``bench/results/shared_suites.md``).

    The search stops when no move helps, after ``max_evaluations`` placements priced (None: no
    limit), after scheduling ``dispatches_per_task`` blocks per task in all (a budget of work,
    the same on every machine, so the answer is too; None: no limit), or at ``time_limit``.
    """
    for name, value in (("max_evaluations", max_evaluations), ("dispatches_per_task", dispatches_per_task)):
        check_effort(name, value)
    if dispatch not in ("fifo", "list"):
        raise ValueError(f"dispatch: must be 'fifo' or 'list', got {dispatch!r}")
    ef_placement, ef_start = earliest_finish_schedule(scenario, keep_deadlines=objective.kind == "hard")
    starts: list[tuple[list, list | None]] = [(ef_placement, ef_start)]
    alone = _alone_placement(scenario, objective)
    if alone is not None:
        starts.append((alone, None))
    work = None if dispatches_per_task is None else dispatches_per_task * scenario.num_tasks
    return local_search(
        scenario,
        objective,
        starts,
        time_limit,
        max_evaluations,
        work,
        release_order(scenario) if dispatch == "list" else None,
    )


def local_search(
    scenario: Scenario,
    objective: Objective,
    starts: Sequence[tuple[list, list | None]],
    time_limit: float | None = None,
    max_evaluations: int | None = None,
    max_dispatched: int | None = None,
    order: Sequence[int] | None = None,
) -> SolverOutput:
    """Single-block moves, first improvement, from the best of ``starts`` ((placement, start
    times or None) pairs), until no move helps, ``max_evaluations`` placements are priced,
    ``max_dispatched`` blocks are scheduled in all or ``time_limit`` (s) passes (None: no such
    limit). A placement is priced under FIFO dispatch (``order`` None;
    :class:`partopt.shared.kernels.FifoScorer`) or as the list schedule of its tasks in
    ``order`` (:class:`partopt.shared.kernels.AppendScorer`); each move is priced from the
    last recorded state before it. The answer is the better of the placement found with its
    schedule and every start with its own."""
    most_evaluations = math.inf if max_evaluations is None else max_evaluations
    most_dispatched = math.inf if max_dispatched is None else max_dispatched
    deadline = math.inf if time_limit is None else time.perf_counter() + time_limit
    from partopt.shared.kernels import AppendScorer, FifoScorer  # Numba loads on first use

    scorer: FifoScorer | AppendScorer = FifoScorer(scenario) if order is None else AppendScorer(scenario, order)

    def key(summary) -> tuple[bool, float]:
        return (not objective.feasible(summary), objective.raw_value(summary))

    first = min((p for p, _ in starts), key=lambda p: key(scorer.score(p)))
    current = scorer.packed(first)
    best = key(scorer.trace(current))
    evaluations, improved, stopped = len(starts), True, False
    n = scenario.num_servers
    sweep = release_order(scenario) if order is None else [int(k) for k in order]
    while improved and not stopped:
        improved = False
        for k in sweep:
            for m in range(scenario.block_counts[k]):
                for loc in range(n + 1):
                    if loc == current[k, m]:
                        continue
                    if (
                        evaluations >= most_evaluations
                        or scorer.dispatched >= most_dispatched
                        or time.perf_counter() > deadline
                    ):
                        stopped = True
                        break
                    trial = key(scorer.score_move(k, m, loc))
                    evaluations += 1
                    if trial < best and (trial[0] < best[0] or trial[1] < best[1] * (1 - 1e-12)):
                        current[k, m] = loc
                        best, improved = key(scorer.trace(current)), True
                if stopped:
                    break
            if stopped:
                break
    found = scorer.rows(current)
    found_start = scorer.start_times() if isinstance(scorer, AppendScorer) else None
    # A start's own schedule can beat FIFO dispatch of any placement nearby: keep the better.
    best_placement, best_start, _ = best_candidate(
        scenario, objective, [(found, found_start)] + [s for s in starts if s[1] is not None]
    )
    timed_out = stopped and time.perf_counter() > deadline
    return SolverOutput(
        placement=best_placement,
        start_s=best_start,
        timed_out=timed_out,
        info={"evaluations": evaluations, "dispatched": scorer.dispatched},
    )
