"""Learned online dispatch of a stream (model Part IV), trained in ``partopt/SharedEdge-v0``.

The policy prices each arriving task's placement and takes the cheapest by the priced
earliest-finish DP (blocks into the idle gaps, as the ``gap-filling`` policy puts them): finish
time, plus a price per second of work on each location, plus a price per joule of device
energy. Six weights set the prices from what the environment's observation holds (the
locations' backlogs and the battery's level):

- the device's work price ``max(0, w0 + w1 d)``, d = 1 - E^r/E^max the battery drained;
- server j's work price ``max(0, w2 + w3 b_j / (mean b + 10 ms))``, b_j its backlog (s);
- the energy price ``max(0, w4) max(0, d - h)`` (s/J), h = min(max(w5, 0), 0.99) the share of
  the battery drained before energy has a price; Lyapunov's drift-plus-penalty for w4 = V, w5 = 0.

All zero is the gap-filling policy and (0, 0, 0, 0, V, 0) Lyapunov's price on it, so the learned
policy spans both. The threshold h lets the energy price wait until the battery runs low: a
price from the first joule (format ``partopt.online-dispatch/1``, five weights, read as h = 0)
trades delay for energy the device never needed at 60 and 100 tasks/s
(``bench/results/online.md``). :func:`train_online_dispatch` fits the weights by the cross-entropy method
on episode returns of the environment, each candidate on the same episodes (common random
numbers), the starting points gap-filling and Lyapunov's price on it among the first candidates, the best
score kept: the mean return over gap-filling's, penalized at any rate where it is worse than
gap-filling (:func:`training_score`). The weights are saved as JSON (no code is loaded from a file); the trained
weights ship in ``partopt/data/checkpoints/online-dispatch.json``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from partopt.fields import InstanceError, number_field
from partopt.profiles import data_dir
from partopt.progress import Progress
from partopt.result import SolverOutput
from partopt.stream.policies import priced_placement, within_battery
from partopt.stream.simulate import Arrival, simulate

if TYPE_CHECKING:
    import os

__all__ = [
    "OnlineDispatch",
    "load_online_dispatch",
    "solve_online_learned",
    "train_online_dispatch",
    "training_score",
]

FORMAT = "partopt.online-dispatch/2"
#: The first format: five weights, no threshold (read with w5 = 0, the same policy).
FORMAT_V1 = "partopt.online-dispatch/1"
NUM_WEIGHTS = 6
#: The highest drained share the energy price's threshold takes.
MAX_THRESHOLD = 0.99
SHIPPED = "online-dispatch.json"


@dataclass(frozen=True)
class OnlineDispatch:
    """The learned online dispatch policy: six price weights (see the module's docstring)."""

    weights: tuple[float, ...]
    trained: dict | None = None

    #: Its blocks go into the first idle gap that holds them (the simulation reads this).
    fills_gaps: ClassVar[bool] = True

    def __post_init__(self):
        if len(self.weights) != NUM_WEIGHTS:
            raise InstanceError("weights", f"needs {NUM_WEIGHTS} numbers, got {len(self.weights)}")
        object.__setattr__(self, "weights", tuple(number_field(w, f"weights[{i}]") for i, w in enumerate(self.weights)))

    def prices(self, seen: Arrival) -> tuple[list[float], float]:
        """(work price per location, s per s of work; energy price, s/J) for an arrival."""
        w0, w1, w2, w3, w4, w5 = self.weights
        full = math.isinf(seen.capacity_j) or seen.capacity_j <= 0
        drained = 0.0 if full else min(max(1.0 - seen.battery_j / seen.capacity_j, 0.0), 1.0)
        backlog = [max(t - seen.now_s, 0.0) for t in seen.free_s[1:]]
        scale = sum(backlog) / len(backlog) + 0.01
        work = [max(0.0, w0 + w1 * drained)] + [max(0.0, w2 + w3 * b / scale) for b in backlog]
        threshold = min(max(w5, 0.0), MAX_THRESHOLD)
        return work, max(0.0, w4) * max(0.0, drained - threshold)

    def __call__(self, seen: Arrival) -> list[int]:
        """One location per block of the arriving task."""
        work, energy = self.prices(seen)
        return within_battery(seen, priced_placement(seen, work, energy))

    def save(self, path: str | os.PathLike) -> None:
        """Write the weights (and how they were trained) as JSON."""
        data = {"format": FORMAT, "weights": list(self.weights), "trained": self.trained}
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)


