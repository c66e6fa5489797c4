"""Trained policies behind :func:`partopt.solve`: mt-a3c, a3c, dqn, imitation, distilled, shape-free.

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

from partopt.evaluation import Objective
from partopt.learned.policy import load_policy
from partopt.model import Instance
from partopt.result import SolverOutput

__all__ = ["solve_mt_a3c", "solve_a3c", "solve_dqn", "solve_imitation", "solve_distilled", "solve_shape_free"]


def _solver(agent: str):
    def solve_learned(instance: Instance, objective: Objective, *, time_limit=None, seed=None,
                      checkpoint=None, samples: int = 1, polish: bool = False,
                      allow_outside: bool = False) -> SolverOutput:
        if not (isinstance(samples, int) and samples >= 1):
            raise ValueError(f"samples: must be an int >= 1, got {samples!r}")
        policy = load_policy(checkpoint, agent, instance.shape)
        placement = policy.place(instance, objective, samples=samples, seed=seed, polish=polish,
                                 allow_outside=bool(allow_outside))
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
