"""Distributed DQN: several actor processes feed one replay buffer; one learner.

Q-network: :class:`~partopt.learned.nets.MultiHeadNet` without critic, one Q-head per
block over its N+1 locations (action branching, Tavakoli et al. 2018): the joint
value is the mean of the heads, Q(X, A) = (1/M) sum_m Q_m(X, a_m). The target of
every head is y = r + gamma (1 - terminal) (1/M) sum_m Q'_m(X', argmax_a Q_m(X', a))
(double DQN: the online network picks, the target network ``Q'`` prices), and the
loss is the mean over heads of the Huber loss between Q_m(X, a_m) and y.

Actors step a :class:`~partopt.learned.env.BlockPlacementVectorEnv` each (``envs``
copies on a pool of training tasks) epsilon-greedily per block (epsilon from
``eps_start`` to ``eps_end`` over the first ``eps_decay`` of the run) with a copy of
the online network refreshed every ``sync_every`` steps, and send each step's
``envs`` transitions to the learner through a queue; the learner keeps a replay
buffer of ``buffer`` transitions and, per batch received, samples one minibatch of
``batch`` (256: the paper's 32 with single transitions left the learner far behind
the actors), updates with Adam and copies the online network into the target every
``target_every`` updates. Rewards are scaled as in :mod:`partopt.learned.a3c`.
``deterministic=True`` runs the actors in a fixed order in one process, reproducibly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from partopt.learned.env import BlockPlacementVectorEnv
from partopt.learned.nets import build_net, count_parameters, net_spec
from partopt.learned.policy import save_checkpoint
from partopt.learned.runtime import (
    EpisodeTracker,
    ReplayMemory,
    TrainingConfig,
    TrainingLog,
    epsilon_at,
    number_episodes,
    resume_from,
    run_fraction,
    run_workers,
    worker_count,
    write_curve,
)

__all__ = ["DQNConfig", "train_dqn"]


@dataclass
class DQNConfig(TrainingConfig):
    """Training settings of the distributed DQN (see :class:`TrainingConfig` for the shared ones)."""

    agent: str = "dqn"
    batch: int = 256  # transitions per update; one update per actor step of ``envs`` transitions
    buffer: int = 200_000
    warmup: int = 2_000
    target_every: int = 200  # updates between target-network copies
    sync_every: int = 10  # actor steps between copies of the online network


class _Actor:
    """Steps a vector environment epsilon-greedily with a copy of the online network."""

    def __init__(self, cfg: DQNConfig, index: int, spec: dict):
        self.cfg, self.index = cfg, index
        self.net = build_net(spec)
        self.env = cfg.make_vector_env(index)
        self.rng = np.random.default_rng([cfg.seed, 7, index])
        self.obs, _ = self.env.reset(seed=cfg.seed * 1000 + 500 + index)
        self.tracker = EpisodeTracker(self.env.num_envs, index)

    def act(self, fraction: float) -> tuple[dict, list[dict]]:
        """One step of every copy: (transitions {obs, action, scaled reward, following obs,
        done} as arrays, finished-episode records)."""
        cfg = self.cfg
        eps = epsilon_at(cfg, fraction)
        with torch.no_grad():
            q, _ = self.net(torch.from_numpy(self.obs))
        action = q.argmax(dim=-1).numpy()
        explore = self.rng.random(action.shape) < eps
        action = np.where(explore, self.rng.integers(0, q.shape[-1], size=action.shape), action)
        nxt, reward, terminated, truncated, info = self.env.step(action)
        ended = terminated | truncated
        transitions = {
            "obs": self.obs,
            "action": action,
            "reward": (reward * cfg.reward_scale).astype(np.float32),
            "following": BlockPlacementVectorEnv.following(nxt, info, ended),
            "done": terminated.astype(np.float32),
        }
        self.obs = nxt
        return transitions, self.tracker.add(reward, info, ended, eps)


class _Learner:
    def __init__(self, cfg: DQNConfig, spec: dict, online: torch.nn.Module):
        self.cfg = cfg
        self.online = online
        self.target = build_net(spec)
        self.target.load_state_dict(online.state_dict())
        self.opt = torch.optim.Adam(online.parameters(), lr=cfg.lr)
        self.memory = ReplayMemory(cfg.buffer, np.random.default_rng([cfg.seed, 11]))
        self.updates = 0

    def update(self) -> None:
        if self.memory.size < max(self.cfg.warmup, self.cfg.batch):
            return
        batch = {k: torch.from_numpy(v) for k, v in self.memory.sample(self.cfg.batch).items()}
        obs, act, rew, nxt, done = (batch[k] for k in ("obs", "action", "reward", "following", "done"))
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


def _actor_main(cfg, index, shared, spec, started, counter, queue, stop):
    torch.set_num_threads(1)
    actor = _Actor(cfg, index, spec)
    steps = 0
    while not stop.is_set() and counter.value < cfg.episode_limit:
        if steps % cfg.sync_every == 0:
            actor.net.load_state_dict(shared.state_dict())
        transitions, records = actor.act(run_fraction(cfg, counter.value, started))
        steps += 1
        number_episodes(records, counter)
        queue.put((transitions, records))
    queue.put(None)


def _train_in_turn(
    cfg: DQNConfig, spec, online, learner: _Learner, workers: int, log: TrainingLog, episode: int
) -> int:
    """The deterministic run: the actors take turns in one process, each followed by a learner
    update; the episode count reached."""
    torch.set_num_threads(1)
    actors = [_Actor(cfg, i, spec) for i in range(workers)]
    step = 0
    while episode < cfg.episode_limit and not log.out_of_time():
        for actor in actors:
            if step % cfg.sync_every == 0:
                actor.net.load_state_dict(online.state_dict())
            transitions, records = actor.act(run_fraction(cfg, episode, log.started))
            learner.memory.add(**transitions)
            learner.update()
            for record in records:
                episode += 1
                record["episode"] = episode
                log.record(record)
        step += 1
    return episode


def train_dqn(
    cfg: DQNConfig, out: str | Path, *, resume: bool = False, curve_csv: str | Path | None = None, progress: bool = True
) -> dict:
    """Train the distributed DQN; checkpoints to ``out`` periodically and at the end.

    ``resume=True`` continues from the checkpoint at ``out`` (network, episode count
    and curve; the replay buffer starts empty again).
    """
    out = Path(out)
    shape = cfg.prepare()
    spec = net_spec("multi-head", shape, cfg.hidden, critic=False)
    torch.manual_seed(cfg.seed)
    online = build_net(spec)
    curve: list[dict] = []
    start_episode, wall_before = 0, 0.0
    if resume:
        _, curve, start_episode, wall_before = resume_from(out, online)
    online.share_memory()
    learner = _Learner(cfg, spec, online)
    workers = worker_count(cfg.workers)

    def save(episode):
        record = {
            "config": asdict(cfg),
            "episodes": episode,
            "parameters": count_parameters(online),
            "wall_seconds": log.wall(),
            "curve": curve,
        }
        save_checkpoint(out, cfg.agent, online, spec, shape, record)

    log = TrainingLog(cfg, save, curve, wall_before, progress)
    note, out_of_time = log.record, log.out_of_time

    episode = start_episode
    if cfg.deterministic:
        episode = _train_in_turn(cfg, spec, online, learner, workers, log, episode)
    else:

        def handle(item):
            nonlocal episode
            transitions, records = item
            learner.memory.add(**transitions)
            learner.update()
            for record in records:
                note(record)
                episode = max(episode, record["episode"])

        run_workers(
            _actor_main,
            lambda i, counter, queue, stop: (cfg, i, online, spec, log.started, counter, queue, stop),
            workers,
            start_episode,
            handle,
            out_of_time,
            queue_size=4 * workers,
        )
    save(episode)
    if curve_csv:
        write_curve(curve_csv, curve)
    return {"episodes": episode, "wall_seconds": log.wall(), "curve": curve}
