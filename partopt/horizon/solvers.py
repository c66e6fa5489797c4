"""Solvers of a horizon of slots sharing one battery (model Part III).

Offline, exact (``horizon-exact``): every slot's cost-energy Pareto front (the DP's
labels, :func:`partopt.chain.solvers.dp.pareto_front`) is one class of a multiple-choice
knapsack: pick one point per slot, least summed cost, summed energy <= E^max. The
fronts are merged slot by slot, keeping only non-dominated partial sums (exact, no
rounding of energy). Two bounds prune the merge:

- feasibility: a partial sum whose energy plus the least energy of the slots left
  exceeds E^max is dropped;
- the Lagrangian bound: with a price lambda on energy (s/J), any completion of a
  partial sum (C, E) costs at least C + sum_{s left} min_p (c_p + lambda e_p)
  - lambda (E^max - E); partial sums whose bound exceeds the incumbent are dropped.

The Lagrangian dual max_lambda sum_t min_p (c_tp + lambda e_tp) - lambda E^max is
solved first by bisection on its subgradient; its value is reported as the bound, its
duality gap beside it, and its cheapest battery-keeping choice is the incumbent.

Online, each slot seeing only its own instance and the remaining energy E^r(t):

- ``horizon-myopic``: each slot's own optimum within E^r(t);
- ``horizon-fair``: the optimum within a fair share E^r(t) / (slots left);
- ``horizon-lyapunov``: drift-plus-penalty with a virtual energy queue
  Q(t+1) = max(Q(t) + E(t) - E^max / T, 0); each slot minimizes cost + (Q(t) / V') energy
  exactly by DP, within E^r(t) less a reserve for the slots left (their summed least
  energy as estimated from the slots seen so far: mean plus three standard errors).
  ``V`` trades delay against battery use;
- ``horizon-learned``: a trained chain policy with E^r(t) / E^max in its state, as the
  paper's environment gives it, and E^r(t) as the slot's budget.

When nothing fits within E^r(t) an online policy takes the slot's least-energy
placement; the battery then runs out and the result is VIOLATED.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np

from partopt import formulas as f
from partopt.chain.evaluation import evaluate_chain
from partopt.chain.solvers.dp import ParetoFront, budget_dp, chain_dp, pareto_front
from partopt.result import SolverOutput

if TYPE_CHECKING:
    from partopt.chain.model import Instance
    from partopt.horizon.model import Horizon
    from partopt.objective import Objective

__all__ = [
    "LagrangianDual",
    "lagrangian_dual",
    "run_online",
    "solve_horizon_exact",
    "solve_horizon_fair",
    "solve_horizon_lyapunov",
    "solve_horizon_myopic",
]

_SLACK = 1e-9  # relative slack on the incumbent, so that rounding never prunes the optimum


def _padded(fronts: list[ParetoFront]) -> tuple[np.ndarray, np.ndarray]:
    """The fronts' costs and energies as (T, P_max) arrays, inf-padded."""
    width = max(len(fr) for fr in fronts)
    cost = np.full((len(fronts), width), np.inf)
    energy = np.full((len(fronts), width), np.inf)
    for t, fr in enumerate(fronts):
        cost[t, : len(fr)], energy[t, : len(fr)] = fr.cost, fr.energy
    return cost, energy


