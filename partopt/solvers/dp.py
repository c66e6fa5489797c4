"""Exact dynamic programming over the chain of blocks.

The placement cost is a sum of per-block terms that depend only on (a_{m-1}, a_m),
so problem P is a shortest path through a layered graph: one layer per block, one
node per location, an edge i -> j in layer m priced by the objective's step cost
(:meth:`partopt.evaluation.Objective.step_cost`). Under "hard", an edge whose block
delay breaks the deadline is removed; under "penalty" it is priced.

- Without an energy budget: Bellman recursion, O(M (N+1)^2), vectorized with NumPy
  over locations and over a whole batch of same-shaped instances
  (:func:`solve_batch`). One long chain (M >= :data:`DIJKSTRA_MIN_BLOCKS`) is solved
  instead by SciPy's Dijkstra on the layered graph, the same shortest path in
  compiled code (a loop of M NumPy calls costs more there; ``bench/exact_speed.py``).
- With a budget: a resource-constrained shortest path, solved exactly by labels
  (delay, energy) per node with Pareto pruning, plus a prune of labels that cannot
  finish within the budget even at the least remaining energy. No rounding.

Answers are deterministic. Bellman keeps the lowest-index best predecessor of each
node and ends at the lowest-index best location; Dijkstra keeps the first
predecessor it settles, which may be another placement of the same optimal value.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from partopt import formulas as f
from partopt.costs import InstanceBatch, along, cost_tensors
from partopt.evaluation import Objective
from partopt.model import Instance
from partopt.result import SolverOutput

__all__ = ["solve_dp", "solve_batch", "chain_dp", "BatchSolution", "DIJKSTRA_MIN_BLOCKS", "ParetoFront", "budget_dp",
           "pareto_front"]

#: From this many blocks on, one chain is solved by Dijkstra (measured faster from M = 24-50 for N <= 20).
DIJKSTRA_MIN_BLOCKS = 32


def chain_dp(step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-cost paths for a batch of step-cost tensors of shape (B, M, L, L).

    Returns (placements (B, M) int, values (B,)); a value of inf means no finite path
    (its placement row is meaningless). Costs must be >= 0. Ties: see the module docstring.
    """
    bsz, m_blocks, locs, _ = step.shape
    if bsz == 1 and m_blocks >= DIJKSTRA_MIN_BLOCKS:
        path, cost = _dijkstra_chain(step[0])
        return path[None], np.array([cost])
    value = step[:, 0, 0, :]  # (B, L): the raw input starts on the device
    back = np.zeros((m_blocks, bsz, locs), dtype=np.intp)
    for m in range(1, m_blocks):
        total = value[:, :, None] + step[:, m]  # (B, from, to)
        back[m] = total.argmin(axis=1)
        value = total.min(axis=1)
    placements = np.empty((bsz, m_blocks), dtype=np.int64)
    last = value.argmin(axis=1)
    best = value[np.arange(bsz), last]
    placements[:, -1] = last
    rows = np.arange(bsz)
    for m in range(m_blocks - 1, 0, -1):
        last = back[m, rows, last]
        placements[:, m - 1] = last
    return placements, best


@functools.lru_cache(maxsize=32)
def _layered_graph(m_blocks: int, locs: int) -> tuple[int, np.ndarray, np.ndarray]:
    """CSR structure of the layered graph of an (M, L) chain: (nodes, indices, indptr).

    Node 0 is the source (the raw input on the device), node 1 + m L + j is block m on
    location j, and the last node the sink; the edges of layer m are ordered as the
    rows of step[m], so that ``step[1:].ravel()`` gives their weights in CSR order.
    """
    nodes = 2 + m_blocks * locs
    layer = 1 + locs * np.arange(1, m_blocks)[:, None, None] + np.zeros((1, locs, 1), dtype=np.int64)
    indices = np.concatenate([1 + np.arange(locs), (layer + np.arange(locs)).ravel(),
                              np.full(locs, nodes - 1)])
    degrees = np.concatenate([[locs], np.full((m_blocks - 1) * locs, locs), np.ones(locs, dtype=np.int64), [0]])
    indptr = np.concatenate([[0], np.cumsum(degrees)])
    return nodes, indices.astype(np.int32), indptr.astype(np.int32)


