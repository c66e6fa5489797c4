"""Heuristics from the literature, each a solver behind :func:`partopt.solve`.

None proves anything: each returns a placement, which :func:`partopt.solve` prices
and marks VIOLATED when it breaks a constraint. All read their costs from the
cost tensors, so they agree with :func:`partopt.evaluate` by construction.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np

from partopt import formulas as f
from partopt.chain.costs import along
from partopt.result import SolverOutput

if TYPE_CHECKING:
    from partopt.chain.model import Instance
    from partopt.objective import Objective

__all__ = [
    "best_placement",
    "placement_scores",
    "solve_all_device",
    "solve_all_edge",
    "solve_apdi",
    "solve_greedy",
    "solve_rpdi",
    "solve_single_split",
]


def placement_scores(instance: Instance, objective: Objective, placements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(violation, value) of placements (P, M): how far each breaks the objective's
    constraints (0 when feasible; seconds late under "hard" plus joules over budget)
    and its objective value ignoring feasibility."""
    costs = instance.costs
    placements = np.atleast_2d(placements)
    delay = along(costs.delay[0], placements)
    energy = along(costs.energy[0], placements).sum(axis=1)
    value = objective.raw_cost(delay, instance.deadlines).sum(axis=1)
    violation = np.where(f.within(energy, instance.budget), 0.0, energy - instance.budget)
    if objective.kind == "hard":
        late = ~f.within(delay, instance.deadlines)
        violation = violation + np.where(late, f.deadline_excess(delay, instance.deadlines), 0.0).sum(axis=1)
    return violation, value


def best_placement(instance: Instance, objective: Objective, placements: np.ndarray) -> list[int]:
    """The best of ``placements``: least violation first, then least objective value, then first."""
    violation, value = placement_scores(instance, objective, placements)
    return placements[int(np.lexsort((np.arange(len(value)), value, violation))[0])].tolist()


def instance_key(instance: Instance) -> int:
    """A stable 32-bit digest of an instance's numbers (same in every process and run)."""
    data = b"".join(
        np.ascontiguousarray(a).tobytes()
        for a in (instance.cycles, instance.input_bits, instance.deadlines, instance.location_hz, instance.uplink_bps)
    )
    if any(b.server_cycles is not None for b in instance.blocks):
        data += np.ascontiguousarray(instance.location_cycles).tobytes()
    return zlib.crc32(data)


def solve_greedy(instance: Instance, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """The paper's greedy baseline [54]: blocks in order, each to the location that
    finishes it soonest given where the previous block went.

    The paper's "the ES with a lower load" maps to our single-task model as the
    location with the least block delay: a server's load shows in the CPU share
    ``cpu_hz`` it offers this task, and the link to reach it is part of the delay.
    Moves that would break the block's deadline (under "hard") or leave no room in
    the energy budget are avoided while any other move remains; ties go to the
    lowest location.
    """
    costs = instance.costs
    step = objective.step_cost(costs)[0]
    delay, energy = costs.delay[0], costs.energy[0]
    budget, spent, prev, placement = instance.budget, 0.0, 0, []
    for m in range(instance.num_blocks):
        cost = step[m, prev].copy()
        fits = f.within(spent + energy[m, prev], budget)
        ok = np.isfinite(cost) & fits
        choice = int(np.argmin(np.where(ok, cost, np.inf))) if ok.any() else int(np.argmin(delay[m, prev]))
        spent += energy[m, prev, choice]
        placement.append(choice)
        prev = choice
    return SolverOutput(placement=placement)


def solve_apdi(instance: Instance, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Average partitioning (APDI): the blocks in N contiguous, nearly equal groups,
    group g on server g (in order; the first M mod N groups get one block more).
    With fewer blocks than servers, block m goes to server m."""
    m_blocks, n = instance.num_blocks, instance.num_servers
    groups = np.array_split(np.arange(m_blocks), min(n, m_blocks))
    placement = [0] * m_blocks
    for g, members in enumerate(groups):
        for m in members:
            placement[m] = g + 1
    return SolverOutput(placement=placement)


def solve_rpdi(instance: Instance, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Random partitioning (RPDI): each block at a uniformly random location in 0..N.

    The draw depends on ``seed`` (None = 0) and on the instance's data, so one seed gives
    independent placements across instances and the same placement for the same instance.
    """
    rng = np.random.default_rng([0 if seed is None else seed, instance_key(instance)])
    return SolverOutput(placement=rng.integers(0, instance.num_locations, size=instance.num_blocks).tolist())


def solve_all_device(instance: Instance, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Every block on the IoT device (local inference only)."""
    return SolverOutput(placement=[0] * instance.num_blocks)


def solve_all_edge(instance: Instance, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Every block on one server: the server whose all-on-it placement ranks best
    (feasible first, then least objective)."""
    candidates = np.repeat(np.arange(1, instance.num_locations)[:, None], instance.num_blocks, axis=1)
    return SolverOutput(placement=best_placement(instance, objective, candidates))


def solve_single_split(instance: Instance, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Neurosurgeon's single split: blocks 1..k on the device, k+1..M on one server n.

    All (k, n) with 0 <= k <= M are tried (k = M is all on the device), so the best
    such split, feasible first, is found exactly.
    """
    m_blocks = instance.num_blocks
    candidates = [[0] * m_blocks]
    for n in range(1, instance.num_locations):
        for k in range(m_blocks):
            candidates.append([0] * k + [n] * (m_blocks - k))
    return SolverOutput(placement=best_placement(instance, objective, np.array(candidates)))