class LagrangianDual:
    """The Lagrangian dual of the horizon's energy constraint, over the slots' Pareto fronts.

    Attributes
    ----------
    bound : float
        max over lambda of sum_t min_p (c_tp + lambda e_tp) - lambda E^max, a proven lower
        bound on the optimum (s).
    price : float
        The lambda that gives it (s/J).
    choice : ndarray (T,) or None
        The cheapest battery-keeping choice met on the way (front indices), or None.
    choice_cost : float
        Its summed cost (inf without one).
    """

    def __init__(self, fronts: list[ParetoFront], energy_max_j: float, iterations: int = 100):
        cost, energy = _padded(fronts)
        self._cost, self._energy, self._rows = cost, energy, np.arange(len(fronts))
        self._energy_max = energy_max_j
        self.bound, self.price, self.choice, self.choice_cost = -math.inf, 0.0, None, math.inf
        if self._try(0.0):  # the unconstrained optimum keeps the battery: it is optimal
            self.lower_rest = self._rest(0.0)
            return
        low, high = 0.0, 1.0
        while not self._try(high) and high < 1e300:  # a high enough price picks the least energy
            low, high = high, 2.0 * high
        for _ in range(iterations):
            middle = 0.5 * (low + high)
            if middle in (low, high):
                break
            if self._try(middle):
                high = middle
            else:
                low = middle
        self.lower_rest = self._rest(self.price)

    def _priced(self, price: float) -> np.ndarray:
        """c + price e of every front point, (T, P_max); inf on the padding."""
        return np.where(np.isfinite(self._cost), self._cost + price * np.nan_to_num(self._energy, posinf=0.0), np.inf)

    def _try(self, price: float) -> bool:
        """Evaluate the dual at ``price``; keep the best bound and battery-keeping choice. True
        when the choice keeps the battery (the price is high enough)."""
        value = self._priced(price)
        pick = value.argmin(axis=1)
        bound = float(value[self._rows, pick].sum()) - price * self._energy_max
        if bound > self.bound:
            self.bound, self.price = bound, price
        if not f.within(float(self._energy[self._rows, pick].sum()), self._energy_max):
            return False
        total = float(self._cost[self._rows, pick].sum())
        if total < self.choice_cost:
            self.choice, self.choice_cost = pick, total
        return True

    def _rest(self, price: float) -> np.ndarray:
        """sum over slots s >= t of min_p (c + price e), for t = 0..T (the last entry 0)."""
        value = self._priced(price).min(axis=1)
        return np.concatenate([np.cumsum(value[::-1])[::-1], [0.0]])


def lagrangian_dual(horizon: Horizon, objective: Objective) -> LagrangianDual:
    """The Lagrangian dual of ``horizon`` under ``objective`` (see :class:`LagrangianDual`)."""
    return LagrangianDual([pareto_front(inst, objective) for inst in horizon.slots], horizon.energy_max_j)


#: The most labels the exact merge may hold while it joins one slot (about 1 GB of arrays): past
#: it, or past the time limit, the merge stops and the dual's choice is returned, unproven.
MAX_MERGE_LABELS = 20_000_000


