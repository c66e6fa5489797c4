"""The placement environment, registered as ``partopt/BlockPlacement-v0``.

One step is one time slot (section 4.1 of the source paper): a new task (an
instance) is drawn, the agent places all its blocks at once, and the reward is eq.
(14), -(L + beta psi), computed by :func:`partopt.evaluate`. The device's remaining
energy follows eq. (11) from ``max_energy_j``; an episode ends when it is spent
(terminated) or after ``horizon`` slots (truncated; 600 in the paper).

Observation: :mod:`partopt.learned.features` of the task, whose last entry is
E^r(t) / E^max. Action: one location per block, ``MultiDiscrete([N+1] * M)``.
All randomness comes from ``self.np_random``, seeded by ``reset(seed=...)``.

:class:`BlockPlacementVectorEnv` runs ``num_envs`` such slots side by side for
training, on precomputed tables of a pool of tasks, so that a step of all of them
costs microseconds instead of a call to ``evaluate`` each; its rewards equal
``evaluate``'s (tested).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence, cast

import gymnasium as gym
import numpy as np

from partopt.chain.costs import InstanceBatch, along_batch, cost_tensors
from partopt.fields import short
from partopt.formulas import deadline_excess, within
from partopt.generation import get_generator, training_instances
from partopt.learned.features import FEATURE_BOUND, encode, encode_batch, feature_size
from partopt.objective import Objective
from partopt.problem import evaluate

if TYPE_CHECKING:
    from partopt.chain.model import Instance

__all__ = ["BlockPlacementEnv", "BlockPlacementVectorEnv", "TaskPool"]


def _check_episode(horizon, max_energy_j) -> None:
    """Clear errors for the episode settings both environments take."""
    if not (isinstance(horizon, int) and horizon >= 1):
        raise ValueError(f"horizon: must be an int >= 1, got {horizon!r}")
    if max_energy_j is not None and not max_energy_j > 0:
        raise ValueError(f"max_energy_j: must be > 0 or None, got {max_energy_j!r}")


class BlockPlacementEnv(gym.Env):
    """Place the blocks of one task per slot; reward eq. (14).

    generator / generator_params: where tasks come from (default the ``paper``
    generator); or ``instances``: a fixed list to draw from uniformly. All tasks must
    share one shape (M, N). beta: penalty weight. horizon: slots per episode.
    max_energy_j: E^max, or None for no energy limit.
    """

    metadata = {"render_modes": []}  # noqa: RUF012 - gymnasium's own class attribute

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
            self.instances: list[Instance] | None = list(instances)
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
                raise ValueError(
                    f"generator_params: the environment needs one shape (M, N), the generator "
                    f"gives several {sorted(probe)}; fix num_blocks and num_servers"
                )
            shape = probe.pop()
        _check_episode(horizon, max_energy_j)
        self.shape = shape
        self.beta = float(beta)
        self.horizon = horizon
        self.max_energy_j = max_energy_j
        m, n = shape
        self.observation_space = gym.spaces.Box(
            -FEATURE_BOUND, FEATURE_BOUND, shape=(feature_size(m, n),), dtype=np.float32
        )
        self.action_space = gym.spaces.MultiDiscrete([n + 1] * m)
        self.task: Instance | None = None
        self.t = 0
        self.remaining = math.inf

    def _draw(self) -> Instance:
        if self.instances is not None:
            return self.instances[int(self.np_random.integers(len(self.instances)))]
        if self.generator is None:
            raise RuntimeError("the environment has neither instances nor a generator")
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
        placement = np.asarray(action).ravel()
        if not self.action_space.contains(placement.astype(self.action_space.dtype)) or not np.array_equal(
            placement, placement.astype(np.int64)
        ):
            space = cast("gym.spaces.MultiDiscrete", self.action_space)
            top = space.nvec[0] - 1
            raise ValueError(f"action: need {space.shape[0]} locations in 0..{top}, got {short(placement.tolist())}")
        ev = evaluate(self.task, [int(a) for a in placement])
        reward = ev.reward(self.beta)
        self.remaining -= ev.energy
        self.t += 1
        info = {
            "total_delay": ev.total_delay,
            "penalty": ev.penalty,
            "energy": ev.energy,
            "deadlines_met": ev.deadlines_met,
            "budget_kept": ev.budget_kept,
            "remaining_energy": self.remaining,
        }
        terminated = self.max_energy_j is not None and self.remaining <= 0.0
        truncated = self.t >= self.horizon and not terminated
        self.task = self._task_with_budget()
        return encode(self.task, self._energy_fraction()), reward, terminated, truncated, info


class TaskPool:
    """A fixed set of tasks with everything a step needs, precomputed as arrays.

    features (P, F) float32 (energy entry 1), step costs (P, M, L, L) of eq. (14)'s
    L_m + beta max(L_m - tau_m, 0) (s), delays and device energies (P, M, L, L) (s, J)
    and deadlines (P, M) (s), from :func:`partopt.chain.costs.cost_tensors`.
    """

    def __init__(self, instances: Sequence[Instance], beta: float):
        batch = InstanceBatch.stack(list(instances))
        costs = cost_tensors(batch)
        self.size = batch.size
        self.shape = batch.shape
        self.features = encode_batch(batch)
        self.step_cost = Objective("penalty", beta).step_cost(costs)
        self.delay = costs.delay
        self.energy = costs.energy
        self.deadlines = costs.deadlines

    @classmethod
    def draw(
        cls,
        generator: str = "paper",
        generator_params: dict | None = None,
        size: int = 20_000,
        seed: int = 0,
        beta: float = 1.0,
    ) -> "TaskPool":
        """Tasks 0 .. size-1 of ``generator``'s stream with training ``seed`` (below 1,000,000)."""
        if not (isinstance(size, int) and size >= 1):
            raise ValueError(f"size: must be an int >= 1, got {size!r}")
        return cls(training_instances(generator, seed, 0, size, generator_params), beta)


class BlockPlacementVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` copies of :class:`BlockPlacementEnv` stepped together, tasks drawn
    uniformly from a :class:`TaskPool`.

    Each copy has its own slot count and remaining energy (eq. 11). A copy whose episode
    ends is reset in the same step (gymnasium's "same-step" autoreset): the returned
    observation starts its next episode and ``info["final_obs"]`` holds the one it ended
    on. ``info`` carries per-copy arrays total_delay, penalty, energy, deadlines_met.
    ``stagger``: copy i's first episode starts at slot i T / num_envs (so it is shorter),
    so that episodes end at a steady rate rather than all at once.
    """

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}  # noqa: RUF012 - gymnasium's

    def __init__(
        self,
        pool: TaskPool,
        num_envs: int = 64,
        horizon: int = 600,
        max_energy_j: float | None = None,
        stagger: bool = False,
    ):
        if not (isinstance(num_envs, int) and num_envs >= 1):
            raise ValueError(f"num_envs: must be an int >= 1, got {num_envs!r}")
        _check_episode(horizon, max_energy_j)
        m, n = pool.shape
        self.pool, self.num_envs, self.horizon, self.max_energy_j = pool, num_envs, horizon, max_energy_j
        self.stagger = stagger
        self.shape = pool.shape
        self.single_observation_space = gym.spaces.Box(
            -FEATURE_BOUND, FEATURE_BOUND, shape=(feature_size(m, n),), dtype=np.float32
        )
        self.single_action_space = gym.spaces.MultiDiscrete([n + 1] * m)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self.tasks = np.zeros(num_envs, dtype=np.int64)
        self.t = np.zeros(num_envs, dtype=np.int64)
        self.remaining = np.full(num_envs, np.inf)

    def _observe(self) -> np.ndarray:
        obs = self.pool.features[self.tasks].copy()
        if self.max_energy_j is not None:
            obs[:, -1] = np.maximum(self.remaining, 0.0) / self.max_energy_j
        return obs

    def _restart(self, which: np.ndarray) -> None:
        self.t[which] = 0
        self.remaining[which] = np.inf if self.max_energy_j is None else float(self.max_energy_j)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._restart(np.ones(self.num_envs, dtype=bool))
        if self.stagger:
            self.t = (np.arange(self.num_envs) * self.horizon) // self.num_envs
        self.tasks = self.np_random.integers(self.pool.size, size=self.num_envs)
        return self._observe(), {}

    def step(self, actions):
        raw = np.asarray(actions)
        single = cast("gym.spaces.MultiDiscrete", self.single_action_space)
        m, locations = single.shape[0], int(single.nvec[0])
        if raw.size != self.num_envs * m or not np.array_equal(raw, raw.astype(np.int64)):
            raise ValueError(f"actions: need {self.num_envs} x {m} integer locations, got shape {raw.shape}")
        placements = raw.astype(np.int64).reshape(self.num_envs, m)
        if placements.min() < 0 or placements.max() >= locations:
            raise ValueError(
                f"actions: locations must be in 0..{locations - 1}, got {placements.min()}..{placements.max()}"
            )
        pool, idx = self.pool, self.tasks
        delay = along_batch(pool.delay[idx], placements)
        reward = -along_batch(pool.step_cost[idx], placements).sum(axis=1)
        energy = along_batch(pool.energy[idx], placements).sum(axis=1)
        info = {
            "total_delay": delay.sum(axis=1),
            "penalty": deadline_excess(delay, pool.deadlines[idx]).sum(axis=1),
            "energy": energy,
            "deadlines_met": within(delay, pool.deadlines[idx]).all(axis=1),
        }
        self.remaining -= energy
        self.t += 1
        terminated = (self.remaining <= 0.0) if self.max_energy_j is not None else np.zeros(self.num_envs, dtype=bool)
        truncated = (self.t >= self.horizon) & ~terminated
        self.tasks = self.np_random.integers(pool.size, size=self.num_envs)
        ended = terminated | truncated
        if ended.any():
            info["final_obs"] = self._observe()
            self._restart(ended)
        return self._observe(), reward, terminated, truncated, info

    @staticmethod
    def following(obs: np.ndarray, info: dict, ended: np.ndarray) -> np.ndarray:
        """The observation that follows each copy's step: ``obs``, or ``info["final_obs"]``
        for the copies whose episode ``ended`` (the value to bootstrap from)."""
        if not ended.any():
            return obs
        out = obs.copy()
        out[ended] = info["final_obs"][ended]
        return out
