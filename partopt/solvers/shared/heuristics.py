"""Heuristics for the shared edge.

- ``shared-greedy``: the source paper's baseline. Tasks in release order; each block
  goes to the server with the least load (the one free earliest, ties to the faster),
  never to the device.
- ``earliest-finish``: tasks in release order; each is placed by the earliest-finish
  DP (:mod:`partopt.solvers.shared.common`) against the times at which every server
  and its device become free, and appended there. Exact for one task against fixed
  availabilities; its schedule is returned.
- ``shared-local-search``: single-block moves under FIFO dispatch, first improvement,
  from the better of earliest-finish's and as-if-alone's placements, until no move
  helps, the evaluation budget is spent or the time limit is reached. Each trial is
  priced by a compiled FIFO dispatch (:class:`partopt.solvers.compiled.FifoScorer`,
  checked against :func:`partopt.evaluate`); the answer is priced by ``evaluate``.
- ``as-if-alone``: each task's Part I optimum (DP), as if it had the edge to itself,
  then FIFO dispatch. If a task has no feasible placement even alone, the scenario is
  proven infeasible.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Sequence

from partopt.evaluation import Objective
from partopt.result import SolverOutput
from partopt.scenario import Scenario
from partopt.solvers.shared.common import alone_optima, best_candidate, earliest_finish_chain

__all__ = ["solve_shared_greedy", "solve_earliest_finish", "solve_shared_local_search", "solve_as_if_alone",
           "release_order", "earliest_finish_schedule", "local_search"]


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


def earliest_finish_schedule(scenario: Scenario, keep_deadlines: bool,
                             price: Callable[[int, int, list[float]], Sequence[float]] | None = None
                             ) -> tuple[list, list]:
    """Placement and start times of the earliest-finish heuristic.

    price: optional ``price(index, k, free)`` giving, for task k (the index-th released), a
    charge per second of work on each location given their free times ``free`` (the task's
    device first): the learned dispatch (:mod:`partopt.learned.dispatch`).
    """
    server_free = [s.available_s for s in scenario.servers]
    device_free = [0.0] * scenario.num_devices
    placement: list[list[int]] = [[] for _ in scenario.tasks]
    start: list[list[float]] = [[] for _ in scenario.tasks]
    for index, k in enumerate(release_order(scenario)):
        task, tab = scenario.tasks[k], scenario.tables[k]
        free = [device_free[task.device]] + server_free
        charge = None if price is None else price(index, k, free)
        chain = earliest_finish_chain(tab, task.release_s, free, keep_deadlines, charge)
        if chain is None:  # no move keeps the deadlines: the fastest placement anyway
            chain = earliest_finish_chain(tab, task.release_s, free, False, charge)
        if chain is None:
            raise RuntimeError(f"earliest-finish found no placement for task {k}")
        for loc, end in zip(chain.placement, chain.finish_s):
            if loc == 0:
                device_free[task.device] = end
            else:
                server_free[loc - 1] = end
        placement[k], start[k] = list(chain.placement), list(chain.start_s)
    return placement, start


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


def solve_shared_local_search(scenario: Scenario, objective: Objective, *, time_limit=None, seed=None,
                              max_evaluations: int = 20_000) -> SolverOutput:
    """Single-block moves under FIFO dispatch (see the module docstring).

    max_evaluations: how many placements may be priced at most.
    """
    ef_placement, ef_start = earliest_finish_schedule(scenario, keep_deadlines=objective.kind == "hard")
    starts: list[tuple[list, list | None]] = [(ef_placement, ef_start)]
    alone = _alone_placement(scenario, objective)
    if alone is not None:
        starts.append((alone, None))
    return local_search(scenario, objective, starts, time_limit, max_evaluations)


def local_search(scenario: Scenario, objective: Objective, starts: Sequence[tuple[list, list | None]],
                 time_limit: float | None = None, max_evaluations: int = 20_000) -> SolverOutput:
    """Single-block moves under FIFO dispatch, first improvement, from the best of ``starts``
    ((placement, start times or None) pairs), until no move helps, ``max_evaluations``
    placements are priced or ``time_limit`` (s) passes. The answer is the better of the
    placement found (FIFO dispatch) and every start with its own schedule."""
    if isinstance(max_evaluations, bool) or not isinstance(max_evaluations, int) or max_evaluations < 1:
        raise ValueError(f"max_evaluations: must be an int >= 1, got {max_evaluations!r}")
    deadline = math.inf if time_limit is None else time.perf_counter() + time_limit
    first, _, _ = best_candidate(scenario, objective, [(p, None) for p, _ in starts])
    from partopt.solvers.compiled import FifoScorer  # Numba loads on first use

    scorer = FifoScorer(scenario)
    current = scorer.packed(first)

    def score() -> tuple[bool, float]:
        summary = scorer.score(current)
        return (not objective.feasible(summary), objective.raw_value(summary))

    best = score()
    evaluations, improved, stopped = len(starts), True, False
    n = scenario.num_servers
    while improved and not stopped:
        improved = False
        for k, blocks in enumerate(scenario.block_counts):
            for m in range(blocks):
                here = int(current[k, m])
                for loc in range(n + 1):
                    if loc == here:
                        continue
                    if evaluations >= max_evaluations or time.perf_counter() > deadline:
                        stopped = True
                        break
                    current[k, m] = loc
                    trial = score()
                    evaluations += 1
                    if trial < best and (trial[0] < best[0] or trial[1] < best[1] * (1 - 1e-12)):
                        best, here, improved = trial, loc, True
                    current[k, m] = here
                if stopped:
                    break
            if stopped:
                break
    found = [current[k, :blocks].tolist() for k, blocks in enumerate(scenario.block_counts)]
    # A start's own schedule can beat FIFO dispatch of any placement nearby: keep the better.
    best_placement, best_start, _ = best_candidate(scenario, objective,
                                                   [(found, None)] + [s for s in starts if s[1] is not None])
    timed_out = stopped and time.perf_counter() > deadline
    return SolverOutput(placement=best_placement, start_s=best_start, timed_out=timed_out,
                        info={"evaluations": evaluations})
