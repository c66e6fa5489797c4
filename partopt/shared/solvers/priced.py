"""Priced completions: the chain-schedule LP's prices carried into a branch and bound, as a
Lagrangian bound for every node.

**The relaxation** is the chain-schedule LP's (:mod:`partopt.shared.solvers.columns`):
slots of G with prices w_rc >= 0, a fine grid of h dividing G, a block starting in fine
slot u taking of each slot the share [(u + 1) h, u h + p) covers (blocks that do not
overlap on r take each slot at most whole), the next block at least floor((p + transfer)
/ h) fine slots later. For any schedule, sum_k D_k >= sum_k (D_k + w . taken_k) - sum_rc
w_rc, and each task's term is at least its cheapest chain at those prices alone:

    L(w) = sum_k min over k's chains (D_k + w . taken_k) - sum_rc w_rc  <=  sum_k D_k.

**Completion tables.** Each task's cheapest chain at prices w is a DP over (block, location,
start), run backward on the fine grid: V_k[m, j, u] is the least D_k plus the prices of
the shares taken by blocks m.. of task k, with block m on j starting in fine slot u or
later, no block on a server before the server is free (its ``available_s``, taken down to its
fine slot, as the LP's chains are). At the LP's own prices the root's L(w) is the LP's bound.

**At a node** of :mod:`partopt.shared.solvers.bnb` (the finished tasks' cost, resource r
free from F_r, no block starting before t*), every block still to place on r starts at or
after max(F_r, t*), so it takes only shares of slots from floor(max(F_r, t*) / G) on, and
together at most each of those slots whole. Relaxing only those slots' capacities,

    bound = cost + sum_{unfinished k} min_j V_k[m_k, j, start of its next block on j]
            - sum_r sum_{c >= floor(max(F_r, t*) / G)} w_rc,

a lookup per task and location. Chains ending after their task's cap
(:func:`partopt.shared.solvers.common.delay_caps`) are dropped, so the bound holds for
every schedule better than the incumbent it was built for, which is what a branch and
bound needs. Any prices give a valid bound; the LP's make it strong.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np

from partopt.shared.kernels import PackedScenario
from partopt.shared.solvers.columns import (
    FINE_GRID_S,
    coarse_first_chain_lp_bound,
    fine_prices,
    points_per_slot,
    span_price,
    whole_slots,
)
from partopt.shared.solvers.common import delay_caps

if TYPE_CHECKING:
    from partopt.shared.model import Scenario

__all__ = [
    "PRICED_SHARE",
    "PRICED_SLOT_S",
    "PRICED_TASKS",
    "CompletionTables",
    "completion_tables",
    "priced_bound_kernel",
    "priced_completions",
]

#: Float slack in taking times down to slots (slots).
_EPS = 1e-7
#: The branch and bound prices its nodes for this many tasks: below, its own bound proves
#: quickly; above, the LP gets too little of a minute to give strong prices.
PRICED_TASKS = range(4, 17)
#: The share of the branch and bound's time limit the chain-schedule LP may take for the prices.
PRICED_SHARE = 0.3
#: The finest slot of the LP whose prices the branch and bound's nodes use (s).
PRICED_SLOT_S = 1e-3


@numba.njit(cache=True, nogil=True)
def _fill(value, nblk, dur, trans, ret, rel, res, wfine, fine, u0, free_u):  # pragma: no cover
    """One task's table V[m, j, u] (see the module docstring), filled backward in place; no block
    starts on resource r before fine slot ``free_u[r]``."""
    locs, n_u = value.shape[1], value.shape[2] - 1
    for m in range(nblk - 1, -1, -1):
        for j in range(locs):
            r, d = res[j], dur[m, j]
            span = d / fine  # the block's duration in fine slots
            value[m, j, n_u] = np.inf
            for u in range(n_u - 1, -1, -1):
                if u0 + u < free_u[r]:  # r is busy then: the block starts later
                    value[m, j, u] = value[m, j, u + 1]
                    continue
                s = (u0 + u) * fine
                price = span_price(wfine, r, u0 + u, span)
                if m == nblk - 1:
                    rest = s + d + ret[j] - rel
                else:
                    rest = np.inf
                    for i in range(locs):
                        v = u + int(math.floor((d + trans[m + 1, j, i]) / fine - _EPS))
                        if v < n_u and value[m + 1, i, v] < rest:
                            rest = value[m + 1, i, v]
                value[m, j, u] = min(price + rest, value[m, j, u + 1])


@numba.njit(cache=True, nogil=True)
def priced_bound_kernel(
    value, u0, price_after, per_coarse, fine, trans, dev, nblk, n_srv, free, nxt, last_loc, last_end, tstar, cost
):  # pragma: no cover
    """The node's bound of the module docstring (s)."""
    lb = cost
    locs, n_u = value.shape[2], value.shape[3] - 1
    for k in range(nxt.size):
        m = nxt[k]
        if m >= nblk[k]:
            continue
        best = np.inf
        for j in range(locs):
            s = max(last_end[k] + trans[k, m, last_loc[k], j], free[j - 1 if j > 0 else n_srv + dev[k]], tstar)
            u = max(0, int(math.floor(s / fine - _EPS)) - u0[k])
            if u < n_u and value[k, m, j, u] < best:
                best = value[k, m, j, u]
        lb += best
    n_c = price_after.shape[1] - 1
    for r in range(free.size):
        c = min(n_c, max(0, int(math.floor(max(free[r], tstar) / fine - _EPS)) // per_coarse))
        lb -= price_after[r, c]
    return lb


@dataclass(frozen=True)
class CompletionTables:
    """The priced completions of every task (see the module docstring).

    value[k, m, j, u]: V_k on fine slot u0[k] + u (s; inf past the task's cap); price_after[r, c]:
    the sum of the prices of r's slots c.. (s); coarse_s and fine_s the two grids (s)."""

    value: np.ndarray
    u0: np.ndarray
    price_after: np.ndarray
    per_coarse: int
    fine_s: float
    lp_bound_s: float = -math.inf

    @property
    def coarse_s(self) -> float:
        """The LP's slot the prices are on (s)."""
        return self.per_coarse * self.fine_s

    def kernel_args(self) -> tuple:
        """The arrays and grids :func:`priced_bound_kernel` takes first."""
        return self.value, self.u0, self.price_after, self.per_coarse, self.fine_s

    def root_bound(self, scenario: Scenario) -> float:
        """L(w) of the module docstring at an empty node (s)."""
        p = PackedScenario(scenario)
        free = p.resource_free0
        none = np.zeros(p.nblk.size, np.int64)  # no block placed: each task's input on its device
        return float(
            priced_bound_kernel(
                self.value,
                self.u0,
                self.price_after,
                self.per_coarse,
                self.fine_s,
                p.trans,
                p.dev,
                p.nblk,
                scenario.num_servers,
                free,
                none,
                none.copy(),
                p.rel.copy(),
                -np.inf,
                0.0,
            )
        )


def completion_tables(
    scenario: Scenario, prices: np.ndarray, coarse_s: float, caps: list[float], fine_s: float = FINE_GRID_S
) -> CompletionTables:
    """The completion tables of ``scenario`` at slot ``prices`` (resources: the servers, then the
    devices' CPUs; slots of ``coarse_s``), each task's chains ending within its cap in ``caps`` (s);
    the fine grid divides the coarse one, coarser than ``fine_s`` if the tables would not fit."""
    p = PackedScenario(scenario)
    k_tasks, m_max, locs = p.dur.shape
    n_srv = scenario.num_servers
    per_coarse = points_per_slot(coarse_s, fine_s, k_tasks * m_max * locs, max(caps) / coarse_s + 2)
    fine_s = coarse_s / per_coarse
    wfine = fine_prices(prices, per_coarse)
    price_after = wfine[:, -1:] - wfine[:, : prices.shape[1] * per_coarse + 1 : per_coarse]  # slots c.. of r
    u0 = np.floor(p.rel / fine_s).astype(np.int64)
    n_u = int(math.ceil(max(caps) / fine_s)) + 2
    value = np.full((k_tasks, m_max, locs, n_u + 1), np.inf)
    free_u = whole_slots(p.resource_free0, fine_s)  # each resource's first fine slot
    for k in range(k_tasks):
        res = np.array([j - 1 if j > 0 else n_srv + p.dev[k] for j in range(locs)], np.int64)
        n_k = min(n_u, int(math.ceil(caps[k] / fine_s)) + 2)
        _fill(
            value[k, :, :, : n_k + 1],
            int(p.nblk[k]),
            p.dur[k],
            p.trans[k],
            p.ret[k],
            float(p.rel[k]),
            res,
            wfine,
            float(fine_s),
            int(u0[k]),
            free_u,
        )
    return CompletionTables(value, u0, price_after, per_coarse, float(fine_s))


def priced_completions(
    scenario: Scenario, upper: float, delay_low: list[float], incumbent: tuple, time_limit: float | None
) -> CompletionTables | None:
    """The completion tables at the chain-schedule LP's prices for schedules better than ``upper``
    (s), from ``incumbent`` (placement, start_s) within ``time_limit`` s in all; None when the LP
    gives no prices. ``lp_bound_s`` keeps the LP's own bound.

    The LP's slots are :func:`~partopt.shared.solvers.columns.coarse_first_chain_lp_bound`'s from
    :data:`PRICED_SLOT_S`: coarse ones first where the horizon is long (a congested edge), then
    the finest if half the time is left; the prices of the higher bound are kept.
    """
    lp = coarse_first_chain_lp_bound(
        scenario, upper, delay_low, finest_s=PRICED_SLOT_S, time_limit=time_limit, incumbent=incumbent
    )
    if lp is None:
        return None
    tables = completion_tables(scenario, lp.prices, lp.grid_s, delay_caps(upper, delay_low))
    return dataclasses.replace(tables, lp_bound_s=lp.bound_s)
