"""Compiled loops (Numba) of one chain: the chain DP's Bellman recursion (:func:`bellman`), the
budget DP's backward bounds and best-first search (:func:`remaining`, :func:`best_first`).
The shared edge's loops are in :mod:`partopt.shared.kernels`.

Importing this module imports Numba (about half a second); the solvers import it on their
first call, so ``import partopt`` stays quick. The machine code is cached on disk
(``cache=True``): a fresh process loads it instead of compiling again.

The recursion reads every step tensor once, in memory order, and keeps only a vector of
``L`` values and the back pointers; there are no temporaries of shape (B, L, L).
"""

from __future__ import annotations

import heapq

import numba
import numpy as np

__all__ = ["bellman", "best_first", "remaining"]


@numba.njit(cache=True, nogil=True)
def _bellman_into(step, energy, price, placements, values):  # pragma: no cover
    bsz, m_blocks, locs, _ = step.shape
    priced = price != 0.0
    value = np.empty(locs)
    nxt = np.empty(locs)
    back = np.zeros((m_blocks, locs), dtype=np.int64)
    for b in range(bsz):
        for j in range(locs):
            value[j] = step[b, 0, 0, j]  # the raw input starts on the device
            if priced:
                value[j] += price * energy[b, 0, 0, j]
        for m in range(1, m_blocks):
            for j in range(locs):
                nxt[j] = np.inf
                back[m, j] = 0
            for i in range(locs):
                here = value[i]
                for j in range(locs):
                    total = here + step[b, m, i, j]
                    if priced:
                        total += price * energy[b, m, i, j]
                    if total < nxt[j]:  # strict: the lowest-index best predecessor wins ties
                        nxt[j] = total
                        back[m, j] = i
            for j in range(locs):
                value[j] = nxt[j]
        last = 0
        for j in range(1, locs):
            if value[j] < value[last]:
                last = j
        values[b] = value[last]
        placements[b, m_blocks - 1] = last
        for m in range(m_blocks - 1, 0, -1):
            last = back[m, last]
            placements[b, m - 1] = last


