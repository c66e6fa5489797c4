"""What the trainers share: settings, the worker pool, episode records, the replay memory, curves."""

from __future__ import annotations

import csv
import math
import multiprocessing as mp
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np

from partopt.execution import usable_cores
from partopt.fields import number_field

__all__ = [
    "DEFAULT_EPISODES",
    "EpisodeTracker",
    "ReplayMemory",
    "TrainingConfig",
    "TrainingLog",
    "WorkerError",
    "check_setting",
    "default_reward_scale",
    "epsilon_at",
    "number_episodes",
    "resume_from",
    "run_fraction",
    "run_workers",
    "worker_count",
    "write_curve",
]


#: Episodes a run takes when neither ``episodes`` nor ``max_seconds`` is given.
DEFAULT_EPISODES = 200

#: Settings that may be 0 (the others counted in ints are >= 1).
_ZERO_OK = {"workers", "seed", "replay", "warmup"}
#: Settings that must be > 0 (the other numbers are >= 0), and those at most 1.
_POSITIVE = {
    "lr",
    "checkpoint_every",
    "max_seconds",
    "gamma",
    "eps_decay",
    "rms_eps",
    "rms_alpha",
    "max_energy_j",
    "reward_scale",
}
_AT_MOST_ONE = {"gamma", "eps_start", "eps_end", "eps_decay", "rms_alpha"}


def check_setting(name: str, value: Any, kind: str) -> None:
    """Refuse a training setting whose value does not fit its declared type ``kind`` (the
    dataclass annotation) and range, naming it."""
    if value is None and "None" in kind:
        return
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name}: must be True or False, got {value!r}")
    elif kind.startswith("int"):
        low = 0 if name in _ZERO_OK else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: must be an int >= {low}, got {value!r}")
    elif kind.startswith("float"):  # the readers' number checker: finite, in range, named
        lower = "positive" if name in _POSITIVE else "nonneg"
        number_field(value, name, lower=lower, upper=1.0 if name in _AT_MOST_ONE else math.inf)
    elif kind == "tuple" and not (
        isinstance(value, (tuple, list))
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
    ):
        raise ValueError(f"{name}: must be a non-empty list of layer widths (ints >= 1), got {value!r}")


@dataclass
class TrainingConfig:
    """Settings every reinforcement-learning trainer shares.

    The environment (generator, generator_params, beta, horizon T, max_energy_j E^max;
    each worker steps ``envs`` copies at once on a pool of ``pool`` tasks of its own),
    the network (hidden sizes, learning rate, discount), exploration (epsilon from
    eps_start to eps_end over the first eps_decay fraction of the episodes), the reward
    scale (None: automatic), the run (episodes, workers: 0 = all cores, seed,
    deterministic, max_seconds, checkpoint_every seconds).

    ``max_seconds`` is a time budget: with it alone the run trains until the budget is spent;
    with ``episodes`` too it stops at whichever comes first; with neither it runs
    :data:`DEFAULT_EPISODES` episodes. Every setting is checked on construction (a count is an
    int >= 1, a rate a finite number in its range, a flag a bool), the error naming it.
    """

    agent: str = ""
    generator: str = "paper"
    generator_params: dict = field(default_factory=dict)
    beta: float = 1.0
    horizon: int = 600  # T, slots per episode (paper)
    max_energy_j: float | None = None
    envs: int = 64  # environment copies per worker, stepped together
    pool: int = 20_000  # tasks per worker's pool (training seeds: seed * 1000 + worker)
    hidden: tuple = (256, 256)
    lr: float = 1e-3
    gamma: float = 0.95  # paper
    eps_start: float = 1.0  # paper: exploration from 1 ...
    eps_end: float = 0.01  # ... to 0.01
    eps_decay: float = 0.3
    reward_scale: float | None = None  # None: 1 / |mean reward of random placements|
    episodes: int | None = None
    workers: int = 0
    seed: int = 0
    deterministic: bool = False
    max_seconds: float | None = None
    checkpoint_every: float = 30.0

    def __post_init__(self):
        for f in fields(self):
            check_setting(f.name, getattr(self, f.name), str(f.type))

    @property
    def episode_limit(self) -> int:
        """The most episodes the run takes: ``episodes``, else none under a time budget, else
        :data:`DEFAULT_EPISODES`."""
        if self.episodes is not None:
            return self.episodes
        return sys.maxsize if self.max_seconds is not None else DEFAULT_EPISODES

    def make_env(self):
        """A fresh environment with these settings."""
        from partopt.learned.env import BlockPlacementEnv

        return BlockPlacementEnv(
            self.generator, self.generator_params, beta=self.beta, horizon=self.horizon, max_energy_j=self.max_energy_j
        )

    def make_vector_env(self, worker: int):
        """Worker ``worker``'s :class:`~partopt.learned.env.BlockPlacementVectorEnv`: ``envs`` copies
        (staggered) on a pool of ``pool`` tasks drawn with training seed ``seed * 1000 + worker``."""
        from partopt.learned.env import BlockPlacementVectorEnv, TaskPool

        pool = TaskPool.draw(self.generator, self.generator_params, self.pool, self.seed * 1000 + worker, self.beta)
        return BlockPlacementVectorEnv(pool, self.envs, self.horizon, self.max_energy_j, stagger=True)

    def prepare(self) -> tuple[int, int]:
        """Fill in the automatic reward scale; returns the environment's shape (M, N)."""
        if self.reward_scale is None:
            self.reward_scale = default_reward_scale(self)
        return self.make_env().shape


