"""Learned dispatch on the shared edge: each arriving task placed knowing the servers' loads.

The policy (``shared-learned``) takes tasks one by one, as the paper's agent takes its
slots' tasks, and sees the paper's state extended with the loads: for each location
(the task's device, then every server) how long its queue is, how fast it runs this
task, what reaching it costs, and how busy the edge is. A small network maps each
location's features to a **congestion price** p_j >= 0 (seconds charged per second of
work placed there), and the task is placed by the earliest-finish DP that minimises its
own finish time plus the charges Σ_m p_{a_m} t_m(a_m) (compiled in
:class:`partopt.shared.kernels.ListScheduler`; the Python
:func:`partopt.shared.solvers.common.earliest_finish_chain` with ``price`` is its reference),
then appended to those queues. With every price 0 this is the ``earliest-finish``
heuristic, which is myopic: it takes the fastest server even when that makes every
later task wait; the prices learn when not to.

A solve tries several decodings (compiled; their time in bench/results/shared_learned.md) and keeps the
best: each multiplies the learned prices by a scale and takes the tasks in an order,
release plus a lookahead times the task's least computation time, so that a short task
may go before a long one released a little earlier (the paper's agent takes its tasks
in release order; the orders are new). The default set of (scale, lookahead) pairs was
chosen on validation draws (:data:`DEFAULT_DECODINGS`).

Features of location j for task k released at r (T_k: the task's least computation
time, the sum over its blocks of the fastest location's time):

- 1, is-device;
- queue: max(free_j - r, 0) / T_k, and the mean of the servers' queues / T_k;
- pace: log10 of the task's computation time on j over T_k;
- reach: log10(1 + input transfer time from the device to j / T_k);
- load: tasks released in the last ``WINDOW_S`` times T_k / (WINDOW_S N), an arrival-rate
  estimate from the past;
- ahead: tasks of the slot released within T_k after r, over N (the slot's release times
  are part of the scenario; their placements are not);
- log10 N.

Training: evolution strategies (Salimans et al. 2017), a gradient-free reinforcement
method: antithetic Gaussian perturbations of the weights, each scored on the same
freshly drawn training scenarios (seeds below 1,000,000) by its total delay relative to
earliest-finish's, centred ranks, Adam steps. A checkpoint (with the optimizer state and
curve) is written after every iteration, so ``resume=True`` continues a run.
"""

from __future__ import annotations

import ast
import bisect
import functools
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from partopt.execution import SerialExecutor, process_pool, usable_cores
from partopt.generation import get_generator
from partopt.result import SolverOutput
from partopt.shared.solvers.heuristics import local_search, release_order

if TYPE_CHECKING:
    from partopt.objective import Objective
    from partopt.shared.evaluation import ScheduleSummary
    from partopt.shared.model import Scenario

__all__ = [
    "AGENT",
    "FEATURES",
    "DispatchConfig",
    "DispatchWeights",
    "dispatch",
    "dispatch_features",
    "load_dispatch",
    "solve_shared_learned",
    "solve_shared_learned_search",
    "train_dispatch",
]

AGENT = "shared-learned"
FEATURES = 9
WINDOW_S = 0.1  #: s, the past window of the arrival-rate estimate
#: The (price scale, task-order lookahead) decodings ``shared-learned`` tries by default, chosen
#: on validation draws by ``python bench/shared_learned.py --choose`` (shared_learned_choice.md).
DEFAULT_DECODINGS = (
    (2.0, 0.0),
    (0.5, 0.25),
    (4.0, 0.25),
    (1.0, 0.0),
    (4.0, 0.0),
    (1.0, 0.5),
    (0.0, 1.0),
    (0.0, 0.0),
    (8.0, 0.25),
    (0.25, 0.5),
    (1.0, 0.25),
    (8.0, 0.5),
    (0.25, 0.25),
    (0.5, 0.0),
    (2.0, 0.25),
    (2.0, 1.0),
)