class _StoppedError(Exception):
    """The exact merge stopped (``reason``) before it finished."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _merge(
    fronts: list[ParetoFront], energy_max_j: float, dual: LagrangianDual, upper: float, deadline: float = math.inf
):
    """Exact multiple-choice knapsack over the fronts: (choice per slot, summed cost, labels
    kept at most), or (None, inf, labels) when no choice keeps the battery. Raises
    :class:`_StoppedError` past ``deadline`` (a ``time.perf_counter()``) or :data:`MAX_MERGE_LABELS`."""
    least_energy = np.array([fr.energy.min() for fr in fronts])
    energy_rest = np.concatenate([np.cumsum(least_energy[::-1])[::-1], [0.0]])
    limit = upper * (1.0 + _SLACK) + 1e-300
    cost, spent = np.zeros(1), np.zeros(1)
    history: list[tuple[np.ndarray, np.ndarray]] = []
    widest = 1
    for t, fr in enumerate(fronts):
        if time.perf_counter() > deadline:
            raise _StoppedError(f"time limit reached merging slot {t} of {len(fronts)}")
        if cost.size * len(fr) > MAX_MERGE_LABELS:
            raise _StoppedError(f"slot {t} would need {cost.size * len(fr):,} labels, more than {MAX_MERGE_LABELS:,}")
        c = (cost[:, None] + fr.cost[None, :]).ravel()
        e = (spent[:, None] + fr.energy[None, :]).ravel()
        parent = np.repeat(np.arange(cost.size), len(fr))
        point = np.tile(np.arange(len(fr)), cost.size)
        bound = c + dual.lower_rest[t + 1] - dual.price * (energy_max_j - e)
        ok = f.within(e + energy_rest[t + 1], energy_max_j) & (bound <= limit)
        c, e, parent, point = c[ok], e[ok], parent[ok], point[ok]
        order = np.lexsort((e, c))
        c, e, parent, point = c[order], e[order], parent[order], point[order]
        keep = e < np.concatenate([[np.inf], np.minimum.accumulate(e)[:-1]])  # Pareto: less energy than any cheaper
        cost, spent = c[keep], e[keep]
        history.append((parent[keep], point[keep]))
        widest = max(widest, cost.size)
        if cost.size == 0:
            return None, math.inf, widest
    k = int(np.argmin(cost))
    best = float(cost[k])
    choice = np.zeros(len(fronts), dtype=np.int64)
    for t in range(len(fronts) - 1, -1, -1):
        parent, point = history[t]
        choice[t] = point[k]
        k = int(parent[k])
    return choice, best, widest


def solve_horizon_exact(horizon: Horizon, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """The offline optimum: exact merge of the slots' Pareto fronts (see the module docstring). Past
    ``time_limit`` (s) or :data:`MAX_MERGE_LABELS`, the dual's battery-keeping choice, unproven,
    with the Lagrangian bound."""
    start = time.perf_counter()
    deadline = math.inf if time_limit is None else start + float(time_limit)
    fronts = []
    for t, inst in enumerate(horizon.slots):
        if time.perf_counter() > deadline:
            return SolverOutput(
                placement=None, timed_out=True, info={"reason": f"time limit reached building slot {t}'s Pareto front"}
            )
        fronts.append(pareto_front(inst, objective))
    empty = [t for t, fr in enumerate(fronts) if len(fr) == 0]
    if empty:
        return SolverOutput(
            placement=None, proven_infeasible=True, info={"reason": f"slot {empty[0]} has no feasible placement"}
        )
    if not f.within(sum(float(fr.energy.min()) for fr in fronts), horizon.energy_max_j):
        return SolverOutput(
            placement=None,
            proven_infeasible=True,
            info={"reason": "even the least-energy placement of every slot exceeds the battery"},
        )
    fronts_s = time.perf_counter() - start
    dual = LagrangianDual(fronts, horizon.energy_max_j)
    upper = dual.choice_cost
    try:
        choice, best, widest = _merge(fronts, horizon.energy_max_j, dual, upper, deadline)
    except _StoppedError as stop:  # the dual's battery-keeping choice, with the dual's bound
        assert dual.choice is not None  # the least-energy choice keeps the battery (checked above)
        placement = [fr.placements[k].tolist() for fr, k in zip(fronts, dual.choice)]
        return SolverOutput(
            placement=placement,
            timed_out=True,
            lower_bound=dual.bound,
            info={"termination": stop.reason, "lagrangian_bound": dual.bound, "seconds": time.perf_counter() - start},
        )
    if choice is None:  # cannot happen with a battery-keeping incumbent; kept as a guard
        return SolverOutput(placement=None, proven_infeasible=True, info={"reason": "no choice keeps the battery"})
    placement = [fr.placements[k].tolist() for fr, k in zip(fronts, choice)]
    gap = (best - dual.bound) / best if best > 0 else 0.0
    info = {
        "lagrangian_bound": dual.bound,
        "energy_price": dual.price,
        "duality_gap_pct": 100.0 * gap,
        "front_points": int(sum(len(fr) for fr in fronts)),
        "widest_merge": int(widest),
        "fronts_seconds": fronts_s,
        "seconds": time.perf_counter() - start,
    }
    return SolverOutput(placement=placement, proven_optimal=True, lower_bound=best, info=info)


def _least_energy(instance: Instance, step: np.ndarray) -> list[int]:
    """The slot's least-energy placement among those its objective allows (any, if none)."""
    energy = instance.costs.energy
    path, value = chain_dp(np.where(np.isfinite(step), energy, np.inf))
    if not np.isfinite(value[0]):
        path, _ = chain_dp(energy)
    return path[0].tolist()