def bellman(step: np.ndarray, energy: np.ndarray | None = None, price: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Least-cost paths of a batch of (B, M, L, L) step costs, each step priced
    ``step + price x energy`` when ``energy`` (same shape, J) is given with a price (s/J):
    (placements (B, M), values (B,)). See :func:`partopt.chain.solvers.dp.chain_dp`, which calls it.
    """
    step = np.ascontiguousarray(step, dtype=np.float64)
    bsz, m_blocks = step.shape[:2]
    placements = np.zeros((bsz, m_blocks), dtype=np.int64)
    values = np.empty(bsz)
    if energy is None or price == 0.0:
        energy, price = step, 0.0
    _bellman_into(step, np.ascontiguousarray(energy, dtype=np.float64), float(price), placements, values)
    return placements, values


@numba.njit(cache=True, nogil=True)
def _remaining_into(step, energy, prices, to_go, rest):  # pragma: no cover
    m_blocks, locs, _ = step.shape
    to_go[m_blocks - 1, :] = 0.0
    rest[:, m_blocks - 1, :] = 0.0
    for m in range(m_blocks - 2, -1, -1):
        for i in range(locs):
            least = np.inf
            for j in range(locs):
                if np.isfinite(step[m + 1, i, j]):
                    least = min(least, energy[m + 1, i, j] + to_go[m + 1, j])
            to_go[m, i] = least
            for p in range(prices.size):
                best = np.inf
                for j in range(locs):
                    s = step[m + 1, i, j]
                    if np.isfinite(s):
                        best = min(best, s + prices[p] * energy[m + 1, i, j] + rest[p, m + 1, j])
                    else:
                        best = min(best, s)
                rest[p, m, i] = best


def remaining(step: np.ndarray, energy: np.ndarray, prices) -> tuple[np.ndarray, np.ndarray]:
    """(least remaining energy (M, L), least remaining step + price x energy (P, M, L)) from
    every node (m, j) of one chain to its end (blocks m+1..M-1), for each of P prices (s/J)."""
    step = np.ascontiguousarray(step, dtype=np.float64)
    prices = np.ascontiguousarray(np.atleast_1d(prices), dtype=np.float64)
    m_blocks, locs, _ = step.shape
    to_go, rest = np.empty((m_blocks, locs)), np.empty((prices.size, m_blocks, locs))
    _remaining_into(step, np.ascontiguousarray(energy, dtype=np.float64), prices, to_go, rest)
    return to_go, rest


@numba.njit(cache=True, nogil=True)
def _push(heap, count, m, c0, e0, parent, last, limit, budget, upper, to_go, rest, prices):  # pragma: no cover
    """Push the labels (c0[j], e0[j]) at block m (children of ``parent``) that may still
    finish within the budget and under ``upper``; returns the new push count."""
    for j in range(c0.size):
        c, e = c0[j], e0[j]
        if not np.isfinite(c) or e + to_go[m, j] > limit:
            continue
        bound = c
        if m != last:
            for p in range(prices.size):
                bound = max(bound, c + prices[p] * (e - budget) + rest[p, m, j])
        if bound <= upper:
            heapq.heappush(heap, (bound, count, c, e, m, j, parent))
            count += 1
    return count


@numba.njit(cache=True, nogil=True)
def _dominated(head, chain, lab_c, lab_e, node, c, e):  # pragma: no cover
    """Whether a label taken out at ``node`` has no more cost and no more energy than (c, e)."""
    k = head[node]
    while k >= 0:
        if lab_c[k] <= c and lab_e[k] <= e:
            return True
        k = chain[k]
    return False


@numba.njit(cache=True, nogil=True)
def _best_first_into(step, energy, to_go, rest, prices, budget, upper, rel_tol, placement):  # pragma: no cover
    m_blocks, locs, _ = step.shape
    last = m_blocks - 1
    limit = budget * (1.0 + rel_tol)
    # The heap holds (bound, push order, cost, energy, block, location, parent label).
    heap = [(0.0, 0, 0.0, 0.0, 0, 0, 0)]
    heap.pop()
    # Labels taken out, per node a linked list through ``chain`` for the dominance check.
    cap = 1024
    lab_c, lab_e = np.empty(cap), np.empty(cap)
    lab_loc, lab_parent, chain = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64)
    head = np.full(m_blocks * locs, -1, np.int64)
    taken = 0
    count = _push(
        heap, 0, 0, step[0, 0].copy(), energy[0, 0].copy(), -1, last, limit, budget, upper, to_go, rest, prices
    )
    while len(heap) > 0:
        _, _, c, e, m, j, parent = heapq.heappop(heap)
        node = m * locs + j
        if _dominated(head, chain, lab_c, lab_e, node, c, e):
            continue
        if taken == cap:
            cap *= 2
            lab_c, lab_e = _grown(lab_c, cap), _grown(lab_e, cap)
            lab_loc, lab_parent, chain = _grown(lab_loc, cap), _grown(lab_parent, cap), _grown(chain, cap)
        lab_c[taken], lab_e[taken], lab_loc[taken], lab_parent[taken] = c, e, j, parent
        chain[taken], head[node] = head[node], taken
        label = taken
        taken += 1
        if m == last:
            for b in range(last, -1, -1):
                placement[b] = lab_loc[label]
                label = lab_parent[label]
            return c
        count = _push(
            heap,
            count,
            m + 1,
            c + step[m + 1, j],
            e + energy[m + 1, j],
            taken - 1,
            last,
            limit,
            budget,
            upper,
            to_go,
            rest,
            prices,
        )
    return -1.0


@numba.njit(cache=True)
def _grown(values, size):  # pragma: no cover
    out = np.empty(size, values.dtype)
    out[: values.size] = values
    return out


def best_first(
    step: np.ndarray,
    energy: np.ndarray,
    to_go: np.ndarray,
    rest: np.ndarray,
    prices: np.ndarray,
    budget: float,
    upper: float,
    rel_tol: float,
) -> tuple[np.ndarray, float] | None:
    """The least-cost path within ``budget`` by best-first search over (cost, energy) labels,
    or None when none costs at most ``upper``: see :func:`partopt.chain.solvers.dp.budget_dp`.

    step, energy: (M, L, L); to_go: least remaining energy (M, L); rest: least remaining
    step + price x energy (P, M, L) for the P ``prices`` (s/J).
    """
    placement = np.zeros(step.shape[0], dtype=np.int64)
    value = _best_first_into(
        np.ascontiguousarray(step, dtype=np.float64),
        np.ascontiguousarray(energy, np.float64),
        np.ascontiguousarray(to_go, np.float64),
        np.ascontiguousarray(rest, np.float64),
        np.ascontiguousarray(prices, np.float64),
        float(budget),
        float(upper),
        float(rel_tol),
        placement,
    )
    return None if value < 0 else (placement, value)