@dataclass(frozen=True)
class DispatchWeights:
    """A two-layer network from FEATURES inputs through ``hidden`` tanh units to a softplus price."""

    w1: np.ndarray  # (FEATURES, H)
    b1: np.ndarray  # (H,)
    w2: np.ndarray  # (H,)
    b2: float

    @classmethod
    def initial(cls, hidden: int, seed: int) -> "DispatchWeights":
        """Small random weights, prices near softplus(-3) = 0.05 (earliest-finish, nearly)."""
        rng = np.random.default_rng(seed)
        return cls(rng.normal(0, 0.3, (FEATURES, hidden)), np.zeros(hidden), rng.normal(0, 0.3, hidden), -3.0)

    def flat(self) -> np.ndarray:
        return np.concatenate([self.w1.ravel(), self.b1, self.w2, [self.b2]])

    @classmethod
    def unflat(cls, theta: np.ndarray, hidden: int) -> "DispatchWeights":
        a = FEATURES * hidden
        return cls(
            theta[:a].reshape(FEATURES, hidden),
            theta[a : a + hidden],
            theta[a + hidden : a + 2 * hidden],
            float(theta[-1]),
        )

    def prices(self, features: np.ndarray) -> np.ndarray:
        """Price per location (L,) from features (L, FEATURES)."""
        z = np.tanh(features @ self.w1 + self.b1) @ self.w2 + self.b2
        return np.logaddexp(0.0, z)  # softplus


def dispatch_features(scenario: Scenario, k: int, free: list[float], releases: list[float], index: int) -> np.ndarray:
    """Features (L, FEATURES) of every location for task k, the index-th of the slot's sorted
    ``releases`` (s), given the locations' free times ``free`` (see the module docstring)."""
    tab, release = scenario.tables[k], releases[index]
    dur = np.asarray(tab.duration)  # (M, L)
    fastest = float(dur.min(axis=1).sum())
    recent = index - bisect.bisect_left(releases, release - WINDOW_S)
    ahead = bisect.bisect_right(releases, release + fastest) - index - 1
    pace = dur.sum(axis=0) / fastest
    queue = np.maximum(np.asarray(free) - release, 0.0) / fastest
    reach = np.asarray(tab.transfer[0][0]) / fastest
    n = scenario.num_servers
    out = np.empty((len(free), FEATURES))
    out[:, 0] = 1.0
    out[:, 1] = 0.0
    out[0, 1] = 1.0
    out[:, 2] = queue
    out[:, 3] = queue[1:].mean()
    out[:, 4] = np.log10(pace)
    out[:, 5] = np.log10(1.0 + reach)
    out[:, 6] = recent * fastest / (WINDOW_S * n)
    out[:, 7] = ahead / n
    out[:, 8] = math.log10(n)
    return out


class Decoder:
    """Decodes one scenario with learned prices (compiled,
    :class:`partopt.shared.kernels.ListScheduler`): the tables and the static features of
    every task are prepared once, then each decoding places the tasks in an order by the
    priced earliest-finish DP, for any weights (the solver's decodings, and the training's
    perturbations, reuse one decoder per scenario)."""

    def __init__(self, scenario: Scenario, keep_deadlines: bool):
        from partopt.shared.kernels import ListScheduler  # Numba loads on first use

        self.scenario, self.keep = scenario, keep_deadlines
        self.scheduler = ListScheduler(scenario)
        self.release_order = release_order(scenario)
        self.rank = {k: i for i, k in enumerate(self.release_order)}
        releases = [scenario.tasks[k].release_s for k in self.release_order]
        locs = scenario.num_servers + 1
        self.static = np.empty((scenario.num_tasks, locs, FEATURES))
        self.fastest = np.empty(scenario.num_tasks)
        for index, k in enumerate(self.release_order):  # queues (columns 2, 3) are filled as tasks are placed
            self.static[k] = dispatch_features(scenario, k, [releases[index]] * locs, releases, index)
            self.fastest[k] = float(np.asarray(scenario.tables[k].duration).min(axis=1).sum())

    def order(self, lookahead: float) -> list[int]:
        """Tasks by release + ``lookahead`` x their least computation time T_k (ties by release
        order): 0 is release order; larger values let short tasks go before long ones
        released a little earlier."""
        rel = self.scheduler.rel
        return sorted(self.release_order, key=lambda k: (rel[k] + lookahead * self.fastest[k], self.rank[k]))

    def decode(
        self, weights: DispatchWeights | None, scale: float = 1.0, order: list[int] | None = None
    ) -> tuple[list, list, ScheduleSummary]:
        """(placement, start times (s), summary) with the prices of ``weights`` times ``scale``
        (None or 0: no prices, earliest-finish's DP) and the tasks in ``order`` (None: release
        order; see :meth:`order`)."""
        w = None if weights is None else (weights.w1, weights.b1, weights.w2, weights.b2)
        placement, start, summary = self.scheduler.schedule(
            self.release_order if order is None else order, self.keep, self.static, self.fastest, w, scale
        )
        return self.scheduler.rows(placement), self.scheduler.rows(start), summary


