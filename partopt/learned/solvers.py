"""Trained policies behind :func:`partopt.solve`: mt-a3c, a3c, dqn, imitation, distilled, shape-free
(one chain), and horizon-learned (a chain policy slot by slot over a horizon).

``checkpoint=None`` takes the shipped checkpoint that fits the instance's shape (or
names the ones that exist); shape-free has one checkpoint for every shape it was
trained on. A checkpoint that records its training domain refuses other shapes and
warns about quantities outside its training range, unless ``allow_outside=True``.
Decoding is greedy by default; ``samples=K`` keeps the best of the greedy placement
and K-1 sampled ones by :func:`partopt.evaluate`;
``polish=True`` runs local search on the result. The placement is priced by
``partopt.solve`` like any other, so a deadline-breaking one is reported VIOLATED.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from partopt.horizon.solvers import run_online
from partopt.learned.policy import load_policy
from partopt.result import SolverOutput

if TYPE_CHECKING:
    from partopt.chain.model import Instance
    from partopt.horizon.model import Horizon
    from partopt.objective import Objective

__all__ = [
    "solve_a3c",
    "solve_distilled",
    "solve_dqn",
    "solve_horizon_learned",
    "solve_imitation",
    "solve_mt_a3c",
    "solve_shape_free",
]


def _solver(agent: str):
    def solve_learned(
        instance: Instance,
        objective: Objective,
        *,
        time_limit=None,
        seed=None,
        checkpoint=None,
        samples: int = 1,
        polish: bool = False,
        allow_outside: bool = False,
    ) -> SolverOutput:
        if not (isinstance(samples, int) and samples >= 1):
            raise ValueError(f"samples: must be an int >= 1, got {samples!r}")
        policy = load_policy(checkpoint, agent, instance.shape)
        placement = policy.place(
            instance, objective, samples=samples, seed=seed, polish=polish, allow_outside=bool(allow_outside)
        )
        return SolverOutput(placement=placement, info={"checkpoint": policy.path, "agent": agent})

    solve_learned.__name__ = f"solve_{agent.replace('-', '_')}"
    solve_learned.__doc__ = f"Place with the trained {agent} policy (see the module docstring)."
    return solve_learned


solve_mt_a3c = _solver("mt-a3c")
solve_a3c = _solver("a3c")
solve_dqn = _solver("dqn")
solve_imitation = _solver("imitation")
solve_distilled = _solver("distilled")
solve_shape_free = _solver("shape-free")


def solve_horizon_learned(
    horizon: Horizon, objective: Objective, *, time_limit=None, seed=None, agent: str = "mt-a3c", checkpoint=None
) -> SolverOutput:
    """Online: a trained chain policy, E^r(t) / E^max in its state and E^r(t) as the slot's budget."""
    full = horizon.energy_max_j

    def choose(t: int, inst: Instance, left: float) -> list[int]:
        policy = load_policy(checkpoint, agent, inst.shape)
        slot = inst.replace(energy_budget_j=min(left, inst.budget))
        return policy.place(slot, objective, energy_fraction=left / full if full > 0 else 0.0)

    out = run_online(horizon, choose)
    return SolverOutput(placement=out.placement, info={**(out.info or {}), "agent": agent})
