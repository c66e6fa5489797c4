"""Exact enumeration of all (N+1)^M placements, for tiny instances and for tests.

Placements are priced in chunks from the cost tensors; the best is the first (in
lexicographic order) of least cost. An instance with more than ``max_placements``
placements is refused at once rather than left to run for hours.
"""

from __future__ import annotations

import itertools

import numpy as np

from partopt import formulas as f
from partopt.costs import along
from partopt.evaluation import Objective
from partopt.model import Instance
from partopt.result import SolverOutput

__all__ = ["solve_brute_force", "MAX_PLACEMENTS"]

MAX_PLACEMENTS = 2_000_000
_CHUNK = 65_536


def solve_brute_force(
    instance: Instance, objective: Objective, *, time_limit=None, seed=None, max_placements: int = MAX_PLACEMENTS
) -> SolverOutput:
    """Try every placement; refuse when (N+1)^M exceeds ``max_placements``."""
    locs, m_blocks = instance.num_locations, instance.num_blocks
    count = locs**m_blocks
    if count > max_placements:
        raise ValueError(
            f"instance: brute force would try (N+1)^M = {locs}^{m_blocks} = {count:.3g} placements, "
            f"more than max_placements={max_placements:,}; use solver='dp'"
        )
    costs = instance.costs
    step = objective.step_cost(costs)[0]
    energy = costs.energy[0]
    budget = instance.budget
    best_value, best = np.inf, None
    every = itertools.product(range(locs), repeat=m_blocks)
    while True:
        chunk = np.array(list(itertools.islice(every, _CHUNK)), dtype=np.int64)
        if chunk.size == 0:
            break
        value = along(step, chunk).sum(axis=1)
        used = along(energy, chunk).sum(axis=1)
        value = np.where(f.within(used, budget), value, np.inf)
        k = int(np.argmin(value))
        if value[k] < best_value:
            best_value, best = float(value[k]), chunk[k].tolist()
    if best is None:
        return SolverOutput(placement=None, proven_infeasible=True, info={"placements": count})
    return SolverOutput(placement=best, proven_optimal=True, lower_bound=best_value, info={"placements": count})
