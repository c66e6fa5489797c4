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
- With a budget: a resource-constrained shortest path, solved exactly
  (:func:`budget_dp`): a Lagrangian relaxation gives a bound and an incumbent, then a
  best-first search over (delay, energy) labels closes the gap. No rounding.
- The whole delay-energy Pareto front (:func:`pareto_front`): labels per node with
  Pareto pruning.

Answers are deterministic. Bellman keeps the lowest-index best predecessor of each
node and ends at the lowest-index best location; Dijkstra keeps the first
predecessor it settles, which may be another placement of the same optimal value.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
from dataclasses import dataclass

import numpy as np

from partopt import formulas as f
from partopt.costs import InstanceBatch, along, cost_tensors
from partopt.evaluation import Objective
from partopt.model import Instance
from partopt.result import SolverOutput

__all__ = ["solve_dp", "solve_batch", "chain_dp", "BatchSolution", "DIJKSTRA_MIN_BLOCKS", "ParetoFront",
           "pareto_front", "budget_dp", "lagrangian_relaxation", "Relaxation", "extreme_paths"]

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
    import scipy.sparse as sp  # only long chains need it; importing partopt stays quick
    from scipy.sparse.csgraph import dijkstra

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
    """Exact least-cost path whose summed energy is within ``budget``.

    step, energy: (M, L, L) for one instance. Returns (placement or None, value).

    1. The unconstrained optimum, if it keeps the budget, is the answer; the least-energy
       path, if it breaks the budget, proves that nothing keeps it.
    2. Lagrangian relaxation: for a price lambda on energy (s/J), the least-cost path of
       step + lambda energy gives the lower bound c + lambda (e - budget); bisection on
       lambda keeps the best bound and the cheapest path within the budget (the
       incumbent). When they meet, the incumbent is optimal.
    3. Otherwise a best-first search over labels (cost, energy) per node, in the order
       of their Lagrangian completion bound (see :func:`_best_first`): the first complete
       path it takes out is optimal. No rounding anywhere.
    """
    fastest, value, frugal, _ = extreme_paths(step, energy)
    if not np.isfinite(value):
        return None, np.inf
    if f.within(along(energy, fastest).sum(), budget):
        return fastest.tolist(), value
    if not f.within(along(energy, frugal).sum(), budget):
        return None, np.inf
    relaxed = lagrangian_relaxation(step, np.where(np.isfinite(step), energy, 0.0), budget, fastest, frugal)
    if relaxed.upper - relaxed.lower <= 1e-12 * abs(relaxed.upper):
        return relaxed.path.tolist(), relaxed.upper
    # Slack so that rounding (sums taken in another order) never prunes the incumbent's own path.
    upper = relaxed.upper * (1.0 + 1e-9) + 1e-300
    found = _best_first(step, energy, budget, upper, relaxed.price)
    if found is None:
        return relaxed.path.tolist(), relaxed.upper
    return found


def extreme_paths(step: np.ndarray, energy: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, float]:
    """The two ends of one chain's trade-off, from its (M, L, L) step costs and energies:
    (least-cost path, its cost, least-energy path among the moves ``step`` allows, its
    energy). A value of inf means no allowed path (its path is then meaningless)."""
    fastest, value = chain_dp(step[None])
    frugal, least = chain_dp(np.where(np.isfinite(step), energy, np.inf)[None])
    return fastest[0], float(value[0]), frugal[0], float(least[0])


@dataclass(frozen=True)
class Relaxation:
    """The Lagrangian relaxation's best lower bound (s), its energy price (s/J), and the
    incumbent: the cheapest path within the budget found (its cost, the upper bound)."""

    lower: float
    price: float
    upper: float
    path: np.ndarray