def _best_within(instance: Instance, step: np.ndarray, budget_j: float) -> list[int]:
    """The slot's least-``step`` placement within ``budget_j`` (and its own budget), or its
    least-energy placement when none fits."""
    placement, _ = budget_dp(step[0], instance.costs.energy[0], min(budget_j, instance.budget))
    return placement if placement is not None else _least_energy(instance, step)


def run_online(horizon: Horizon, choose, spent=None) -> SolverOutput:
    """Run an online rule slot by slot: ``choose(t, instance, remaining_j) -> placement``, then
    ``spent(energy_j)`` with the slot's device energy when the rule keeps state."""
    remaining = horizon.energy_max_j
    placement = []
    for t, inst in enumerate(horizon.slots):
        chosen = choose(t, inst, max(remaining, 0.0))
        placement.append(chosen)
        energy = evaluate_chain(inst, chosen).energy
        remaining -= energy
        if spent is not None:
            spent(energy)
    return SolverOutput(placement=placement, info={"remaining_j": remaining})


def solve_horizon_myopic(horizon: Horizon, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Online: each slot's own optimum within the energy that remains."""
    return run_online(horizon, lambda t, inst, left: _best_within(inst, objective.step_cost(inst.costs), left))


def solve_horizon_fair(horizon: Horizon, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Online: each slot's optimum within a fair share, E^r(t) / (slots left)."""
    slots = horizon.num_slots
    return run_online(
        horizon, lambda t, inst, left: _best_within(inst, objective.step_cost(inst.costs), left / (slots - t))
    )


def solve_horizon_lyapunov(
    horizon: Horizon,
    objective: Objective,
    *,
    time_limit=None,
    seed=None,
    V: float = 1.0,  # noqa: N803 - V is the method's own name
) -> SolverOutput:
    """Online drift-plus-penalty: minimize cost + (Q / V') energy each slot within E^r(t),
    then Q <- max(Q + E(t) - Ebar, 0), Ebar = E^max / T.

    ``V`` is dimensionless: V' = V Ebar^2 / d_1 (J^2/s), with d_1 slot 1's own optimal
    cost (seen online), so that one V fits horizons of any energy and delay scale. Larger
    V: less delay, more battery overshoot risk (the O(1/V)-O(V) trade-off).
    """
    if isinstance(V, bool) or not isinstance(V, (int, float)) or not math.isfinite(V) or V <= 0:
        raise ValueError(f"V: must be a finite number > 0, got {V!r}")
    slots = horizon.num_slots
    target = horizon.energy_max_j / slots
    queue = [0.0]
    weight = [0.0]  # V' in J^2/s, set at slot 1
    least_seen: list[float] = []  # each past slot's least energy: the reserve's estimate

    def choose(t: int, inst: Instance, left: float) -> list[int]:
        step = objective.step_cost(inst.costs)
        if t == 0:
            _, value = chain_dp(step)
            scale = float(value[0]) if np.isfinite(value[0]) and value[0] > 0 else 1.0
            weight[0] = V * max(target, 1e-300) ** 2 / scale
        frugal = _least_energy(inst, step)
        least_seen.append(evaluate_chain(inst, frugal).energy)
        left_slots = slots - t - 1  # their least energy, estimated from the past: mean plus 3 standard errors
        reserve = left_slots * float(np.mean(least_seen)) + 3.0 * math.sqrt(left_slots) * float(np.std(least_seen))
        priced = step + (queue[0] / weight[0]) * inst.costs.energy
        return _best_within(inst, priced, max(left - reserve, least_seen[-1]))

    def spent(energy: float) -> None:
        queue[0] = max(queue[0] + energy - target, 0.0)

    out = run_online(horizon, choose, spent)
    return SolverOutput(placement=out.placement, info={**(out.info or {}), "V": V, "final_queue_j": queue[0]})
