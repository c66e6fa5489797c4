"""Exact enumeration of all (N+1)^M placements, for tiny instances and for tests.

Placements are priced in chunks from the cost tensors; the best is the first (in
lexicographic order) of least cost. An instance with more than ``max_placements``
placements is refused at once rather than left to run for hours; a time limit stops
the enumeration between chunks with the best placement so far (not proven).
"""

from __future__ import annotations

import itertools
import math
import time
from typing import TYPE_CHECKING

import numpy as np

from partopt import formulas as f
from partopt.chain.costs import along
from partopt.result import SolverOutput

if TYPE_CHECKING:
    from partopt.chain.model import Instance
    from partopt.objective import Objective

__all__ = ["MAX_PLACEMENTS", "solve_brute_force"]

MAX_PLACEMENTS = 2_000_000
_CHUNK = 65_536


def solve_brute_force(
    instance: Instance, objective: Objective, *, time_limit=None, seed=None, max_placements: int = MAX_PLACEMENTS
) -> SolverOutput:
    """Try every placement; refuse when (N+1)^M exceeds ``max_placements``."""
    locs, m_blocks = instance.num_locations, instance.num_blocks
    if m_blocks * math.log10(locs) > math.log10(max_placements) + 1e-12:
        raise ValueError(
            f"instance: brute force would try (N+1)^M = {locs}^{m_blocks} (about 10^{m_blocks * math.log10(locs):.1f}) "
            f"placements, more than max_placements={max_placements:,}; use solver='dp'"
        )
    count = locs**m_blocks
    stop = math.inf if time_limit is None else time.perf_counter() + time_limit
    costs = instance.costs
    step = objective.step_cost(costs)[0]
    energy = costs.energy[0]
    budget = instance.budget
    best_value, best = np.inf, None
    every = itertools.product(range(locs), repeat=m_blocks)
    while True:
        if time.perf_counter() > stop:
            info = {"placements": count, "termination": "time limit"}
            if best is None:
                return SolverOutput(placement=None, timed_out=True, info=info)
            return SolverOutput(placement=best, timed_out=True, info=info)
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