def default_reward_scale(cfg: TrainingConfig, tasks: int = 256) -> float:
    """1 / |mean reward| of uniformly random placements on ``tasks`` tasks of the environment,
    so that scaled rewards are O(1) whatever the generator's delay scale."""
    env = cfg.make_env()
    env.reset(seed=cfg.seed + 999_983)
    env.action_space.seed(cfg.seed)
    rewards = []
    for _ in range(tasks):
        _, r, terminated, truncated, _ = env.step(env.action_space.sample())
        rewards.append(r)
        if terminated or truncated:
            env.reset()
    return 1.0 / max(abs(float(np.mean(rewards))), 1e-12)


class EpisodeTracker:
    """Per-copy sums of a vector environment's slots; a record per finished episode."""

    def __init__(self, num_envs: int, worker: int):
        self.worker = worker
        self.reward, self.delay, self.met, self.slots = (np.zeros(num_envs) for _ in range(4))

    def add(self, reward, info: dict, ended, epsilon: float) -> list[dict]:
        """Add one step of every copy; records (reward, slots, mean_reward, mean_delay,
        deadlines_met, epsilon) of the copies whose episode ``ended``."""
        self.reward += reward
        self.delay += info["total_delay"]
        self.met += info["deadlines_met"]
        self.slots += 1
        out = []
        for i in np.flatnonzero(ended):
            n = self.slots[i]
            out.append(
                {
                    "worker": self.worker,
                    "reward": float(self.reward[i]),
                    "slots": int(n),
                    "mean_reward": float(self.reward[i] / n),
                    "mean_delay": float(self.delay[i] / n),
                    "deadlines_met": float(self.met[i] / n),
                    "epsilon": epsilon,
                }
            )
            self.reward[i] = self.delay[i] = self.met[i] = self.slots[i] = 0.0
        return out