def load_online_dispatch(path: str | os.PathLike | None = None) -> OnlineDispatch:
    """The policy saved at ``path`` (default: the shipped one); errors name the file's field."""
    with open(data_dir() / "checkpoints" / SHIPPED if path is None else path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InstanceError("file", f"not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, dict) or data.get("format") not in (FORMAT, FORMAT_V1):
        raise InstanceError("format", f"must be {FORMAT!r} (or {FORMAT_V1!r})")
    weights = data.get("weights")
    size = NUM_WEIGHTS - (data["format"] == FORMAT_V1)
    if not isinstance(weights, list) or len(weights) != size:
        raise InstanceError("weights", f"must be a list of {size} numbers for {data['format']!r}")
    if data["format"] == FORMAT_V1:
        weights = [*weights, 0.0]  # no threshold: the energy price from the first joule
    trained = data.get("trained")
    return OnlineDispatch(tuple(weights), trained if isinstance(trained, dict) else None)


def _episode_return(env: Any, policy: OnlineDispatch, seed: int) -> float:
    """One episode of ``env`` acted by ``policy`` on the arrival its observation encodes."""
    env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        action = policy(env.unwrapped.seen)
        _, reward, terminated, truncated, _ = env.step(action)
        total += reward
        done = terminated or truncated
    return total


#: How much a candidate's score loses per unit of its mean ratio to gap-filling above 1 at any
#: one rate: a policy worse than gap-filling at a rate it trains for is never preferred to it.
WORSE_RATE_PENALTY = 10.0


def training_score(ratios_by_rate: Sequence[Sequence[float]]) -> float:
    """A candidate's score from its ratios to gap-filling (total delay and penalties over
    gap-filling's on the same episode), one row per arrival rate: minus the mean ratio, less
    :data:`WORSE_RATE_PENALTY` times each rate's mean ratio above 1. Gap-filling's own is -1;
    a higher score is better."""
    means = [float(np.mean(row)) for row in ratios_by_rate]
    worse = sum(max(0.0, m - 1.0) for m in means)
    return -float(np.mean(means)) - WORSE_RATE_PENALTY * worse


def train_online_dispatch(
    rates: Sequence[float] = (10.0, 30.0, 60.0, 100.0, 120.0, 200.0),
    *,
    iterations: int = 8,
    population: int = 12,
    episodes: int = 8,
    seed: int = 0,
    stream_params: dict | None = None,
    progress: bool = False,
) -> tuple[OnlineDispatch, list[float]]:
    """Fit the weights by the cross-entropy method in ``partopt/SharedEdge-v0``.

    Each candidate plays ``episodes`` streams at each arrival rate (tasks/s); its score
    (:func:`training_score`) is minus the mean of its returns over the gap-filling policy's on the
    same episodes (its total delay and penalties as a multiple of gap-filling's, so that every rate
    weighs alike; -1 is gap-filling's own score), less a penalty for every rate where it is worse
    than gap-filling. Returns the policy of the best score seen and the best score after each
    iteration.
    """
    import gymnasium as gym

    from partopt.learned import SHARED_ENV_ID
    from partopt.learned.shared_env import DEFAULT_STREAM

    for name, value in (("iterations", iterations), ("population", population), ("episodes", episodes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
    if not rates or any(not (isinstance(r, (int, float)) and r > 0) for r in rates):
        raise ValueError(f"rates: need positive arrival rates (tasks/s), got {rates!r}")
    params = dict(DEFAULT_STREAM if stream_params is None else stream_params)
    envs = [gym.make(SHARED_ENV_ID, stream_params={**params, "rate_per_s": float(r)}, fill_gaps=True) for r in rates]
    seeds = [seed * 1000 + e for e in range(episodes)]

    gap_filling = OnlineDispatch((0.0,) * NUM_WEIGHTS)
    baseline = [[_episode_return(env, gap_filling, s) for s in seeds] for env in envs]

    def score(weights: np.ndarray) -> float:
        policy = OnlineDispatch(tuple(float(w) for w in weights))
        return training_score(
            [
                [_episode_return(env, policy, s) / min(base, -1e-12) for s, base in zip(seeds, bases)]
                for env, bases in zip(envs, baseline)
            ]
        )

    rng = np.random.default_rng(seed)
    mean = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 0.3])
    std = np.array([0.3, 0.3, 0.3, 0.3, 1.0, 0.2])
    # gap-filling, Lyapunov's price (V = 1) on it, and that price from a third of the battery drained
    starts = [np.zeros(NUM_WEIGHTS), np.array([0.0, 0.0, 0.0, 0.0, 1.0, 0.0]), mean.copy()]
    best_w, best_score, history = mean.copy(), -math.inf, []
    line = Progress("train online dispatch", iterations, enabled=progress)
    begin = time.perf_counter()
    for it in range(iterations):
        draws = [*starts] if it == 0 else []
        draws += [mean + std * rng.standard_normal(NUM_WEIGHTS) for _ in range(population - len(draws))]
        scores = [score(w) for w in draws]
        order = np.argsort(scores)[::-1]
        elite = np.array([draws[i] for i in order[: max(2, population // 4)]])
        if scores[order[0]] > best_score:
            best_score, best_w = scores[order[0]], draws[order[0]]
        mean, std = elite.mean(axis=0), elite.std(axis=0) + 0.02
        history.append(best_score)
        line.update(it + 1)
    trained = {
        "rates_per_s": [float(r) for r in rates],
        "iterations": iterations,
        "population": population,
        "episodes": episodes,
        "seed": seed,
        "stream_params": {k: v for k, v in params.items() if k != "rate_per_s"},
        "score": best_score,
        "seconds": round(time.perf_counter() - begin, 1),
    }
    return OnlineDispatch(tuple(float(w) for w in best_w), trained), history


def solve_online_learned(
    stream: Any, objective: Any, *, time_limit=None, seed=None, policy: str | os.PathLike | None = None
) -> SolverOutput:
    """The stream simulated under the learned online dispatch (``policy``: a saved JSON file;
    default the shipped weights)."""
    dispatch = load_online_dispatch(policy)
    report = simulate(stream, dispatch)
    return SolverOutput(placement=report.placement, start_s=report.start_s, info={"decision_s": report.decision_s})