def _dijkstra_chain(step: np.ndarray) -> tuple[np.ndarray, float]:
    """:func:`chain_dp` of one chain's (M, L, L) step costs by Dijkstra: (placement (M,), value).

    An inf step is an edge that is never taken; costs must be >= 0 (delays and energies are).
    """
    m_blocks, locs, _ = step.shape
    nodes, indices, indptr = _layered_graph(m_blocks, locs)
    weights = np.concatenate([step[0, 0], step[1:].ravel(), np.zeros(locs)])
    if weights.min() < 0:
        raise ValueError("step: chain_dp needs costs >= 0 (delays and energies)")
    graph = sp.csr_matrix((weights, indices, indptr), shape=(nodes, nodes))
    dist, pred = dijkstra(graph, indices=0, return_predecessors=True)
    placement = np.zeros(m_blocks, dtype=np.int64)
    value = float(dist[-1])
    if not np.isfinite(value):
        return placement, value
    parent = pred.tolist()
    node = parent[-1]
    for m in range(m_blocks - 1, -1, -1):
        placement[m] = (node - 1) % locs
        node = parent[node]
    return placement, value


def budget_dp(step: np.ndarray, energy: np.ndarray, budget: float) -> tuple[list[int] | None, float]:
    """Exact least-cost path whose summed energy is within ``budget`` (labels with Pareto pruning).

    step, energy: (M, L, L) for one instance. Returns (placement or None, value).
    Each layer's labels are flat arrays (cost, energy, location, parent label); all
    extensions of a layer are generated, sorted by (location, cost, energy) and
    filtered in one pass: a label survives only if its energy is below that of every
    cheaper label at the same location (exact, on integer energy ranks).
    """
    m_blocks, locs, _ = step.shape
    finite = np.isfinite(step)
    # The unconstrained optimum, if it keeps the budget, is the answer.
    placements, values = chain_dp(step[None])
    if not np.isfinite(values[0]):
        return None, np.inf
    path = placements[0]
    if f.within(along(energy, path).sum(), budget):
        return path.tolist(), float(values[0])
    # The least-energy path: if it breaks the budget nothing keeps it; else its cost
    # is an upper bound that prunes labels.
    low, _ = chain_dp(np.where(finite, energy, np.inf)[None])
    low = low[0]
    if not f.within(along(energy, low).sum(), budget):
        return None, np.inf
    # Slack so that rounding (sums taken in another order) never prunes the bound's own path.
    upper = float(along(step, low).sum()) * (1.0 + 1e-9) + 1e-300
    cost, _, _, layers = _last_labels(step, energy, budget, upper)
    if cost.size == 0:
        return None, np.inf
    k = int(np.argmin(cost))
    return _trace(layers, k), float(cost[k])


Layers = list[tuple[np.ndarray, np.ndarray]]


