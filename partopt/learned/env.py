"""The placement environment, registered as ``partopt/BlockPlacement-v0``.

One step is one time slot (section 4.1 of the source paper): a new task (an
instance) is drawn, the agent places all its blocks at once, and the reward is eq.
(14), -(L + beta psi), computed by :func:`partopt.evaluate`. The device's remaining
energy follows eq. (11) from ``max_energy_j``; an episode ends when it is spent
(terminated) or after ``horizon`` slots (truncated; 600 in the paper).

Observation: :mod:`partopt.learned.features` of the task, whose last entry is
E^r(t) / E^max. Action: one location per block, ``MultiDiscrete([N+1] * M)``.
All randomness comes from ``self.np_random``, seeded by ``reset(seed=...)``.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import gymnasium as gym
import numpy as np

from partopt.evaluation import evaluate
from partopt.generators import get_generator
from partopt.learned.features import FEATURE_BOUND, encode, feature_size
from partopt.model import Instance

__all__ = ["BlockPlacementEnv"]


class BlockPlacementEnv(gym.Env):
    """Place the blocks of one task per slot; reward eq. (14).

    generator / generator_params: where tasks come from (default the ``paper``
    generator); or ``instances``: a fixed list to draw from uniformly. All tasks must
    share one shape (M, N). beta: penalty weight. horizon: slots per episode.
    max_energy_j: E^max, or None for no energy limit.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        generator: str = "paper",
        generator_params: dict | None = None,
        instances: Sequence[Instance] | None = None,
        beta: float = 1.0,
        horizon: int = 600,
        max_energy_j: float | None = None,
    ):
        if instances is not None:
            self.instances = list(instances)
            if not self.instances:
                raise ValueError("instances: need at least one")
            shapes = {i.shape for i in self.instances}
            if len(shapes) != 1:
                raise ValueError(f"instances: all must share one shape (M, N), got {sorted(shapes)}")
            self.generator = None
            shape = shapes.pop()
        else:
            self.instances = None
            self.generator = get_generator(generator, **(generator_params or {}))
            probe = {self.generator.sample(np.random.default_rng(s)).shape for s in range(8)}
            if len(probe) != 1:
                raise ValueError(f"generator_params: the environment needs one shape (M, N), the generator "
                                 f"gives several {sorted(probe)}; fix num_blocks and num_servers")
            shape = probe.pop()
        if not (isinstance(horizon, int) and horizon >= 1):
            raise ValueError(f"horizon: must be an int >= 1, got {horizon!r}")
        if max_energy_j is not None and not max_energy_j > 0:
            raise ValueError(f"max_energy_j: must be > 0 or None, got {max_energy_j!r}")
        self.shape = shape
        self.beta = float(beta)
        self.horizon = horizon
        self.max_energy_j = max_energy_j
        m, n = shape
        self.observation_space = gym.spaces.Box(-FEATURE_BOUND, FEATURE_BOUND, shape=(feature_size(m, n),), dtype=np.float32)
        self.action_space = gym.spaces.MultiDiscrete([n + 1] * m)
        self.task: Instance | None = None
        self.t = 0
        self.remaining = math.inf

    def _draw(self) -> Instance:
        if self.instances is not None:
            return self.instances[int(self.np_random.integers(len(self.instances)))]
        return self.generator.sample(self.np_random)

    def _energy_fraction(self) -> float:
        return 1.0 if self.max_energy_j is None else max(self.remaining, 0.0) / self.max_energy_j

    def _task_with_budget(self) -> Instance:
        task = self._draw()
        if self.max_energy_j is not None:
            task = task.replace(energy_budget_j=max(self.remaining, 0.0))  # eq. (11): E^r(t) is slot t's budget
        return task

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.t = 0
        self.remaining = math.inf if self.max_energy_j is None else float(self.max_energy_j)
        self.task = self._task_with_budget()
        return encode(self.task, self._energy_fraction()), {}

    def step(self, action):
        if self.task is None:
            raise RuntimeError("step() before reset()")
        placement = [int(a) for a in np.asarray(action).ravel()]
        ev = evaluate(self.task, placement)
        reward = ev.reward(self.beta)
        self.remaining -= ev.energy
        self.t += 1
        info = {"total_delay": ev.total_delay, "penalty": ev.penalty, "energy": ev.energy,
                "deadlines_met": ev.deadlines_met, "budget_kept": ev.budget_kept,
                "remaining_energy": self.remaining}
        terminated = self.max_energy_j is not None and self.remaining <= 0.0
        truncated = self.t >= self.horizon and not terminated
        self.task = self._task_with_budget()
        return encode(self.task, self._energy_fraction()), reward, terminated, truncated, info