def lagrangian_relaxation(step: np.ndarray, energy: np.ndarray, budget: float, fastest: np.ndarray,
                          frugal: np.ndarray, iterations: int = 30) -> Relaxation:
    """The Lagrangian relaxation of the budget: bisection on the energy price (s/J) between the
    unconstrained optimum (price 0, over the budget) and a price whose least-cost path keeps
    it (the frugal path always does). Returns the best lower bound and its price, and the
    cheapest path within the budget found (its cost the upper bound), repaired from the
    last path over the budget by :func:`_repair`."""
    def at(price: float) -> tuple[np.ndarray, float, float]:
        path = chain_dp((step + price * energy)[None])[0][0]
        return path, float(along(step, path).sum()), float(along(energy, path).sum())

    c_fast, e_fast = float(along(step, fastest).sum()), float(along(energy, fastest).sum())
    c_low, e_low = float(along(step, frugal).sum()), float(along(energy, frugal).sum())
    best = Relaxation(lower=c_fast, price=0.0, upper=c_low, path=frugal)
    over = fastest  # the latest path over the budget (for the repair below)
    low, high = 0.0, max((c_low - c_fast) / max(e_fast - e_low, 1e-300), 1e-300)  # the endpoints' slope
    for _ in range(iterations):
        path, c, e = at(high)
        bound = c + high * (e - budget)
        if bound > best.lower:
            best = dataclasses.replace(best, lower=bound, price=high)
        if f.within(e, budget):
            if c < best.upper:
                best = dataclasses.replace(best, upper=c, path=path)
            break
        low, high, over = high, 2.0 * high, path
    for _ in range(iterations):
        if best.upper - best.lower <= 1e-12 * abs(best.upper) or high - low <= 1e-12 * high:
            break
        middle = 0.5 * (low + high)
        path, c, e = at(middle)
        bound = c + middle * (e - budget)
        if bound > best.lower:
            best = dataclasses.replace(best, lower=bound, price=middle)
        if f.within(e, budget):
            high = middle
            if c < best.upper:
                best = dataclasses.replace(best, upper=c, path=path)
        else:
            low, over = middle, path
    repaired = _repair(step, energy, budget, over, best.path)
    c = float(along(step, repaired).sum())
    if c < best.upper and f.within(float(along(energy, repaired).sum()), budget):
        best = dataclasses.replace(best, upper=c, path=repaired)
    return best