def _last_labels(step: np.ndarray, energy: np.ndarray, budget: float = np.inf,
                 upper: float = np.inf) -> tuple[np.ndarray, np.ndarray, np.ndarray, Layers]:
    """The labels (cost, energy, location) of the last block that no label at the same
    location dominates, and every layer's (location, parent label) to trace them back.

    Labels that cannot finish within ``budget`` even at the least remaining energy, or
    whose cost plus the least remaining cost exceeds ``upper``, are dropped on the way.
    """
    m_blocks, locs, _ = step.shape
    finite = np.isfinite(step)
    to_go = np.zeros((m_blocks, locs))  # least energy from each node to the end
    cost_to_go = np.zeros((m_blocks, locs))  # least cost from each node to the end
    for m in range(m_blocks - 2, -1, -1):
        nxt = np.where(finite[m + 1], energy[m + 1] + to_go[m + 1][None, :], np.inf)
        to_go[m] = nxt.min(axis=1)
        cost_to_go[m] = (step[m + 1] + cost_to_go[m + 1][None, :]).min(axis=1)
    cost, en = step[0, 0].copy(), energy[0, 0].copy()
    loc = np.arange(locs)
    keep = np.isfinite(cost) & f.within(en + to_go[0], budget) & (cost + cost_to_go[0] <= upper)
    cost, en, loc = cost[keep], en[keep], loc[keep]
    layers = [(loc, np.zeros(loc.size, dtype=np.intp))]
    for m in range(1, m_blocks):
        if cost.size == 0:
            break
        c = (cost[:, None] + step[m][loc]).ravel()
        e = (en[:, None] + energy[m][loc]).ravel()
        j = np.tile(np.arange(locs), loc.size)
        parent = np.repeat(np.arange(loc.size), locs)
        ok = np.isfinite(c) & f.within(e + to_go[m][j], budget) & (c + cost_to_go[m][j] <= upper)
        c, e, j, parent = c[ok], e[ok], j[ok], parent[ok]
        order = np.lexsort((e, c, j))
        c, e, j, parent = c[order], e[order], j[order], parent[order]
        rank = np.unique(e, return_inverse=True)[1].astype(np.int64)
        key = rank - j.astype(np.int64) * (len(e) + 1)  # later locations sort strictly lower
        prior = np.concatenate([[np.iinfo(np.int64).max], np.minimum.accumulate(key)[:-1]])
        pareto = key < prior
        cost, en, loc = c[pareto], e[pareto], j[pareto]
        layers.append((loc, parent[pareto]))
    if len(layers) < m_blocks:
        empty = np.zeros(0)
        return empty, empty, np.zeros(0, dtype=np.intp), layers
    return cost, en, loc, layers


def _trace(layers: Layers, k: int) -> list[int]:
    """The placement that ends in label ``k`` of the last layer."""
    placement = [0] * len(layers)
    for m in range(len(layers) - 1, -1, -1):
        placement[m] = int(layers[m][0][k])
        k = int(layers[m][1][k])
    return placement


@dataclass(frozen=True)
class ParetoFront:
    """Every delay-energy trade-off of one chain: the placements no other placement beats
    on both its objective cost and its device energy.

    Attributes
    ----------
    cost : ndarray (P,)
        The objective's cost of each point (s), increasing.
    energy : ndarray (P,)
        Its device energy (J), decreasing.
    placements : ndarray (P, M)
        A placement that achieves it.
    """

    cost: np.ndarray
    energy: np.ndarray
    placements: np.ndarray

    def __len__(self) -> int:
        return int(self.cost.size)


def pareto_front(instance: Instance, objective: Objective) -> ParetoFront:
    """The exact cost-energy Pareto front of ``instance`` under ``objective`` (labels
    without a budget; the instance's own budget, if any, drops the points above it).
    Empty when no placement is feasible."""
    step = objective.step_cost(instance.costs)[0]
    energy = instance.costs.energy[0]
    cost, en, _, layers = _last_labels(step, energy, instance.budget)
    order = np.lexsort((en, cost))
    cost, en = cost[order], en[order]
    best_before = np.concatenate([[np.inf], np.minimum.accumulate(en)[:-1]])
    keep = en < best_before  # strictly less energy than every cheaper point
    picked = order[keep]
    placements = np.array([_trace(layers, int(k)) for k in picked], dtype=np.int64).reshape(-1, instance.num_blocks)
    return ParetoFront(cost=cost[keep], energy=en[keep], placements=placements)


def solve_dp(instance: Instance, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Exact solve by dynamic programming (see the module docstring)."""
    costs = instance.costs
    step = objective.step_cost(costs)
    if instance.energy_budget_j is None:
        placements, values = chain_dp(step)
        placement, value = placements[0].tolist(), float(values[0])
        info = {"method": "bellman"}
    else:
        placement, value = budget_dp(step[0], costs.energy[0], instance.energy_budget_j)
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
        placement, value = budget_dp(step[b], costs.energy[b], float(batch.energy_budget_j[b]))
        values[b] = value
        if placement is not None:
            placements[b] = placement
    feasible = np.isfinite(values)
    placements[~feasible] = -1
    return BatchSolution(placements=placements, values=values, feasible=feasible)
