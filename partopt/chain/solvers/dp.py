"""Exact dynamic programming over the chain of blocks.

The placement cost is a sum of per-block terms that depend only on (a_{m-1}, a_m),
so problem P is a shortest path through a layered graph: one layer per block, one
node per location, an edge i -> j in layer m priced by the objective's step cost
(:meth:`partopt.objective.Objective.step_cost`). Under "hard", an edge whose block
delay breaks the deadline is removed; under "penalty" it is priced.

- Without an energy budget: Bellman recursion, O(M (N+1)^2), in compiled code
  (Numba) over one instance or a whole batch of same-shaped instances
  (:func:`solve_batch`); ``bench/throughput.py`` measures it against the machine's
  memory bandwidth.
- With a budget: a resource-constrained shortest path, solved exactly
  (:func:`budget_dp`): a Lagrangian relaxation gives a bound and an incumbent, then a
  best-first search over (delay, energy) labels closes the gap. No rounding.
- The whole delay-energy Pareto front (:func:`pareto_front`): labels per node with
  Pareto pruning.

Answers are deterministic: Bellman keeps the lowest-index best predecessor of each
node and ends at the lowest-index best location.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from partopt import formulas as f
from partopt.chain.costs import InstanceBatch, along, cost_tensors
from partopt.objective import Objective
from partopt.result import SolverOutput

if TYPE_CHECKING:
    from partopt.chain.model import Instance

__all__ = [
    "BatchSolution",
    "ParetoFront",
    "Relaxation",
    "budget_dp",
    "chain_dp",
    "extreme_paths",
    "lagrangian_relaxation",
    "pareto_front",
    "solve_batch",
    "solve_dp",
]


def chain_dp(step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-cost paths for a batch of step-cost tensors of shape (B, M, L, L).

    Returns (placements (B, M) int, values (B,)); a value of inf means no finite path
    (its placement row is meaningless). Ties: see the module docstring. The recursion
    runs in compiled code (:func:`partopt.chain.kernels.bellman`), reading each
    step tensor once in memory order.
    """
    from partopt.chain.kernels import bellman  # loads Numba on the first solve, not on import

    if step.ndim != 4 or step.shape[2] != step.shape[3] or step.shape[1] == 0:
        raise ValueError(f"step: chain_dp needs costs of shape (B, M, L, L) with M >= 1, got {step.shape}")
    return bellman(step)


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


def lagrangian_relaxation(
    step: np.ndarray, energy: np.ndarray, budget: float, fastest: np.ndarray, frugal: np.ndarray, iterations: int = 30
) -> Relaxation:
    """The Lagrangian relaxation of the budget: bisection on the energy price (s/J) between the
    unconstrained optimum (price 0, over the budget) and a price whose least-cost path keeps
    it (the frugal path always does). Returns the best lower bound and its price, and the
    cheapest path within the budget found (its cost the upper bound)."""
    from partopt.chain.kernels import bellman

    def at(price: float) -> tuple[np.ndarray, float, float]:
        path = bellman(step[None], energy[None], price)[0][0]
        return path, float(along(step, path).sum()), float(along(energy, path).sum())

    c_fast, e_fast = float(along(step, fastest).sum()), float(along(energy, fastest).sum())
    c_low, e_low = float(along(step, frugal).sum()), float(along(energy, frugal).sum())
    best = Relaxation(lower=c_fast, price=0.0, upper=c_low, path=frugal)
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
        low, high = high, 2.0 * high
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
            low = middle
    return best


#: Energy prices of the completion bounds, as multiples of the Lagrangian price: a label
#: whose energy is off the optimum's pace is bounded far better at another price.
BOUND_PRICES = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 1.0, 1.02, 1.05, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0)


def _best_first(
    step: np.ndarray, energy: np.ndarray, budget: float, upper: float, price: float
) -> tuple[list[int], float] | None:
    """The least-cost path within ``budget`` by best-first search, or None when none beats ``upper``.

    A label (cost c, energy e) at node (m, j) is ranked by its completion bound
    max over prices p of c + p (e - budget) + h_p(m, j), h_p the least remaining step +
    p x energy, for the prices :data:`BOUND_PRICES` times ``price``: no path through it
    within the budget costs less (each term is a Lagrangian bound of its completion). A
    complete label is ranked by its cost, so the first one taken out is optimal. A label
    is dropped when the energy it must still spend breaks the budget, when its bound
    exceeds ``upper``, or when a label taken out at its node before has no more cost and
    no more energy. The search runs in compiled code (:func:`partopt.chain.kernels.best_first`).
    """
    from partopt.chain.kernels import best_first, remaining

    prices = price * np.asarray(BOUND_PRICES)
    to_go, rest = remaining(step, energy, prices)
    found = best_first(step, energy, to_go, rest, prices, budget, upper, f.REL_TOL)
    return None if found is None else (found[0].tolist(), found[1])


Layers = list[tuple[np.ndarray, np.ndarray]]


def _last_labels(
    step: np.ndarray, energy: np.ndarray, budget: float = np.inf
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Layers]:
    """The labels (cost, energy, location) of the last block that no label at the same
    location dominates, and every layer's (location, parent label) to trace them back.
    Labels that cannot finish within ``budget`` even at the least remaining energy are
    dropped on the way.
    """
    m_blocks, locs, _ = step.shape
    from partopt.chain.kernels import remaining

    to_go, _ = remaining(step, energy, [0.0])
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
