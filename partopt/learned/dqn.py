"""Distributed DQN: several actor processes feed one replay buffer; one learner.

Q-network: :class:`~partopt.learned.nets.MultiHeadNet` without critic, one Q-head per
block over its N+1 locations (action branching, Tavakoli et al. 2018): the joint
value is the mean of the heads, Q(X, A) = (1/M) sum_m Q_m(X, a_m). The target of
every head is y = r + gamma (1 - terminal) (1/M) sum_m Q'_m(X', argmax_a Q_m(X', a))
(double DQN: the online network picks, the target network ``Q'`` prices), and the
loss is the mean over heads of the Huber loss between Q_m(X, a_m) and y.

Actors act epsilon-greedily per block (epsilon from ``eps_start`` to ``eps_end``
over the first ``eps_decay`` fraction of the episodes) with a copy of the online
network refreshed every ``sync_every`` slots, and send their transitions to the
learner through a queue; the learner keeps a replay buffer of ``buffer`` transitions,
samples minibatches of ``batch`` (32, the paper's batch), updates with Adam and
copies the online network into the target every ``target_every`` updates.
Rewards are scaled as in :mod:`partopt.learned.a3c`. ``deterministic=True`` runs the
actors in a fixed order in one process, reproducibly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from partopt.learned.runtime import (
    TrainingConfig,
    TrainingLog,
    resume_from,
    run_workers,
    worker_count,
    write_curve,
)
from partopt.learned.features import feature_size
from partopt.learned.nets import build_net, count_parameters
from partopt.learned.policy import save_checkpoint

__all__ = ["DQNConfig", "train_dqn"]


@dataclass
class DQNConfig(TrainingConfig):
    """Training settings of the distributed DQN (see :class:`TrainingConfig` for the shared ones)."""

    agent: str = "dqn"
    batch: int = 32  # the paper's batch
    buffer: int = 100_000
    warmup: int = 1_000
    target_every: int = 500
    sync_every: int = 50


def _spec(shape, hidden) -> dict:
    m, n = shape
    return {"kind": "multi-head", "inputs": feature_size(m, n), "blocks": m, "locations": n + 1,
            "hidden": list(hidden), "critic": False}


class _Actor:
    def __init__(self, cfg: DQNConfig, index: int, spec: dict):
        self.cfg, self.index = cfg, index
        self.net = build_net(spec)
        self.env = cfg.make_env()
        self.rng = np.random.default_rng([cfg.seed, 7, index])
        self.obs, _ = self.env.reset(seed=cfg.seed * 1000 + 500 + index)
        self.reward, self.delay, self.ok, self.steps = 0.0, 0.0, 0, 0

    def act(self, episode: int) -> tuple[tuple, dict | None]:
        cfg = self.cfg
        frac = min(1.0, episode / max(1.0, cfg.eps_decay * cfg.episodes))
        eps = cfg.eps_start + frac * (cfg.eps_end - cfg.eps_start)
        with torch.no_grad():
            q, _ = self.net(torch.from_numpy(self.obs)[None])
        action = q[0].argmax(dim=-1).numpy()
        explore = self.rng.random(len(action)) < eps
        action = np.where(explore, self.rng.integers(0, q.shape[-1], size=len(action)), action)
        nxt, reward, terminated, truncated, info = self.env.step(action)
        transition = (self.obs, action, reward * cfg.reward_scale, nxt, float(terminated))
        self.obs = nxt
        self.reward += reward
        self.delay += info["total_delay"]
        self.ok += info["deadlines_met"]
        self.steps += 1
        record = None
        if terminated or truncated:
            record = {"worker": self.index, "reward": self.reward, "slots": self.steps,
                      "mean_reward": self.reward / self.steps, "mean_delay": self.delay / self.steps,
                      "deadlines_met": self.ok / self.steps, "epsilon": eps}
            self.obs, _ = self.env.reset()
            self.reward, self.delay, self.ok, self.steps = 0.0, 0.0, 0, 0
        return transition, record


class _Learner:
    def __init__(self, cfg: DQNConfig, spec: dict, online: torch.nn.Module):
        self.cfg = cfg
        self.online = online
        self.target = build_net(spec)
        self.target.load_state_dict(online.state_dict())
        self.opt = torch.optim.Adam(online.parameters(), lr=cfg.lr)
        f, m = spec["inputs"], spec["blocks"]
        self.obs = np.zeros((cfg.buffer, f), np.float32)
        self.nxt = np.zeros((cfg.buffer, f), np.float32)
        self.act = np.zeros((cfg.buffer, m), np.int64)
        self.rew = np.zeros(cfg.buffer, np.float32)
        self.done = np.zeros(cfg.buffer, np.float32)
        self.size, self.pos, self.updates = 0, 0, 0
        self.rng = np.random.default_rng([cfg.seed, 11])

    def add(self, t) -> None:
        obs, act, rew, nxt, done = t
        i = self.pos
        self.obs[i], self.act[i], self.rew[i], self.nxt[i], self.done[i] = obs, act, rew, nxt, done
        self.pos = (self.pos + 1) % self.cfg.buffer
        self.size = min(self.size + 1, self.cfg.buffer)

    def update(self) -> None:
        if self.size < max(self.cfg.warmup, self.cfg.batch):
            return
        idx = self.rng.integers(0, self.size, size=self.cfg.batch)
        obs, nxt = torch.from_numpy(self.obs[idx]), torch.from_numpy(self.nxt[idx])
        act, rew, done = torch.from_numpy(self.act[idx]), torch.from_numpy(self.rew[idx]), torch.from_numpy(self.done[idx])
        with torch.no_grad():
            pick = self.online(nxt)[0].argmax(dim=-1, keepdim=True)
            future = self.target(nxt)[0].gather(-1, pick).squeeze(-1).mean(dim=1)
            y = rew + self.cfg.gamma * (1 - done) * future
        q = self.online(obs)[0].gather(-1, act[..., None]).squeeze(-1)  # (B, M)
        loss = torch.nn.functional.smooth_l1_loss(q, y[:, None].expand_as(q))
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.online.parameters(), 10.0)
        self.opt.step()
        self.updates += 1
        if self.updates % self.cfg.target_every == 0:
            self.target.load_state_dict(self.online.state_dict())


def _actor_main(cfg, index, shared, spec, counter, queue, stop):
    torch.set_num_threads(1)
    actor = _Actor(cfg, index, spec)
    steps = 0
    while not stop.is_set() and counter.value < cfg.episodes:
        if steps % cfg.sync_every == 0:
            actor.net.load_state_dict(shared.state_dict())
        transition, record = actor.act(counter.value)
        steps += 1
        if record is not None:
            with counter.get_lock():
                counter.value += 1
                record["episode"] = counter.value
        queue.put((transition, record))
    queue.put(None)


def train_dqn(cfg: DQNConfig, out: str | Path, *, resume: bool = False, curve_csv: str | Path | None = None,
              progress: bool = True) -> dict:
    """Train the distributed DQN; checkpoints to ``out`` periodically and at the end.

    ``resume=True`` continues from the checkpoint at ``out`` (network, episode count
    and curve; the replay buffer starts empty again).
    """
    out = Path(out)
    shape = cfg.prepare()
    spec = _spec(shape, cfg.hidden)
    torch.manual_seed(cfg.seed)
    online = build_net(spec)
    curve, start_episode, wall_before = [], 0, 0.0
    if resume:
        _, curve, start_episode, wall_before = resume_from(out, online)
    online.share_memory()
    learner = _Learner(cfg, spec, online)
    workers = worker_count(cfg.workers)

    def save(episode):
        record = {"config": asdict(cfg), "episodes": episode, "parameters": count_parameters(online),
                  "wall_seconds": log.wall(), "curve": curve}
        save_checkpoint(out, cfg.agent, online, spec, shape, record)

    log = TrainingLog(cfg, save, curve, wall_before, progress)
    note, out_of_time = log.record, log.out_of_time

    episode = start_episode
    if cfg.deterministic:
        torch.set_num_threads(1)
        actors = [_Actor(cfg, i, spec) for i in range(workers)]
        step = 0
        while episode < cfg.episodes and not out_of_time():
            for actor in actors:
                if step % cfg.sync_every == 0:
                    actor.net.load_state_dict(online.state_dict())
                transition, record = actor.act(episode)
                learner.add(transition)
                learner.update()
                if record is not None:
                    episode += 1
                    record["episode"] = episode
                    note(record)
            step += 1
    else:
        def handle(item):
            nonlocal episode
            transition, record = item
            learner.add(transition)
            learner.update()
            if record is not None:
                note(record)
                episode = max(episode, record["episode"])

        run_workers(_actor_main, lambda i, counter, queue, stop: (cfg, i, online, spec, counter, queue, stop),
                    workers, start_episode, handle, out_of_time)
    save(episode)
    if curve_csv:
        write_curve(curve_csv, curve)
    return {"episodes": episode, "wall_seconds": log.wall(), "curve": curve}
