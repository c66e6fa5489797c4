"""Multi-task A3C (the source paper's Algorithm 1) and plain A3C, trained Hogwild on CPU.

Network: :class:`~partopt.learned.nets.MultiHeadNet` (mt-a3c: shared hidden layers,
one softmax head per block, one critic) or :class:`~partopt.learned.nets.JointNet`
(a3c: one softmax over the (N+1)^M joint placements, and a critic).

Each worker steps its own :class:`~partopt.learned.env.BlockPlacementVectorEnv`
(``envs`` copies of the environment on a pool of training tasks) with a local copy of
the network. Per update it plays ``t_max`` slots in every copy, so an update sees a
batch of t_max x envs slots (1 x 256 by default), then computes

- k-step returns R^t = sum_{i<k} gamma^i r^{t+i} + gamma^k V(X^{t+k}) (eq. 16), with
  k = ``n_step`` (cut at the rollout's end and at episode ends, V = 0 after a
  terminal slot), and advantages A = R^t - V(X^t) (eq. 17);
- actor loss per head m: -w_m log pi_m(a_m | X) A - c_H H(pi_m) (eq. 18, the entropy
  bonus with weight ``entropy``), averaged over the M heads as in eq. (20) (mt-a3c;
  plain a3c has one head over the joint action);
- critic loss (R^t - V(X^t))^2 (eq. 19), weighted by ``value_weight``;

and applies the gradients to the shared parameters with RMSProp (eqs. 23-24,
g <- alpha g + (1 - alpha) grad^2, theta <- theta - lr grad / sqrt(g + eps)) whose
state lives in shared memory; g starts at the first squared gradient rather than 0,
which would make the first steps ten times too large. Gradients are copied
explicitly from the local network to the shared one (torch >= 2 sets gradients to
None on zero_grad).

Where Algorithm 1 is unclear or did not work as printed, the choices are these (the
measurements behind each are recorded in ``bench/results/a3c-design.md``):

- replay memory D: each worker keeps its last ``memory`` slots (observation, action,
  behaviour probability mu(a), reward, following observation) and, after each
  on-policy update, makes ``replay`` more updates on minibatches of t_max x envs
  slots drawn from it, with one-step returns from the current critic and truncated
  importance weights against the stored mu (as in ACER, Wang et al. 2017);
- exploration: "random exploration decreasing from 1 to 0.01" is an epsilon per
  block, falling linearly over the first ``eps_decay`` of the run; each head's term
  is weighted by w_m = min(1, pi_m(a_m) / mu_m(a_m)), mu = (1 - eps) pi + eps / (N+1)
  (truncated importance sampling, as in ACER / V-trace), so that random actions do
  not collapse the policy;
- eq. (24)'s epsilon sits inside the square root, so it is tiny (1e-10);
- learning rate 1e-3, annealed linearly to 0 over the run (Mnih et al., 2016); the
  paper's 0.01 collapses the policy;
- entropy bonus 0.1: the optimum mostly puts every block on one server, which
  independent heads find only together;
- k = ``n_step`` = 1 by default (eq. 16 allows up to t_max): tasks arrive
  independently of the actions, so longer returns add unrelated future rewards;
- with ``normalize_advantage`` the actor's advantages are standardized within each
  batch, and rewards are multiplied by ``reward_scale`` inside the learner only (the
  environment's reward stays eq. 14).

``deterministic=True`` steps the workers in a fixed order in one process, so a run
is reproducible (for tests); the asynchronous run is not (Hogwild).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from partopt.learned.env import BlockPlacementVectorEnv
from partopt.learned.nets import JointNet, build_net, count_parameters, net_spec
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

__all__ = ["A3CConfig", "SharedRMSprop", "train_a3c"]


@dataclass
class A3CConfig(TrainingConfig):
    """Training settings of mt-a3c / a3c (see :class:`TrainingConfig` for the shared ones)."""

    agent: str = "mt-a3c"
    lr: float = 1e-3  # the paper gives 0.01, which collapsed the policy here (see the module docstring)
    anneal_lr: bool = True  # lr falls linearly to 0 over the run (Mnih et al. 2016)
    t_max: int = 1  # rollout length per copy; an update sees t_max * envs slots (256 by default)
    envs: int = 256
    n_step: int = 1  # k of eq. (16), at most t_max
    entropy: float = 0.1  # weight of the entropy bonus (eq. 18); see the module docstring
    value_weight: float = 0.5
    normalize_advantage: bool = True
    rms_alpha: float = 0.99
    rms_eps: float = 1e-10  # eq. (24)'s epsilon, inside the square root (see the module docstring)
    replay: int = 1  # minibatches replayed from the worker's memory after each on-policy update
    memory: int = 10_000  # slots in each worker's replay memory (D of Algorithm 1)


class SharedRMSprop:
    """RMSProp (eqs. 23-24) whose running averages and step count live in shared memory."""

    def __init__(self, params, lr: float, alpha: float, eps: float):
        self.params = list(params)
        self.lr, self.alpha, self.eps = lr, alpha, eps
        self.square = [torch.zeros_like(p.data).share_memory_() for p in self.params]
        self.steps = torch.zeros(1, dtype=torch.long).share_memory_()

    def step(self, lr: float | None = None) -> None:
        """One update of every parameter with a gradient, at ``lr`` (default: the initial one)."""
        lr = self.lr if lr is None else lr
        first = int(self.steps) == 0
        for p, g in zip(self.params, self.square):
            if p.grad is None:
                continue
            if first:  # start the average at the first squared gradient, not at 0 (no 10x first step)
                g.copy_(p.grad * p.grad)
            else:
                g.mul_(self.alpha).addcmul_(p.grad, p.grad, value=1 - self.alpha)  # eq. (23)
            p.data.addcdiv_(p.grad, g.add(self.eps).sqrt(), value=-lr)  # eq. (24)
        self.steps += 1

    def state_dict(self) -> dict:
        return {"square": [g.clone() for g in self.square], "steps": int(self.steps)}

    def load_state_dict(self, state: dict) -> None:
        for g, s in zip(self.square, state["square"]):
            g.copy_(s)
        self.steps.fill_(state["steps"])


def _behaviour_log_prob(log_pi: torch.Tensor, eps: float, choices: int) -> torch.Tensor:
    """log mu(a) of actions drawn from the epsilon-mixed behaviour mu = (1 - eps) pi + eps / choices,
    per head, without gradient."""
    return torch.log((1 - eps) * log_pi.detach().exp() + eps / choices)


def _importance_weight(log_pi: torch.Tensor, log_mu: torch.Tensor) -> torch.Tensor:
    """Truncated importance weight min(1, pi(a) / mu(a)), without gradient."""
    return (log_pi.detach() - log_mu).exp().clamp(max=1.0)


def _policy_terms(
    logits: torch.Tensor, action: torch.Tensor, log_mu: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(importance-weighted log pi(a) (B,), entropy (B,)) of ``action`` under ``logits``; with
    M heads both are means over the heads (eq. 20)."""
    dist = torch.distributions.Categorical(logits=logits)
    log_pi = dist.log_prob(action)
    weighted, entropy = _importance_weight(log_pi, log_mu) * log_pi, dist.entropy()
    if weighted.dim() == 2:
        return weighted.mean(dim=1), entropy.mean(dim=1)
    return weighted, entropy