def dispatch(
    scenario: Scenario, weights: DispatchWeights, keep_deadlines: bool, scale: float = 1.0
) -> tuple[list, list, float]:
    """Place every task in release order by the priced earliest-finish DP, the prices times
    ``scale`` (0: earliest-finish): (placement, start times, total delay of that schedule, s)."""
    placement, start, summary = Decoder(scenario, keep_deadlines).decode(weights, scale)
    return placement, start, summary.total_delay


# ------------------------------------------------------------------------------------------------ training
@dataclass
class DispatchConfig:
    """Evolution-strategies settings: scenarios per iteration (``batch``) drawn from the
    ``shared`` generator with ``params`` and K from ``tasks``, release rates uniform in
    ``rates``; ``pairs`` antithetic perturbations of scale ``sigma``; Adam at ``lr``."""

    params: dict | None = None
    tasks: tuple = (16, 32, 64)
    rates: tuple = (30.0, 110.0)
    batch: int = 12
    pairs: int = 8
    sigma: float = 0.1
    lr: float = 0.05
    hidden: int = 8
    iterations: int = 60
    seed: int = 0
    max_seconds: float | None = None
    workers: int = 0  # processes scoring the perturbations; 0 = every usable core


def _training_params(cfg: DispatchConfig) -> dict:
    """The shared generator's parameters of the training scenarios, before K and the rate."""
    from partopt.shared.generators import SHARED_MIX

    return {**SHARED_MIX, **(cfg.params or {})}


def _server_range(cfg: DispatchConfig) -> tuple[int, int]:
    """(least, most) servers N of the training scenarios."""
    n = _training_params(cfg).get("num_servers", 4)
    return (int(n[0]), int(n[1])) if isinstance(n, (tuple, list)) else (int(n), int(n))


def _training_scenarios(cfg: DispatchConfig, iteration: int) -> list[Scenario]:
    rng = np.random.default_rng([cfg.seed, iteration])
    out = []
    for b in range(cfg.batch):
        params = {
            **_training_params(cfg),
            "num_tasks": int(rng.choice(cfg.tasks)),
            "release_rate": float(rng.uniform(*cfg.rates)),
        }
        out.append(cast("Scenario", get_generator("shared", **params).generate(cfg.seed * 1000 + iteration % 1000, b)))
    return out


@functools.lru_cache(maxsize=2)
def _iteration_data(cfg_repr: str, iteration: int) -> tuple[list[Decoder], list[float]]:
    """A decoder of each training scenario of ``iteration`` (for the config whose repr(asdict)
    is ``cfg_repr``) and earliest-finish's total delay on each."""
    cfg = DispatchConfig(**ast.literal_eval(cfg_repr))
    decoders = [Decoder(sc, True) for sc in _training_scenarios(cfg, iteration)]
    return decoders, [d.decode(None)[2].total_delay for d in decoders]


def _fitness(job: tuple) -> list[float]:
    """Mean total delay relative to earliest-finish of each of ``thetas`` on ``iteration``'s scenarios."""
    cfg_items, iteration, hidden, thetas = job
    decoders, baseline = _iteration_data(cfg_items, iteration)
    out = []
    for theta in thetas:
        weights = DispatchWeights.unflat(theta, hidden)
        out.append(float(np.mean([d.decode(weights)[2].total_delay / base for d, base in zip(decoders, baseline)])))
    return out


def _centred_ranks(x: np.ndarray) -> np.ndarray:
    ranks = np.empty(len(x))
    ranks[np.argsort(x)] = np.arange(len(x))
    return ranks / (len(x) - 1) - 0.5


