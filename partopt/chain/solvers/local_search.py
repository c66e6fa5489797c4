"""Local search by single-block moves, alone or to polish another solver's answer.

From a start placement, repeatedly apply the best move of one block to another
location, ranking placements by (constraint violation, objective value) as in
:func:`partopt.chain.solvers.heuristics.placement_scores`, until no move improves. A
feasible start therefore stays feasible, and an infeasible one is first pulled
towards feasibility. Each pass prices all M x N moves at once from the cost tensors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from partopt.chain.model import Instance, validate_placement
from partopt.chain.solvers.heuristics import placement_scores
from partopt.registry import get_solver, solver_spec
from partopt.result import SolverOutput

if TYPE_CHECKING:
    from partopt.objective import Objective

__all__ = ["polish", "solve_local_search"]


def polish(instance: Instance, objective: Objective, placement: Sequence[int], max_passes: int = 10_000) -> list[int]:
    """Improve ``placement`` by best single-block moves until none helps; returns the result."""
    current = np.array(validate_placement(instance, placement), dtype=int)
    m_blocks, locs = instance.num_blocks, instance.num_locations
    for _ in range(max_passes):
        moves = np.repeat(current[None, :], m_blocks * locs, axis=0)
        moves[np.arange(m_blocks * locs), np.repeat(np.arange(m_blocks), locs)] = np.tile(np.arange(locs), m_blocks)
        violation, value = placement_scores(instance, objective, np.vstack([current[None, :], moves]))
        order = np.lexsort((np.arange(len(value)), value, violation))
        best = int(order[0])
        if best == 0 or (violation[best], value[best]) >= (violation[0], value[0]):
            break
        current = moves[best - 1]
    return current.tolist()


def solve_local_search(
    instance: Instance,
    objective: Objective,
    *,
    time_limit=None,
    seed=None,
    start: str | Sequence[int] = "greedy",
) -> SolverOutput:
    """Local search from ``start``: a placement, or the name of a solver whose answer is polished."""
    if isinstance(start, str):
        if solver_spec(start).problem != "chain":
            raise ValueError(f"start: {start!r} is not a solver of one chain")
        first = get_solver(start)(instance, objective, time_limit=time_limit, seed=seed)
        if not isinstance(first, SolverOutput):
            first = SolverOutput(placement=first)
        if first.placement is None:
            return SolverOutput(
                placement=None, proven_infeasible=first.proven_infeasible, timed_out=not first.proven_infeasible
            )
        start = list(first.placement)
    begin = list(start)
    return SolverOutput(placement=polish(instance, objective, begin), info={"start": begin})