def _returns(
    rewards: np.ndarray, ended: np.ndarray, terminal: np.ndarray, next_values: np.ndarray, gamma: float, k: int
) -> np.ndarray:
    """Eq. (16) for a rollout of shape (T, E): R^t = sum_{i<j} gamma^i r^{t+i} + gamma^j V(X^{t+j}),
    j = min(k, T - t, slots to the end of the episode); no bootstrap after a terminal slot.
    ``next_values[t]`` is V of the observation that follows slot t (the final one if it ended)."""
    steps = len(rewards)
    out = np.zeros_like(rewards)
    for t in range(steps):
        ret = np.zeros(rewards.shape[1])
        discount = np.ones(rewards.shape[1])
        open_ = np.ones(rewards.shape[1], dtype=bool)  # copies whose episode has not ended since t
        for i in range(min(k, steps - t)):
            ret += open_ * discount * rewards[t + i]
            discount *= gamma
            last = (i == min(k, steps - t) - 1) | ended[t + i]
            bootstrap = open_ & last
            ret += bootstrap * discount * next_values[t + i] * ~terminal[t + i]
            open_ &= ~last
        out[t] = ret
    return out


class _Worker:
    """One actor-learner: its vector environment, local network and rollout state."""

    def __init__(self, cfg: A3CConfig, index: int, shared: torch.nn.Module, opt: SharedRMSprop, spec: dict):
        self.cfg, self.index, self.shared, self.opt = cfg, index, shared, opt
        self.local = build_net(spec)
        self.env = cfg.make_vector_env(index)
        self.rng = np.random.default_rng([cfg.seed, index])
        torch.manual_seed(cfg.seed * 1000 + index)
        self.obs, _ = self.env.reset(seed=cfg.seed * 1000 + index)
        self.tracker = EpisodeTracker(self.env.num_envs, index)
        self.memory = ReplayMemory(cfg.memory, self.rng) if cfg.replay else None  # D of Algorithm 1

    def _act(self, logits: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """Sample from the heads with epsilon exploration: (actions (E,) joint indices or
        (E, M) locations, their behaviour log-probabilities log mu, placements (E, M))."""
        local: Any = self.local
        joint = isinstance(local, JointNet)
        choices = local.locations**local.blocks if joint else local.locations
        dist = torch.distributions.Categorical(logits=logits)
        action = dist.sample()
        explore = torch.from_numpy(self.rng.random(action.shape) < eps)
        action = torch.where(explore, torch.from_numpy(self.rng.integers(0, choices, size=action.shape)), action)
        log_mu = _behaviour_log_prob(dist.log_prob(action), eps, choices)
        return action, log_mu, (local.decode(action) if joint else action).numpy()

    def _apply(self, loss: torch.Tensor, fraction: float) -> None:
        """Gradients of ``loss`` on the local network, copied to the shared one, one RMSProp step."""
        cfg, local = self.cfg, self.local
        local.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(local.parameters(), 40.0)
        for shared_p, local_p in zip(self.shared.parameters(), local.parameters()):
            shared_p.grad = None if local_p.grad is None else local_p.grad.clone()
        self.opt.step(cfg.lr * (1.0 - fraction) if cfg.anneal_lr else cfg.lr)

    def _loss(self, advantage: torch.Tensor, log_probs: torch.Tensor, entropies: torch.Tensor) -> torch.Tensor:
        """Eq. (20): the actor loss (eq. 18, entropy bonus) plus the weighted critic loss (eq. 19)."""
        cfg = self.cfg
        weight = advantage.detach()
        if cfg.normalize_advantage and weight.numel() > 1:
            weight = (weight - weight.mean()) / (weight.std() + 1e-8)
        actor = -(log_probs * weight).mean() - cfg.entropy * entropies.mean()
        return actor + cfg.value_weight * advantage.pow(2).mean()

    def replay(self, fraction: float) -> None:
        """One update on a minibatch of the replay memory, with one-step returns (eq. 16, k = 1)
        from the current critic and importance weights against the stored behaviour."""
        cfg, local = self.cfg, self.local
        local.load_state_dict(self.shared.state_dict())
        if self.memory is None:
            raise RuntimeError("replay: this worker keeps no replay memory (replay=False)")
        batch = {k: torch.from_numpy(v) for k, v in self.memory.sample(cfg.t_max * cfg.envs).items()}
        logits, value = local(batch["obs"])
        with torch.no_grad():
            following = local(batch["following"])[1]
        returns = batch["reward"] + cfg.gamma * following * ~batch["terminal"]
        weighted, entropy = _policy_terms(logits, batch["action"], batch["log_mu"])
        self._apply(self._loss(returns - value, weighted, entropy), fraction)

    def rollout(self, fraction: float) -> list[dict]:
        """Play t_max slots in every copy, update the shared network; returns finished-episode
        records. ``fraction``: how far the run is (sets epsilon and the learning rate)."""
        cfg, local, env = self.cfg, self.local, self.env
        local.load_state_dict(self.shared.state_dict())
        eps = epsilon_at(cfg, fraction)
        log_probs, values, entropies, rewards, ended, terminal, after = [], [], [], [], [], [], []
        finished = []
        for _ in range(cfg.t_max):
            obs = self.obs
            logits, value = local(torch.from_numpy(obs))
            action, log_mu, placements = self._act(logits.detach(), eps)
            weighted, entropy = _policy_terms(logits, action, log_mu)
            log_probs.append(weighted)
            entropies.append(entropy)
            values.append(value)
            self.obs, reward, term, trunc, info = env.step(placements)
            done = term | trunc
            rewards.append(reward * cfg.reward_scale)
            ended.append(done)
            terminal.append(term)
            after.append(BlockPlacementVectorEnv.following(self.obs, info, done))
            finished += self.tracker.add(reward, info, done, eps)
            if self.memory is not None:
                self.memory.add(
                    obs=obs,
                    action=action.numpy(),
                    log_mu=log_mu.numpy(),
                    reward=rewards[-1].astype(np.float32),
                    following=after[-1],
                    terminal=term,
                )
        with torch.no_grad():
            next_values = local(torch.from_numpy(np.concatenate(after)))[1].view(cfg.t_max, -1).numpy()
        returns = torch.from_numpy(
            _returns(np.array(rewards), np.array(ended), np.array(terminal), next_values, cfg.gamma, cfg.n_step)
        ).float()
        advantage = returns - torch.stack(values)  # eq. (17)
        self._apply(self._loss(advantage, torch.stack(log_probs), torch.stack(entropies)), fraction)
        for _ in range(cfg.replay):
            self.replay(fraction)
        return finished


def _worker_main(cfg, index, shared, opt, spec, started, counter, queue, stop):
    torch.set_num_threads(1)
    worker = _Worker(cfg, index, shared, opt, spec)
    while not stop.is_set():
        with counter.get_lock():
            episode = counter.value
        if episode >= cfg.episode_limit:
            break
        records = worker.rollout(run_fraction(cfg, episode, started))
        number_episodes(records, counter)
        for rec in records:
            queue.put(rec)
    queue.put(None)


def _save(path, cfg, shared, opt, spec, shape, curve, episodes, wall):
    record = {
        "config": asdict(cfg),
        "episodes": episodes,
        "wall_seconds": wall,
        "parameters": count_parameters(shared),
        "optimizer": opt.state_dict(),
        "curve": curve,
    }
    save_checkpoint(path, cfg.agent, shared, spec, shape, record)


def train_a3c(
    cfg: A3CConfig, out: str | Path, *, resume: bool = False, curve_csv: str | Path | None = None, progress: bool = True
) -> dict:
    """Train mt-a3c or a3c; checkpoints go to ``out`` every ``checkpoint_every`` seconds and at the end.

    ``resume=True`` continues from the checkpoint at ``out`` (weights, optimizer state,
    episode count and curve). Returns the training record.
    """
    if cfg.agent not in ("mt-a3c", "a3c"):
        raise ValueError(f"agent: must be 'mt-a3c' or 'a3c', got {cfg.agent!r}")
    out = Path(out)
    shape = cfg.prepare()
    spec = net_spec("joint" if cfg.agent == "a3c" else "multi-head", shape, cfg.hidden)
    torch.manual_seed(cfg.seed)
    shared = build_net(spec)
    opt = SharedRMSprop(shared.parameters(), cfg.lr, cfg.rms_alpha, cfg.rms_eps)
    curve: list[dict] = []
    start_episode, wall_before = 0, 0.0
    if resume:
        record, curve, start_episode, wall_before = resume_from(out, shared)
        opt.load_state_dict(record["optimizer"])
    shared.share_memory()
    workers = worker_count(cfg.workers)
    log = TrainingLog(
        cfg, lambda ep: _save(out, cfg, shared, opt, spec, shape, curve, ep, log.wall()), curve, wall_before, progress
    )
    record_row, out_of_time = log.record, log.out_of_time

    episode = start_episode
    if cfg.deterministic:
        torch.set_num_threads(1)
        pool = [_Worker(cfg, i, shared, opt, spec) for i in range(workers)]
        while episode < cfg.episode_limit and not out_of_time():
            for w in pool:
                for rec in w.rollout(run_fraction(cfg, episode, log.started)):
                    episode += 1
                    rec["episode"] = episode
                    record_row(rec)
    else:

        def handle(rec):
            nonlocal episode
            record_row(rec)
            episode = max(episode, rec["episode"])

        run_workers(
            _worker_main,
            lambda i, counter, queue, stop: (cfg, i, shared, opt, spec, log.started, counter, queue, stop),
            workers,
            start_episode,
            handle,
            out_of_time,
        )
    wall = log.wall()
    _save(out, cfg, shared, opt, spec, shape, curve, episode, wall)
    if curve_csv:
        write_curve(curve_csv, curve)
    return {"episodes": episode, "wall_seconds": wall, "curve": curve}