def train_dispatch(
    cfg: DispatchConfig,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    curve: str | Path | None = None,
) -> DispatchWeights:
    """Train the dispatch policy by evolution strategies; checkpoint to ``out`` every iteration."""
    from partopt.learned.runtime import write_curve
    from partopt.progress import Progress

    theta = DispatchWeights.initial(cfg.hidden, cfg.seed).flat()
    m, v, done, rows, wall_before = np.zeros_like(theta), np.zeros_like(theta), 0, [], 0.0
    if resume and Path(out).exists():
        state = _read(out)
        record = state["record"]
        if "optimizer" not in record:
            raise ValueError(f"checkpoint: {out} has no optimizer state (slimmed for shipping); it cannot resume")
        theta = state["theta"]
        m, v = np.asarray(record["optimizer"]["m"]), np.asarray(record["optimizer"]["v"])
        done, rows, wall_before = int(record["iterations_done"]), list(record["curve"]), float(record["wall_seconds"])
    rng = np.random.default_rng([cfg.seed, 7, done])
    bar = Progress(f"train {AGENT}", cfg.iterations, enabled=progress)
    workers = min(cfg.workers or usable_cores(), 2 * cfg.pairs)
    pool = process_pool(workers) if workers > 1 else SerialExecutor()
    started = time.perf_counter()
    cfg_items = repr(asdict(cfg))
    try:
        for it in range(done, cfg.iterations):
            noise = rng.normal(size=(cfg.pairs, theta.size))
            trials = [theta + s * cfg.sigma * eps for eps in noise for s in (1, -1)]
            chunks = [trials[w::workers] for w in range(workers)]
            flat = np.empty(len(trials))
            for w, values in enumerate(pool.map(_fitness, [(cfg_items, it, cfg.hidden, c) for c in chunks])):
                flat[w::workers] = values
            scores = flat.reshape(cfg.pairs, 2)
            ranks = _centred_ranks(scores.ravel()).reshape(scores.shape)
            grad = ((ranks[:, 0] - ranks[:, 1])[:, None] * noise).sum(axis=0) / (2 * cfg.pairs * cfg.sigma)
            m = 0.9 * m + 0.1 * grad  # Adam, descending the fitness (a delay ratio)
            v = 0.999 * v + 0.001 * grad**2
            step = it + 1
            theta = theta - cfg.lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
            wall = wall_before + time.perf_counter() - started
            rows.append({"iteration": step, "mean_ratio_to_earliest_finish": float(scores.mean()), "seconds": wall})
            record = {
                "config": asdict(cfg),
                "iterations_done": step,
                "wall_seconds": wall,
                "curve": rows,
                "optimizer": {"m": m.tolist(), "v": v.tolist()},
                "domain": {"generator": "shared", "servers": list(_server_range(cfg))},
            }
            _write(out, theta, cfg.hidden, record)
            bar.update(step, f"iterations, ratio to earliest-finish {scores.mean():.4f}")
            if cfg.max_seconds is not None and wall > cfg.max_seconds:
                break
    finally:
        pool.shutdown()
    if curve:
        write_curve(curve, rows)
    return DispatchWeights.unflat(theta, cfg.hidden)


# ------------------------------------------------------------------------------------------------ checkpoints
def _write(path: str | Path, theta: np.ndarray, hidden: int, record: dict) -> None:
    import torch

    from partopt.learned.policy import save_checkpoint

    net = torch.nn.Module()
    net.register_buffer("theta", torch.from_numpy(np.asarray(theta, dtype=np.float64)))
    save_checkpoint(path, AGENT, net, {"kind": "dispatch", "hidden": hidden, "features": FEATURES}, None, record)


def _read(path: str | Path) -> dict:
    from partopt.learned.policy import read_checkpoint

    data = read_checkpoint(path)
    spec = data["spec"]
    theta = data["state_dict"].get("theta")
    hidden = spec.get("hidden")
    if spec.get("kind") != "dispatch" or not isinstance(hidden, int) or theta is None:
        raise ValueError(f"checkpoint: {path} is not a {AGENT} checkpoint")
    theta = theta.numpy()
    if spec.get("features") != FEATURES or theta.shape != (FEATURES * hidden + 2 * hidden + 1,):
        raise ValueError(
            f"checkpoint: {path} has {theta.shape} weights for {spec.get('features')} features; "
            f"this version reads {FEATURES}: retrain"
        )
    return {"theta": theta, "hidden": hidden, "record": data["record"]}


def load_dispatch(checkpoint: str | Path | None = None) -> tuple[DispatchWeights, dict]:
    """The dispatch weights in ``checkpoint`` (None: the shipped one) and their training record."""
    from partopt.learned.policy import checkpoints_dir

    path = Path(checkpoint) if checkpoint is not None else checkpoints_dir() / f"{AGENT}.pt"
    if not path.exists():
        raise FileNotFoundError(f"checkpoint: {path} does not exist")
    return _load(str(path.resolve()), path.stat().st_mtime)


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> tuple[DispatchWeights, dict]:
    """A dispatch checkpoint's weights and record, read once per file version (as learned policies are)."""
    state = _read(path)
    return DispatchWeights.unflat(state["theta"], state["hidden"]), state["record"]


def _decodings(values) -> list[tuple[float, float]]:
    """``values`` as a non-empty list of (scale, lookahead) pairs of finite numbers >= 0, or a
    ValueError naming the option."""
    try:
        out = [(float(scale), float(lookahead)) for scale, lookahead in values]
    except (TypeError, ValueError):
        raise ValueError(f"decodings: must be a sequence of (scale, lookahead) pairs, got {values!r}") from None
    if not out or not all(math.isfinite(x) and x >= 0 for pair in out for x in pair):
        raise ValueError(f"decodings: must be a non-empty sequence of pairs of numbers >= 0, got {values!r}")
    return out


