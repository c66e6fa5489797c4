"""Process plumbing shared by the trainers: worker counts, the worker pool, curves."""

from __future__ import annotations

import csv
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

__all__ = ["TrainingConfig", "TrainingLog", "default_reward_scale", "resume_from", "worker_count", "run_workers", "write_curve"]


@dataclass
class TrainingConfig:
    """Settings every reinforcement-learning trainer shares.

    The environment (generator, generator_params, beta, horizon T, max_energy_j E^max),
    the network (hidden sizes, learning rate, discount), exploration (epsilon from
    eps_start to eps_end over the first eps_decay fraction of the episodes), the reward
    scale (None: automatic), the run (episodes, workers: 0 = all cores, seed,
    deterministic, max_seconds, checkpoint_every seconds).
    """

    agent: str = ""
    generator: str = "paper"
    generator_params: dict = field(default_factory=dict)
    beta: float = 1.0
    horizon: int = 600  # T, slots per episode (paper)
    max_energy_j: float | None = None
    hidden: tuple = (256, 256)
    lr: float = 1e-3
    gamma: float = 0.95  # paper
    eps_start: float = 1.0  # paper: exploration from 1 ...
    eps_end: float = 0.01  # ... to 0.01
    eps_decay: float = 0.3
    reward_scale: float | None = None  # None: 1 / |mean reward of random placements|
    episodes: int = 200
    workers: int = 0
    seed: int = 0
    deterministic: bool = False
    max_seconds: float | None = None
    checkpoint_every: float = 30.0

    def make_env(self):
        """A fresh environment with these settings."""
        from partopt.learned.env import BlockPlacementEnv

        return BlockPlacementEnv(self.generator, self.generator_params, beta=self.beta, horizon=self.horizon,
                                 max_energy_j=self.max_energy_j)

    def prepare(self) -> tuple[int, int]:
        """Fill in the automatic reward scale; returns the environment's shape (M, N)."""
        if self.reward_scale is None:
            self.reward_scale = default_reward_scale(self)
        return self.make_env().shape


def default_reward_scale(cfg: TrainingConfig, tasks: int = 256) -> float:
    """1 / |mean reward| of uniformly random placements on ``tasks`` tasks of the environment,
    so that scaled rewards are O(1) whatever the generator's delay scale."""
    import numpy as np

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


class TrainingLog:
    """The bookkeeping of a training run: its curve, progress line, periodic checkpoints
    (``save(episode)`` every ``cfg.checkpoint_every`` seconds) and time limit."""

    def __init__(self, cfg: "TrainingConfig", save: Callable[[int], None], curve: list[dict],
                 wall_before: float = 0.0, progress: bool = True):
        from partopt.progress import Progress

        self.cfg, self.save, self.curve, self.wall_before = cfg, save, curve, wall_before
        self.bar = Progress(f"train {cfg.agent}", cfg.episodes, enabled=progress)
        self.start = self.last_save = time.perf_counter()

    def wall(self) -> float:
        """Training seconds so far, earlier sessions of a resumed run included."""
        return self.wall_before + time.perf_counter() - self.start

    def record(self, rec: dict) -> None:
        """Add a finished episode to the curve; checkpoint when it is time."""
        rec["wall_seconds"] = self.wall()
        self.curve.append(rec)
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
    import torch

    if not path.exists():
        raise FileNotFoundError(f"out: nothing to resume at {path}")
    record = torch.load(path, map_location="cpu", weights_only=False)
    net.load_state_dict(record["state_dict"])
    rec = record["record"]
    return rec, rec["curve"], rec["episodes"], rec["wall_seconds"]


def worker_count(requested: int) -> int:
    """``requested`` workers, or the cores this process may use when it is 0."""
    if requested:
        return requested
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_workers(target: Callable, args: Callable[[int, object, object, object], tuple], count: int,
                start_value: int, handle: Callable[[object], None], should_stop: Callable[[], bool]) -> None:
    """Start ``count`` processes ``target(*args(i, counter, queue, stop))``; pass every queued
    item to ``handle`` until each worker has sent None. ``counter`` is a shared int starting at
    ``start_value``; ``stop`` is set when ``should_stop()`` turns true. Uses fork where the
    platform has it (spawn costs seconds of start-up), spawn elsewhere."""
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    counter, queue, stop = ctx.Value("i", start_value), ctx.Queue(maxsize=10_000), ctx.Event()
    procs = [ctx.Process(target=target, args=args(i, counter, queue, stop), daemon=True) for i in range(count)]
    for p in procs:
        p.start()
    alive = len(procs)
    try:
        while alive:
            item = queue.get()
            if item is None:
                alive -= 1
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
    """A training curve as CSV, one row per record."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
