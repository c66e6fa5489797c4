"""The shared edge online as a Gymnasium environment, registered as ``partopt/SharedEdge-v0``.

An episode is one stream (model Part IV, :mod:`partopt.stream`), drawn by the ``stream``
generator from the environment's random generator (``reset(seed=...)``) or taken from a given
list. One step is one arriving task: the agent places all its blocks at once, the blocks are
committed in chain order as :func:`partopt.simulate` commits them (each at the later of its
input's arrival and its resource's free time, or with ``fill_gaps`` in the first idle gap that
holds it), and the next task arrives. The episode
terminates after the stream's last task.

**Action**: one location per block, ``MultiDiscrete([N + 1] * M)`` (0 the task's device, 1..N
the servers). Every network of the stream must be cut into the same M blocks.

**Reward**: -(D_k + beta psi_k) - battery_penalty x (joules the placement draws beyond what
the device's battery holds), D_k the task's delay and psi_k its deadline excesses (s). A
placement that overdraws the battery is still committed (the episode's schedule then breaks
the battery, as ``evaluate`` reports).

**Observation** (float32, every entry clipped to [0, :data:`OBS_BOUND`]), for L = N + 1 locations:

- ``[0, L)``: each location's backlog, when it is next free less now (s): the task's device
  CPU, then the servers;
- ``L``: the device's battery as a share of its capacity (1 on mains power);
- ``L + 1``: the task's end-to-end deadline (s; 0 for none);
- then per block m (M rows of 3L + 1): its duration on each location (s), the time to move its
  input from the device to each location (s; the same rate both ways), the device energy of
  computing it on each location with its input sent from the device (J), and the time to move
  its input between two servers over the backhaul (s);
- last, the time to return the result from each location to the device (s).

``info`` of each step holds the task's ``delay_s``, ``excess_s``, ``energy_j`` and
``battery_j`` (after the task); after the last step ``info["evaluation"]`` is the whole
schedule checked by :func:`partopt.evaluate`. The episode's schedule is
``env.unwrapped.state`` (an :class:`~partopt.stream.simulate.EdgeState`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import gymnasium as gym
import numpy as np

from partopt.fields import short
from partopt.generation import get_generator
from partopt.stream.evaluation import evaluate_stream
from partopt.stream.model import Stream
from partopt.stream.simulate import Arrival, EdgeState

__all__ = ["OBS_BOUND", "SharedEdgeEnv", "observe"]

#: Every observation entry is clipped to [0, OBS_BOUND].
OBS_BOUND = 1e3

#: The environment's default streams: 6 blocks per network, 4 servers, 4 devices, 60 tasks/s for 5 s.
DEFAULT_STREAM = {
    "rate_per_s": 60.0,
    "horizon_s": 2.0,
    "num_servers": 4,
    "num_devices": 4,
    "shared_params": {"networks": ("vgg16", "alexnet", "resnet32", "nin"), "num_blocks": 6, "deadline_s": None},
}


def observation_size(blocks: int, servers: int) -> int:
    """The observation's length for M = ``blocks`` and N = ``servers``."""
    locs = servers + 1
    return locs + 2 + blocks * (3 * locs + 1) + locs


def observe(seen: Arrival) -> np.ndarray:
    """The observation of an arrival (see the module docstring)."""
    tab, now = seen.tables, seen.now_s
    locs = len(seen.free_s)
    head = [max(t - now, 0.0) for t in seen.free_s]
    share = 1.0 if math.isinf(seen.capacity_j) or seen.capacity_j <= 0 else seen.battery_j / seen.capacity_j
    head += [share, seen.task.deadline_s or 0.0]
    rows = []
    for m in range(len(tab.duration)):
        backhaul = tab.transfer[m][1][2] if locs > 2 else 0.0
        rows += [*tab.duration[m], *tab.transfer[m][0], *tab.energy[m][0], backhaul]
    obs = np.asarray(head + rows + list(tab.return_s), dtype=np.float64)
    return np.clip(obs, 0.0, OBS_BOUND).astype(np.float32)