def solve_shared_learned(
    scenario: Scenario,
    objective: Objective,
    *,
    time_limit=None,
    seed=None,
    checkpoint=None,
    allow_outside: bool = False,
    decodings=DEFAULT_DECODINGS,
    polish: bool = False,
    ms_per_task: float = 2.0,
) -> SolverOutput:
    """Place the tasks with the learned dispatch (see the module docstring): one decoding per
    (scale, lookahead) pair of ``decodings``, and the best of each decoding's own schedule and
    FIFO dispatch of its placement is returned.

    A decoding multiplies the learned prices by its scale (0: earliest-finish's DP) and takes
    the tasks by release + lookahead x their least computation time (0: release order; see
    :meth:`Decoder.order`; its time per task: bench/results/shared_learned.md). The default pairs were chosen on
    validation draws (:data:`DEFAULT_DECODINGS`). polish: then run the shared-edge local
    search from the best, its placements priced as list schedules in that decoding's task
    order, with what is left of a budget of ``ms_per_task`` ms per task for the whole solve
    (and within ``time_limit``).
    """
    if not (isinstance(ms_per_task, (int, float)) and math.isfinite(ms_per_task) and ms_per_task > 0):
        raise ValueError(f"ms_per_task: must be a number > 0, got {ms_per_task!r}")
    pairs = _decodings(decodings)
    started = time.perf_counter()
    weights, record = load_dispatch(checkpoint)
    low, high = record.get("domain", {}).get("servers", [1, math.inf])
    if not low <= scenario.num_servers <= high and not allow_outside:
        raise ValueError(
            f"scenario: N = {scenario.num_servers} servers lies outside what the {AGENT} checkpoint "
            f"was trained on (N in {low}..{high}); pass allow_outside=True to use it anyway"
        )
    from partopt.shared.kernels import FifoScorer

    decoder, fifo = Decoder(scenario, objective.kind == "hard"), FifoScorer(scenario)
    best: tuple | None = None
    for scale, lookahead in pairs:
        order = decoder.order(lookahead)
        placement, start, summary = decoder.decode(weights, scale, order)
        for candidate, judged, kept in (
            ((placement, start), summary, order),
            ((placement, None), fifo.score(placement), None),
        ):
            key = (not objective.feasible(judged), objective.raw_value(judged))
            if best is None or key < best[0]:
                best = (key, candidate, kept)
    assert best is not None
    (placement, start), order = best[1], best[2]
    if polish:  # from the best decoding, in its own order (or under FIFO dispatch if that won)
        budget = ms_per_task * scenario.num_tasks / 1e3
        if time_limit is not None:
            budget = min(budget, time_limit)
        left = max(0.0, 0.85 * budget - (time.perf_counter() - started))  # room to price the answer
        out = local_search(scenario, objective, [(placement, start)], time_limit=left, order=order)
        return SolverOutput(placement=out.placement, start_s=out.start_s, info=out.info)
    return SolverOutput(placement=placement, start_s=start)


def solve_shared_learned_search(
    scenario: Scenario,
    objective: Objective,
    *,
    time_limit=None,
    seed=None,
    checkpoint=None,
    allow_outside: bool = False,
    moves_per_task: int | None = None,
) -> SolverOutput:
    """shared-learned's schedule, then the order search (``shared-order-search``) from it and
    from the local search's: the best schedule found, never worse than either start.

    moves_per_task: the order search's effort (None: its default,
    :data:`~partopt.shared.solvers.orders.MOVES_PER_TASK`), cut short by ``time_limit``; seed:
    its random stream (default 0); checkpoint, allow_outside: as for shared-learned."""
    from partopt.shared.evaluation import fifo_dispatch
    from partopt.shared.solvers.orders import MOVES_PER_TASK, solve_shared_order_search

    begin = time.perf_counter()
    learned = solve_shared_learned(
        scenario, objective, time_limit=time_limit, checkpoint=checkpoint, allow_outside=allow_outside
    )
    placement = learned.placement
    assert placement is not None  # the learned dispatch always places every block
    start_s = learned.start_s if learned.start_s is not None else fifo_dispatch(scenario, placement)
    left = None if time_limit is None else max(0.0, float(time_limit) - (time.perf_counter() - begin))
    out = solve_shared_order_search(
        scenario,
        objective,
        time_limit=left,
        seed=0 if seed is None else seed,
        moves_per_task=MOVES_PER_TASK if moves_per_task is None else moves_per_task,
        starts=[(list(placement), list(start_s))],
    )
    return SolverOutput(placement=out.placement, start_s=out.start_s, info=out.info)