class ReplayMemory:
    """The most recent ``capacity`` items, a ring buffer of named arrays (leading item axis,
    allocated at the first batch), sampled uniformly with replacement with ``rng``."""

    def __init__(self, capacity: int, rng: np.random.Generator):
        self.capacity, self.rng = capacity, rng
        self.items: dict[str, np.ndarray] = {}
        self.size = self.next = 0

    def add(self, **batch: np.ndarray) -> None:
        """Store a batch (arrays of equal length), overwriting the oldest items."""
        n = len(next(iter(batch.values())))
        if not self.items:
            self.items = {k: np.zeros((self.capacity, *v.shape[1:]), dtype=v.dtype) for k, v in batch.items()}
        index = (self.next + np.arange(n)) % self.capacity
        for k, v in batch.items():
            self.items[k][index] = v
        self.next = int((self.next + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, n: int) -> dict[str, np.ndarray]:
        """``n`` stored items drawn uniformly (with replacement)."""
        index = self.rng.integers(0, self.size, size=n)
        return {k: v[index] for k, v in self.items.items()}


def number_episodes(records: list[dict], counter) -> None:
    """Give each finished-episode record the next number of the shared ``counter``."""
    for rec in records:
        with counter.get_lock():
            counter.value += 1
            rec["episode"] = counter.value


def run_fraction(cfg: "TrainingConfig", episode: int, started: float) -> float:
    """How far a run is, in [0, 1]: episodes over cfg.episodes or, with max_seconds, the
    seconds since ``started`` (a ``time.time()``) over max_seconds, whichever is further."""
    done = episode / cfg.episode_limit
    if cfg.max_seconds:
        done = max(done, (time.time() - started) / cfg.max_seconds)
    return min(1.0, done)


def epsilon_at(cfg: "TrainingConfig", fraction: float) -> float:
    """Exploration rate at run fraction ``fraction``: linear from eps_start to eps_end over
    the first eps_decay of the run, then eps_end."""
    frac = min(1.0, fraction / max(1e-9, cfg.eps_decay))
    return cfg.eps_start + frac * (cfg.eps_end - cfg.eps_start)


class TrainingLog:
    """The bookkeeping of a training run: its curve, progress line, periodic checkpoints
    (``save(episode)`` every ``cfg.checkpoint_every`` seconds) and time limit."""

    def __init__(
        self,
        cfg: "TrainingConfig",
        save: Callable[[int], None],
        curve: list[dict],
        wall_before: float = 0.0,
        progress: bool = True,
    ):
        from partopt.progress import Progress

        self.cfg, self.save, self.curve, self.wall_before = cfg, save, curve, wall_before
        self.timed = cfg.episodes is None and cfg.max_seconds is not None  # a time budget: progress in seconds
        total = int(math.ceil(cfg.max_seconds)) if self.timed and cfg.max_seconds else cfg.episode_limit
        self.bar = Progress(f"train {cfg.agent}" + (" (seconds)" if self.timed else ""), total, enabled=progress)
        self.start = self.last_save = time.perf_counter()
        self.started = time.time()  # for run_fraction, also in worker processes

    def wall(self) -> float:
        """Training seconds so far, earlier sessions of a resumed run included."""
        return self.wall_before + time.perf_counter() - self.start

    def record(self, rec: dict) -> None:
        """Add a finished episode to the curve; checkpoint when it is time."""
        rec["wall_seconds"] = self.wall()
        self.curve.append(rec)
        if self.timed:
            seconds = min(int(time.perf_counter() - self.start), self.bar.total - 1)
            self.bar.update(seconds, f"s, {rec['episode']} episodes, mean reward {rec['mean_reward']:.4f}")
        else:
            self.bar.update(rec["episode"], f"episodes, mean reward {rec['mean_reward']:.4f}")
        if time.perf_counter() - self.last_save > self.cfg.checkpoint_every:
            self.save(rec["episode"])
            self.last_save = time.perf_counter()

    def out_of_time(self) -> bool:
        """True once ``cfg.max_seconds`` have passed in this session."""
        return self.cfg.max_seconds is not None and time.perf_counter() - self.start > self.cfg.max_seconds


def resume_from(path: Path, net) -> tuple[dict, list[dict], int, float]:
    """Load the weights of the checkpoint at ``path`` into ``net``; returns (record, curve,
    episodes done, training seconds so far)."""
    from partopt.learned.policy import read_checkpoint

    if not path.exists():
        raise FileNotFoundError(f"out: nothing to resume at {path}")
    record = read_checkpoint(path)
    rec = record["record"]
    if rec.get("slim"):
        raise ValueError(
            f"out: {path} was slimmed for shipping (no optimizer state or curve); "
            "resume from the training run's own checkpoint"
        )
    net.load_state_dict(record["state_dict"])
    return rec, rec["curve"], rec["episodes"], rec["wall_seconds"]


def worker_count(requested: int) -> int:
    """``requested`` workers, or the cores this process may use when it is 0."""
    return requested or usable_cores()


class WorkerError(RuntimeError):
    """A training worker process failed: raised in the parent, which stops the run."""


def _guarded(target: Callable, index: int, queue, *args) -> None:
    """Run a worker; an exception is sent to the parent (as text) before the process ends."""
    try:
        target(*args)
    except BaseException as error:
        queue.put(("__worker_error__", index, f"{type(error).__name__}: {error}"))
        raise


def run_workers(
    target: Callable,
    args: Callable[[int, object, object, object], tuple],
    count: int,
    start_value: int,
    handle: Callable[[object], None],
    should_stop: Callable[[], bool],
    queue_size: int = 10_000,
) -> None:
    """Start ``count`` processes ``target(*args(i, counter, queue, stop))``; pass every queued
    item to ``handle`` until ``should_stop()`` turns true (then ``stop`` is set and later items
    are dropped) or each worker has sent None. ``counter`` is a shared int starting at
    ``start_value``; a queue of ``queue_size`` items makes fast workers wait for ``handle``.
    A worker that raises, or dies (killed, out of memory), stops the run with a
    :class:`WorkerError` naming it. Uses fork where the platform has it (spawn costs seconds of
    start-up), spawn elsewhere."""
    import queue as queues

    ctx: Any = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    counter, queue, stop = ctx.Value("i", start_value), ctx.Queue(maxsize=queue_size), ctx.Event()
    procs = [
        ctx.Process(target=_guarded, args=(target, i, queue, *args(i, counter, queue, stop)), daemon=True)
        for i in range(count)
    ]
    for p in procs:
        p.start()
    alive = len(procs)
    try:
        while alive:
            try:
                item = queue.get(timeout=1.0)
            except queues.Empty:
                dead = [i for i, p in enumerate(procs) if p.exitcode not in (None, 0)]
                if dead:
                    raise WorkerError(
                        f"training worker {dead[0]} died (exit code {procs[dead[0]].exitcode}); "
                        "the run is stopped, its last checkpoint kept"
                    ) from None
                continue
            if item is None:
                alive -= 1
                continue
            if isinstance(item, tuple) and len(item) == 3 and item[0] == "__worker_error__":
                raise WorkerError(
                    f"training worker {item[1]} failed: {item[2]}; the run is stopped, its last checkpoint kept"
                )
            if stop.is_set():
                continue
            handle(item)
            if should_stop():
                stop.set()
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()


def write_curve(path: str | Path, rows: list[dict]) -> None:
    """A training curve as CSV, one row per record (its folder made if missing)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