class SharedEdgeEnv(gym.Env):
    """Place each arriving task of a shared-edge stream; reward its negative delay and penalties.

    Parameters
    ----------
    stream_params : dict or None
        Parameters of the ``stream`` generator (default :data:`DEFAULT_STREAM`); the networks
        must be cut into one number of blocks (``shared_params["num_blocks"]``).
    streams : sequence of Stream or None
        A fixed list of streams to draw from uniformly instead (one shape M, N).
    beta : float
        Weight of the deadline excess (s per s).
    battery_penalty : float
        Reward lost per joule a placement draws beyond the battery (s/J).
    fill_gaps : bool
        Commit each block into the first idle gap of its resource that holds it (as the
        ``gap-filling`` policy's runs do) instead of after every earlier commitment.
    """

    metadata = {"render_modes": []}  # noqa: RUF012 - gymnasium's own class attribute

    def __init__(
        self,
        stream_params: dict | None = None,
        streams: Sequence[Stream] | None = None,
        beta: float = 1.0,
        battery_penalty: float = 1.0,
        fill_gaps: bool = False,
    ):
        for key, value in (("beta", beta), ("battery_penalty", battery_penalty)):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (math.isfinite(value) and value >= 0)
            ):
                raise ValueError(f"{key}: must be a number >= 0, got {value!r}")
        self.beta, self.battery_penalty = float(beta), float(battery_penalty)
        if not isinstance(fill_gaps, bool):
            raise ValueError(f"fill_gaps: must be True or False, got {fill_gaps!r}")
        self.fill_gaps = fill_gaps
        if streams is not None:
            self.streams: list[Stream] | None = list(streams)
            if not self.streams or not all(isinstance(s, Stream) for s in self.streams):
                raise ValueError("streams: need a non-empty list of Stream")
            self.generator = None
            shapes = {_shape(s) for s in self.streams}
        else:
            self.streams = None
            self.generator = get_generator("stream", **(DEFAULT_STREAM if stream_params is None else stream_params))
            shapes = {_shape(self.generator.sample(np.random.default_rng(s))) for s in range(2)}
        if len(shapes) != 1 or min(shapes)[0] < 1:
            raise ValueError(
                f"the environment needs one shape (M blocks, N servers) for every task, got {sorted(shapes)}; "
                "fix shared_params['num_blocks'] and num_servers"
            )
        self.shape = shapes.pop()
        m, n = self.shape
        self.observation_space = gym.spaces.Box(0.0, OBS_BOUND, shape=(observation_size(m, n),), dtype=np.float32)
        self.action_space: gym.spaces.MultiDiscrete = gym.spaces.MultiDiscrete([n + 1] * m)
        self.stream: Stream | None = None
        self.state: EdgeState | None = None
        self.order: list[int] = []
        self.step_index = 0
        self.seen: Arrival | None = None

    def _draw(self) -> Stream:
        if self.streams is not None:
            return self.streams[int(self.np_random.integers(len(self.streams)))]
        assert self.generator is not None
        return self.generator.sample(self.np_random)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.stream = self._draw()
        self.state = EdgeState(self.stream, gaps=self.fill_gaps)
        self.order = self.stream.arrival_order
        self.step_index = 0
        self.seen = self.state.arrival(self.order[0])
        return observe(self.seen), {"task": self.seen.index}

    def step(self, action):
        if self.state is None or self.seen is None or self.stream is None:
            raise RuntimeError("step() before reset()")
        placement = np.asarray(action).ravel()
        if not self.action_space.contains(placement.astype(self.action_space.dtype)) or not np.array_equal(
            placement, placement.astype(np.int64)
        ):
            m, n = self.shape
            raise ValueError(f"action: need {m} locations in 0..{n}, got {short(placement.tolist())}")
        seen = self.seen
        out = self.state.commit(seen.index, [int(a) for a in placement])
        overdraw = max(out.energy_j - max(seen.battery_j, 0.0), 0.0)
        reward = -(out.delay_s + self.beta * out.excess_s) - self.battery_penalty * overdraw
        info: dict[str, Any] = {
            "task": seen.index,
            "delay_s": out.delay_s,
            "excess_s": out.excess_s,
            "energy_j": out.energy_j,
            "battery_j": out.battery_j,
        }
        self.step_index += 1
        terminated = self.step_index >= len(self.order)
        if terminated:
            placement_all = [p for p in self.state.placement if p is not None]
            starts = [s for s in self.state.start if s is not None]
            info["evaluation"] = evaluate_stream(self.stream, placement_all, starts)
            obs = np.zeros(observation_size(*self.shape), dtype=np.float32)
        else:
            self.seen = self.state.arrival(self.order[self.step_index])
            obs = observe(self.seen)
        return obs, float(reward), terminated, False, info


def _shape(stream: Stream) -> tuple[int, int]:
    """(M, N) of a stream whose networks share M blocks; (-1, N) when they do not."""
    counts = {len(m.blocks) for m in stream.scenario.models.values()}
    return (counts.pop() if len(counts) == 1 else -1, stream.scenario.num_servers)