def _block_moves(step: np.ndarray, energy: np.ndarray, path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(extra cost, extra energy) of moving each block m of ``path`` to each location j, shape (M, L)."""
    m_blocks, locs, _ = step.shape
    blocks, where = np.arange(m_blocks), np.arange(locs)[None, :]
    prev = np.concatenate([[0], path[:-1]])[:, None]
    nxt = np.concatenate([path[1:], [0]])[:, None]
    after = np.minimum(blocks + 1, m_blocks - 1)[:, None]
    last = (blocks == m_blocks - 1)[:, None]
    c = step[blocks[:, None], prev, where] + np.where(last, 0.0, step[after, where, nxt])
    e = energy[blocks[:, None], prev, where] + np.where(last, 0.0, energy[after, where, nxt])
    return c - c[blocks, path][:, None], e - e[blocks, path][:, None]


def _repair(step: np.ndarray, energy: np.ndarray, budget: float, over: np.ndarray,
            under: np.ndarray) -> np.ndarray:
    """A path within the budget near ``over`` (a cheap path over it), by single-block moves:
    first those that save energy at the least extra cost per joule until the budget is kept,
    then those that save cost within the energy left. ``under`` (within the budget) if the
    moves run out."""
    m_blocks, locs, _ = step.shape
    path = over.copy()
    for _ in range(4 * m_blocks):
        spent = float(along(energy, path).sum())
        if f.within(spent, budget):
            break
        dc, de = _block_moves(step, energy, path)
        ratio = np.where((de < 0) & np.isfinite(dc), np.maximum(dc, 0.0) / np.maximum(-de, 1e-300), np.inf)
        k = int(np.argmin(ratio))
        if not np.isfinite(ratio.flat[k]):
            return under
        path[k // locs] = k % locs
    else:
        return under
    for _ in range(4 * m_blocks):
        room = budget - float(along(energy, path).sum())
        dc, de = _block_moves(step, energy, path)
        gain = np.where((dc < 0) & (de <= room), -dc, 0.0)
        k = int(np.argmax(gain))
        if gain.flat[k] <= 0:
            break
        path[k // locs] = k % locs
    return path


def _remaining(step: np.ndarray, energy: np.ndarray, price: float) -> tuple[np.ndarray, np.ndarray]:
    """(least remaining energy, least remaining step + price x energy) from every node (m, j) to
    the end (blocks m+1..M-1), each (M, L)."""
    m_blocks, locs, _ = step.shape
    finite = np.isfinite(step)
    priced = step + price * np.where(finite, energy, 0.0) if price else step
    to_go = np.zeros((m_blocks, locs))
    cost_to_go = np.zeros((m_blocks, locs))
    for m in range(m_blocks - 2, -1, -1):
        to_go[m] = np.where(finite[m + 1], energy[m + 1] + to_go[m + 1][None, :], np.inf).min(axis=1)
        cost_to_go[m] = (priced[m + 1] + cost_to_go[m + 1][None, :]).min(axis=1)
    return to_go, cost_to_go


def _best_first(step: np.ndarray, energy: np.ndarray, budget: float, upper: float,
                price: float) -> tuple[list[int], float] | None:
    """The least-cost path within ``budget`` by best-first search, or None when none beats ``upper``.

    A label (cost c, energy e) at node (m, j) is ranked by its completion bound
    c + price (e - budget) + h(m, j), h the least remaining step + price x energy: no path
    through it within the budget costs less. A complete label is ranked by its cost, so
    the first one taken out is optimal. A label is dropped when the energy it must still
    spend breaks the budget, when its bound exceeds ``upper``, or when a label taken out
    at its node before has no more cost and no more energy.
    """
    m_blocks, locs, _ = step.shape
    to_go, rest = _remaining(step, energy, price)
    last = m_blocks - 1
    heap: list[tuple[float, int, float, float, int, int, int]] = []
    parents: list[tuple[int, int]] = []  # per label taken out: (location, parent label)
    settled: dict[tuple[int, int], list[tuple[float, float]]] = {}
    count = 0

    def push(m: int, c: np.ndarray, e: np.ndarray, parent: int) -> None:
        nonlocal count
        bound = c if m == last else c + price * (e - budget) + rest[m]
        ok = np.isfinite(c) & f.within(e + to_go[m], budget) & (bound <= upper)
        for j in np.flatnonzero(ok).tolist():
            heapq.heappush(heap, (float(bound[j]), count, float(c[j]), float(e[j]), m, j, parent))
            count += 1

    push(0, step[0, 0], energy[0, 0], -1)
    while heap:
        _, _, c, e, m, j, parent = heapq.heappop(heap)
        seen = settled.setdefault((m, j), [])
        if any(c2 <= c and e2 <= e for c2, e2 in seen):
            continue
        seen.append((c, e))
        parents.append((j, parent))
        label = len(parents) - 1
        if m == last:
            placement = [0] * m_blocks
            for k in range(last, -1, -1):
                placement[k], label = parents[label]
            return placement, c
        push(m + 1, c + step[m + 1, j], e + energy[m + 1, j], label)
    return None


Layers = list[tuple[np.ndarray, np.ndarray]]


def _last_labels(step: np.ndarray, energy: np.ndarray,
                 budget: float = np.inf) -> tuple[np.ndarray, np.ndarray, np.ndarray, Layers]:
    """The labels (cost, energy, location) of the last block that no label at the same
    location dominates, and every layer's (location, parent label) to trace them back.
    Labels that cannot finish within ``budget`` even at the least remaining energy are
    dropped on the way.
    """
    m_blocks, locs, _ = step.shape
    to_go, _ = _remaining(step, energy, 0.0)
    cost, en = step[0, 0].copy(), energy[0, 0].copy()
    loc = np.arange(locs)
    keep = np.isfinite(cost) & f.within(en + to_go[0], budget)
    cost, en, loc = cost[keep], en[keep], loc[keep]
    layers = [(loc, np.zeros(loc.size, dtype=np.intp))]
    for m in range(1, m_blocks):
        if cost.size == 0:
            break
        c = (cost[:, None] + step[m][loc]).ravel()
        e = (en[:, None] + energy[m][loc]).ravel()
        j = np.tile(np.arange(locs), loc.size)
        parent = np.repeat(np.arange(loc.size), locs)
        ok = np.isfinite(c) & f.within(e + to_go[m][j], budget)
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
