"""Exact dynamic programming over the chain of blocks.

The placement cost is a sum of per-block terms that depend only on (a_{m-1}, a_m),
so problem P is a shortest path through a layered graph: one layer per block, one
node per location, an edge i -> j in layer m priced by the objective's step cost
(:meth:`partopt.costs.CostTensors.step_cost`). Under "hard", an edge whose block
delay breaks the deadline is removed; under "penalty" it is priced.

- Without an energy budget: Bellman recursion, O(M (N+1)^2), vectorized with NumPy
  over locations and over a whole batch of same-shaped instances
  (:func:`solve_batch`).
- With a budget: a resource-constrained shortest path, solved exactly by labels
  (delay, energy) per node with Pareto pruning, plus a prune of labels that cannot
  finish within the budget even at the least remaining energy. No rounding.

Ties go to the lowest location index, so answers are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from partopt import formulas as f
from partopt.costs import InstanceBatch, cost_tensors
from partopt.evaluation import Objective
from partopt.model import Instance
from partopt.result import SolverOutput

__all__ = ["solve_dp", "solve_batch", "chain_dp", "BatchSolution"]


def chain_dp(step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-cost paths for a batch of step-cost tensors of shape (B, M, L, L).

    Returns (placements (B, M) int, values (B,)); a value of inf means no finite path
    (its placement row is meaningless).
    """
    bsz, m_blocks, locs, _ = step.shape
    value = step[:, 0, 0, :].copy()  # (B, L): the raw input starts on the device
    back = np.zeros((bsz, m_blocks, locs), dtype=np.int64)
    rows = np.arange(bsz)[:, None]
    for m in range(1, m_blocks):
        total = value[:, :, None] + step[:, m]  # (B, from, to)
        back[:, m] = np.argmin(total, axis=1)
        value = total[rows, back[:, m], np.arange(locs)[None, :]]
    placements = np.empty((bsz, m_blocks), dtype=np.int64)
    placements[:, -1] = np.argmin(value, axis=1)
    best = value[np.arange(bsz), placements[:, -1]]
    for m in range(m_blocks - 1, 0, -1):
        placements[:, m - 1] = back[np.arange(bsz), m, placements[:, m]]
    return placements, best


def _budget_dp(step: np.ndarray, energy: np.ndarray, budget: float) -> tuple[list[int] | None, float]:
    """Exact least-cost path whose summed energy is within ``budget`` (labels with Pareto pruning).

    step, energy: (M, L, L) for one instance. Returns (placement or None, value).
    """
    m_blocks, locs, _ = step.shape
    finite = np.isfinite(step)
    # Least energy from each node at block m to the end (ignoring cost): a label whose
    # energy plus this exceeds the budget can never finish, so it is dropped.
    to_go = np.zeros((m_blocks, locs))
    for m in range(m_blocks - 2, -1, -1):
        nxt = np.where(finite[m + 1], energy[m + 1] + to_go[m + 1][None, :], np.inf)
        to_go[m] = nxt.min(axis=1)
    # labels[m][j] = (cost, energy, back_loc, back_index) arrays, Pareto-sorted by cost.
    labels: list[list[tuple[np.ndarray, ...]]] = []
    first = []
    for j in range(locs):
        c, e = step[0, 0, j], energy[0, 0, j]
        keep = np.isfinite(c) and f.within(e + to_go[0, j], budget)
        first.append(tuple(np.array([x]) for x in (c, e, 0, 0)) if keep else _empty())
    labels.append(first)
    for m in range(1, m_blocks):
        layer = []
        for j in range(locs):
            parts = []
            for i in range(locs):
                ci, ei = labels[m - 1][i][0], labels[m - 1][i][1]
                if ci.size == 0 or not finite[m, i, j]:
                    continue
                parts.append((ci + step[m, i, j], ei + energy[m, i, j], np.full(ci.size, i),
                              np.arange(ci.size)))
            if not parts:
                layer.append(_empty())
                continue
            cost, en, bl, bi = (np.concatenate(p) for p in zip(*parts))
            ok = f.within(en + to_go[m, j], budget)
            cost, en, bl, bi = cost[ok], en[ok], bl[ok], bi[ok]
            order = np.lexsort((bl, en, cost))
            cost, en, bl, bi = cost[order], en[order], bl[order], bi[order]
            # Keep a label only if its energy is below every cheaper label's energy.
            prior_min = np.concatenate([[np.inf], np.minimum.accumulate(en)[:-1]])
            keep = en < prior_min
            layer.append((cost[keep], en[keep], bl[keep], bi[keep]))
        labels.append(layer)
    best_j, best_cost = -1, np.inf
    for j in range(locs):
        cost = labels[-1][j][0]
        if cost.size and cost[0] < best_cost:
            best_j, best_cost = j, float(cost[0])
    if best_j < 0:
        return None, np.inf
    placement, j, k = [0] * m_blocks, best_j, 0
    for m in range(m_blocks - 1, -1, -1):
        placement[m] = j
        j, k = int(labels[m][j][2][k]), int(labels[m][j][3][k])
    return placement, best_cost


def _empty() -> tuple[np.ndarray, ...]:
    return (np.empty(0), np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))


def solve_dp(instance: Instance, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Exact solve by dynamic programming (see the module docstring)."""
    costs = instance.costs
    step = objective.step_cost(costs)
    if instance.energy_budget_j is None:
        placements, values = chain_dp(step)
        placement, value = placements[0].tolist(), float(values[0])
        info = {"method": "bellman"}
    else:
        placement, value = _budget_dp(step[0], costs.energy[0], instance.energy_budget_j)
        info = {"method": "labels"}
    if not np.isfinite(value):
        return SolverOutput(placement=None, proven_infeasible=True, info=info)
    return SolverOutput(placement=placement, proven_optimal=True, lower_bound=value, info=info)


@dataclass(frozen=True)
class BatchSolution:
    """Optimal placements of a batch: placements (B, M) int (-1 rows where infeasible),
    values (B,) objective values (inf where infeasible), feasible (B,) bool."""

    placements: np.ndarray
    values: np.ndarray
    feasible: np.ndarray


def solve_batch(
    batch: InstanceBatch | list[Instance], objective: Objective | str = "hard", beta: float = 1.0
) -> BatchSolution:
    """Solve many same-shaped instances at once, exactly.

    Instances without a budget go through one vectorized Bellman pass; those with a
    budget through the label DP, one by one. Used to label imitation-learning data.
    """
    if not isinstance(batch, InstanceBatch):
        batch = InstanceBatch.stack(list(batch))
    goal = objective if isinstance(objective, Objective) else Objective(objective, beta)
    costs = cost_tensors(batch)
    step = goal.step_cost(costs)
    placements, values = chain_dp(step)
    for b in np.flatnonzero(np.isfinite(batch.energy_budget_j)):
        placement, value = _budget_dp(step[b], costs.energy[b], float(batch.energy_budget_j[b]))
        values[b] = value
        if placement is not None:
            placements[b] = placement
    feasible = np.isfinite(values)
    placements[~feasible] = -1
    return BatchSolution(placements=placements, values=values, feasible=feasible)
