"""Multi-task A3C (the source paper's Algorithm 1) and plain A3C, trained Hogwild on CPU.

Network: :class:`~partopt.learned.nets.MultiHeadNet` (mt-a3c: shared hidden layers,
one softmax head per block, one critic) or :class:`~partopt.learned.nets.JointNet`
(a3c: one softmax over the (N+1)^M joint placements, and a critic).

Each worker runs its own environment and a local copy of the network. Per update it
plays k = ``t_max`` slots (the paper's batch of 32), then computes

- k-step returns R^t = sum_{i<k} gamma^i r^{t+i} + gamma^k V(X^{t+k}) (eq. 16), with
  k = ``n_step`` (cut at the rollout's end, V = 0 after a terminal slot), and
  advantages A = R^t - V(X^t) (eq. 17);
- actor loss per head m: -log pi_m(a_m | X) A - c_H H(pi_m) (eq. 18, the entropy
  bonus with weight ``entropy``), averaged over the M heads as in eq. (20) (mt-a3c;
  plain a3c has one head over the joint action);
- critic loss (R^t - V(X^t))^2 (eq. 19), weighted by ``value_weight``;

and applies the gradients to the shared parameters with RMSProp (eqs. 23-24,
g <- alpha g + (1 - alpha) grad^2, theta <- theta - lr grad / sqrt(g + eps)) whose
state lives in shared memory; g starts at the first squared gradient rather than 0,
which would make the first steps ten times too large. With ``normalize_advantage``
the actor's advantages are standardized within each rollout (mean 0, std 1), which
makes the actor's step independent of the delay scale. Gradients are copied explicitly from the local network
to the shared one (torch >= 2 sets gradients to None on zero_grad).

Where Algorithm 1 is unclear: its "replay memory D" and "minibatch" are read as the
worker's rollout of ``t_max`` slots, used once (A3C is on-policy). Eq. (16) bounds k by
t_max; we take k = 1 by default. Tasks arrive independently of the actions (only the
energy links slots), so a long k adds the rewards of future, unrelated tasks to every
return: with gamma = 0.95 and k = 32 that noise swamped the effect of the action and
the policy did not learn which server to use (66% gap after 300,000 slots); k = 1
replaces it with the critic's estimate and learns. the paper's "probability of
random exploration decreasing from 1 to 0.01" is an epsilon per block: with that
probability a block's location is drawn uniformly instead of from its head, epsilon
falling linearly from ``eps_start`` to ``eps_end`` over the first ``eps_decay`` fraction
of the episodes. Rewards are multiplied by ``reward_scale`` inside the learner only
(the environment's reward stays eq. 14); by default it is 1 / |mean reward| of
random placements on 256 tasks, so that advantages are O(1) next to the entropy
bonus whatever the delay scale of the generator.

The paper's learning rate of 0.01 made the policy collapse, within a few hundred
updates, to one placement for every task (a 55-70% gap on ``paper-default-v1``);
the default here is 1e-4, which learned on a one-block check where 1e-3 and 1e-2 did not.

``deterministic=True`` steps the workers in a fixed order in one process, so a run
is reproducible (for tests); the asynchronous run is not (Hogwild).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from partopt.learned.features import feature_size
from partopt.learned.nets import JointNet, build_net, count_parameters
from partopt.learned.policy import save_checkpoint
from partopt.learned.runtime import (
    TrainingConfig,
    TrainingLog,
    resume_from,
    run_workers,
    worker_count,
    write_curve,
)

__all__ = ["A3CConfig", "train_a3c", "SharedRMSprop"]


@dataclass
class A3CConfig(TrainingConfig):
    """Training settings of mt-a3c / a3c (see :class:`TrainingConfig` for the shared ones)."""

    agent: str = "mt-a3c"
    lr: float = 1e-4  # the paper gives 0.01, which collapsed the policy here (see the module docstring)
    t_max: int = 32  # rollout length = the paper's batch of 32
    n_step: int = 1  # k of eq. (16), at most t_max
    entropy: float = 0.01
    value_weight: float = 0.5
    normalize_advantage: bool = True
    rms_alpha: float = 0.99
    rms_eps: float = 1e-5


class SharedRMSprop:
    """RMSProp (eqs. 23-24) whose running averages and step count live in shared memory."""

    def __init__(self, params, lr: float, alpha: float, eps: float):
        self.params = list(params)
        self.lr, self.alpha, self.eps = lr, alpha, eps
        self.square = [torch.zeros_like(p.data).share_memory_() for p in self.params]
        self.steps = torch.zeros(1, dtype=torch.long).share_memory_()

    def step(self) -> None:
        first = int(self.steps) == 0
        for p, g in zip(self.params, self.square):
            if p.grad is None:
                continue
            if first:  # start the average at the first squared gradient, not at 0 (no 10x first step)
                g.copy_(p.grad * p.grad)
            else:
                g.mul_(self.alpha).addcmul_(p.grad, p.grad, value=1 - self.alpha)  # eq. (23)
            p.data.addcdiv_(p.grad, g.add(self.eps).sqrt(), value=-self.lr)  # eq. (24)
        self.steps += 1

    def state_dict(self) -> dict:
        return {"square": [g.clone() for g in self.square], "steps": int(self.steps)}

    def load_state_dict(self, state: dict) -> None:
        for g, s in zip(self.square, state["square"]):
            g.copy_(s)
        self.steps.fill_(state["steps"])


def _spec(cfg: A3CConfig, shape) -> dict:
    m, n = shape
    return {"kind": "joint" if cfg.agent == "a3c" else "multi-head", "inputs": feature_size(m, n), "blocks": m,
            "locations": n + 1, "hidden": list(cfg.hidden), "critic": True}


class _Worker:
    """One actor-learner: its environment, local network and rollout state."""

    def __init__(self, cfg: A3CConfig, index: int, shared: torch.nn.Module, opt: SharedRMSprop, spec: dict):
        self.cfg, self.index, self.shared, self.opt = cfg, index, shared, opt
        self.local = build_net(spec)
        self.env = cfg.make_env()
        self.rng = np.random.default_rng([cfg.seed, index])
        torch.manual_seed(cfg.seed * 1000 + index)
        self.obs, _ = self.env.reset(seed=cfg.seed * 1000 + index)
        self.episode_reward, self.episode_delay, self.episode_ok, self.steps = 0.0, 0.0, 0, 0

    def epsilon(self, episode: int) -> float:
        frac = min(1.0, episode / max(1.0, self.cfg.eps_decay * self.cfg.episodes))
        return self.cfg.eps_start + frac * (self.cfg.eps_end - self.cfg.eps_start)

    def rollout(self, episode: int) -> list[dict]:
        """Play up to t_max slots, update the shared network; returns finished-episode records."""
        cfg, local = self.cfg, self.local
        local.load_state_dict(self.shared.state_dict())
        m, loc = local.blocks, local.locations
        eps = self.epsilon(episode)
        log_probs, values, entropies, rewards = [], [], [], []
        finished, done = [], False
        for _ in range(cfg.t_max):
            logits, value = local(torch.from_numpy(self.obs)[None])
            dist = torch.distributions.Categorical(logits=logits[0])
            action = dist.sample()
            if isinstance(local, JointNet):
                if self.rng.random() < eps:
                    action = torch.tensor(int(self.rng.integers(loc**m)))
                placement = local.decode(action[None])[0].numpy()
                log_probs.append(dist.log_prob(action))
                entropies.append(dist.entropy())
            else:
                explore = torch.from_numpy(self.rng.random(m) < eps)
                action = torch.where(explore, torch.from_numpy(self.rng.integers(0, loc, size=m)), action)
                placement = action.numpy()
                log_probs.append(dist.log_prob(action).mean())  # eq. (20): mean of the M heads
                entropies.append(dist.entropy().mean())
            values.append(value[0])
            self.obs, reward, terminated, truncated, info = self.env.step(placement)
            rewards.append(reward * cfg.reward_scale)
            self.episode_reward += reward
            self.episode_delay += info["total_delay"]
            self.episode_ok += info["deadlines_met"]
            self.steps += 1
            if terminated or truncated:
                finished.append({"worker": self.index, "reward": self.episode_reward, "slots": self.steps,
                                 "mean_reward": self.episode_reward / self.steps,
                                 "mean_delay": self.episode_delay / self.steps,
                                 "deadlines_met": self.episode_ok / self.steps, "epsilon": eps})
                self.obs, _ = self.env.reset()
                self.episode_reward, self.episode_delay, self.episode_ok, self.steps = 0.0, 0.0, 0, 0
                done = terminated
                if done or truncated:
                    break
        with torch.no_grad():
            bootstrap = 0.0 if done else float(local(torch.from_numpy(self.obs)[None])[1][0])
        values_t = torch.stack(values)
        later = torch.cat([values_t.detach()[1:], torch.tensor([bootstrap])])  # V(X^{t+1})
        returns = torch.empty(len(rewards))
        steps = len(rewards)
        for t in range(steps):  # eq. (16) with k = min(n_step, steps - t)
            k = min(cfg.n_step, steps - t)
            ret = sum(cfg.gamma**i * rewards[t + i] for i in range(k))
            returns[t] = ret + cfg.gamma**k * later[t + k - 1]
        advantage = returns - values_t  # eq. (17)
        weight = advantage.detach()
        if cfg.normalize_advantage and len(weight) > 1:
            weight = (weight - weight.mean()) / (weight.std() + 1e-8)
        actor = -(torch.stack(log_probs) * weight).mean() - cfg.entropy * torch.stack(entropies).mean()
        critic = advantage.pow(2).mean()  # eq. (19)
        loss = actor + cfg.value_weight * critic
        local.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(local.parameters(), 40.0)
        for shared_p, local_p in zip(self.shared.parameters(), local.parameters()):
            shared_p.grad = None if local_p.grad is None else local_p.grad.clone()
        self.opt.step()
        return finished


def _worker_main(cfg, index, shared, opt, spec, counter, queue, stop):
    torch.set_num_threads(1)
    worker = _Worker(cfg, index, shared, opt, spec)
    while not stop.is_set():
        with counter.get_lock():
            episode = counter.value
        if episode >= cfg.episodes:
            break
        for rec in worker.rollout(episode):
            with counter.get_lock():
                counter.value += 1
                rec["episode"] = counter.value
            queue.put(rec)
    queue.put(None)


def _save(path, cfg, shared, opt, spec, shape, curve, episodes, wall):
    record = {"config": asdict(cfg), "episodes": episodes, "wall_seconds": wall,
              "parameters": count_parameters(shared), "optimizer": opt.state_dict(), "curve": curve}
    save_checkpoint(path, cfg.agent, shared, spec, shape, record)


def train_a3c(cfg: A3CConfig, out: str | Path, *, resume: bool = False, curve_csv: str | Path | None = None,
              progress: bool = True) -> dict:
    """Train mt-a3c or a3c; checkpoints go to ``out`` every ``checkpoint_every`` seconds and at the end.

    ``resume=True`` continues from the checkpoint at ``out`` (weights, optimizer state,
    episode count and curve). Returns the training record.
    """
    if cfg.agent not in ("mt-a3c", "a3c"):
        raise ValueError(f"agent: must be 'mt-a3c' or 'a3c', got {cfg.agent!r}")
    out = Path(out)
    shape = cfg.prepare()
    spec = _spec(cfg, shape)
    torch.manual_seed(cfg.seed)
    shared = build_net(spec)
    opt = SharedRMSprop(shared.parameters(), cfg.lr, cfg.rms_alpha, cfg.rms_eps)
    curve, start_episode, wall_before = [], 0, 0.0
    if resume:
        record, curve, start_episode, wall_before = resume_from(out, shared)
        opt.load_state_dict(record["optimizer"])
    shared.share_memory()
    workers = worker_count(cfg.workers)
    log = TrainingLog(cfg, lambda ep: _save(out, cfg, shared, opt, spec, shape, curve, ep, log.wall()), curve,
                      wall_before, progress)
    record, out_of_time = log.record, log.out_of_time

    episode = start_episode
    if cfg.deterministic:
        torch.set_num_threads(1)
        pool = [_Worker(cfg, i, shared, opt, spec) for i in range(workers)]
        while episode < cfg.episodes and not out_of_time():
            for w in pool:
                for rec in w.rollout(episode):
                    episode += 1
                    rec["episode"] = episode
                    record(rec)
    else:
        def handle(rec):
            nonlocal episode
            record(rec)
            episode = max(episode, rec["episode"])

        run_workers(_worker_main, lambda i, counter, queue, stop: (cfg, i, shared, opt, spec, counter, queue, stop),
                    workers, start_episode, handle, out_of_time)
    wall = log.wall()
    _save(out, cfg, shared, opt, spec, shape, curve, episode, wall)
    if curve_csv:
        write_curve(curve_csv, curve)
    return {"episodes": episode, "wall_seconds": wall, "curve": curve}
