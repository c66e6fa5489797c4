"""The shape-free policy: one checkpoint for chains of M = 3..18 blocks on N = 2..9 servers.

Network: :class:`~partopt.learned.nets.ChainNet` (the paper's MT-A3C trunk, per-block
heads, actor and critic, made free of M and N; its docstring says what is new).

Training, by imitation of exact optima (the deep-imitation paper's way, on a mixture):

- :func:`make_mixture` draws training instances (seeds below 1,000,000; suites use the
  seeds above) from every source of :data:`MIXTURE`: the ``paper`` generator on its four
  DNN profiles at every M from 3 to min(18, units) and N = 2..9 (and at each profile's
  natural blocks, and with slow, fast and varied links and deadlines of 0.02-7 s), the ``dil``
  generator at M = 3..18, the ``mobile`` generator on its
  ImageNet profiles, and ``random`` shapes; each is labelled by the batched DP
  (:func:`partopt.chain.solvers.dp.solve_batch`) under the penalty objective, beta = 1, and
  grouped by shape into :class:`Bucket` s (infeasible instances are dropped);
- :func:`train_shape_free` minimises, per block, the cross-entropy of the optimal
  location given the optimal location of the block before (teacher forcing), plus
  ``value_weight`` times the critic's squared error on log10 of the optimal objective;
  Adam with warm-up and a cosine decay, each minibatch from one bucket. A checkpoint is written
  after every epoch with the optimizer state, so an interrupted run resumes
  (``resume=True``) without losing finished epochs.

The checkpoint's record holds the :class:`~partopt.learned.domain.Domain` (generators,
shapes, quantity ranges) and the structured feature version.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from partopt.chain.costs import InstanceBatch
from partopt.chain.solvers.dp import solve_batch
from partopt.generation import training_instances
from partopt.learned.domain import Domain
from partopt.learned.features import STRUCTURED_VERSION, ChainFeatures, encode_structured
from partopt.learned.nets import CHAIN_INPUTS, ChainNet, as_tensors, build_net, count_parameters
from partopt.learned.policy import read_checkpoint, save_checkpoint
from partopt.learned.runtime import write_curve
from partopt.objective import Objective
from partopt.progress import Progress

__all__ = [
    "AGENT",
    "MIXTURE",
    "PAPER_NETWORKS",
    "Bucket",
    "FinetuneConfig",
    "finetune_shape_free",
    "load_mixture",
    "make_mixture",
    "mixture_sources",
    "sample_placements",
    "save_mixture",
    "train_shape_free",
]

AGENT = "shape-free"
PAPER_NETWORKS = {"vgg16": 18, "resnet32": 17, "nin": 12, "alexnet": 9}  # profile -> largest M used (units)
MOBILE_NETWORKS = ("resnet18-224", "resnet50-224", "mobilenetv2-224", "vgg16-224", "alexnet-224")
BLOCKS = range(3, 19)
SERVERS = range(2, 10)
#: Sources of the training mixture and instances drawn per source (before ``scale``).
MIXTURE = {"paper-cut": 160, "paper-natural": 1200, "paper-links": 400, "dil": 1500, "mobile": 3000, "random": 20000}
#: The ``paper-links`` sources: links (MB/s) slower, faster and more varied than the paper's, with deadlines of
#: 0.02-7 s (its Figs. 12 and 13 sweep both; a sweep point gives every link the same rate).
PAPER_LINKS = ((0.2, 0.6), (0.2, 4.0), (2.0, 4.0))
PAPER_DEADLINES_S = (0.02, 7.0)


@dataclass(frozen=True)
class Bucket:
    """Labelled instances of one shape: features, optimal placements (B, M), optimal values (B,)."""

    features: ChainFeatures
    labels: np.ndarray
    values: np.ndarray

    @property
    def size(self) -> int:
        return len(self.labels)


def mixture_sources(scale: float = 1.0) -> list[tuple[str, dict, int]]:
    """(generator, params, count) of every source of the mixture."""
    count = {k: max(1, int(round(v * scale))) for k, v in MIXTURE.items()}
    sources = []
    for network, units in PAPER_NETWORKS.items():
        for n in SERVERS:
            sources.append(("paper", {"network": network, "num_servers": n}, count["paper-natural"]))
            for rates in PAPER_LINKS:
                sources.append(
                    (
                        "paper",
                        {"network": network, "num_servers": n, "rate_MBps": rates, "deadline_s": PAPER_DEADLINES_S},
                        count["paper-links"],
                    )
                )
            for m in range(BLOCKS.start, min(BLOCKS.stop - 1, units) + 1):
                sources.append(("paper", {"network": network, "num_blocks": m, "num_servers": n}, count["paper-cut"]))
    for m in BLOCKS:
        sources.append(("dil", {"num_subtasks": m}, count["dil"]))
    for network in MOBILE_NETWORKS:
        for device in ("phone", "rpi", "jetson"):
            sources.append(
                ("mobile", {"network": network, "device": device, "num_servers": (2, 9)}, count["mobile"] // 3)
            )
    sources.append(
        (
            "random",
            {"num_blocks": (BLOCKS.start, BLOCKS.stop - 1), "num_servers": (SERVERS.start, SERVERS.stop - 1)},
            count["random"],
        )
    )
    return sources


def make_mixture(
    scale: float = 1.0, seed: int = 0, progress: bool = True, objective: Objective | None = None
) -> tuple[list[Bucket], Domain]:
    """Draw and label the training mixture (see the module docstring); returns the buckets
    (one per shape) and the domain they cover."""
    objective = objective or Objective("penalty", 1.0)
    sources = mixture_sources(scale)
    by_shape: dict[tuple[int, int], list] = {}
    batches: list[InstanceBatch] = []
    bar = Progress("label mixture", len(sources), enabled=progress)
    for index, (generator, params, count) in enumerate(sources):
        instances = training_instances(generator, seed * 1000 + index, 0, count, params)
        groups: dict[tuple[int, int], list] = {}
        for inst in instances:
            groups.setdefault(inst.shape, []).append(inst)
        for shape, group in groups.items():
            batch = InstanceBatch.stack(group)
            batches.append(batch)
            sol = solve_batch(batch, objective)
            keep = np.flatnonzero(sol.feasible)
            if keep.size:
                by_shape.setdefault(shape, []).append(
                    (encode_structured(batch).take(keep), sol.placements[keep], sol.values[keep])
                )
        bar.update(index + 1)
    buckets = [
        Bucket(
            _concat([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]).astype(np.int64),
            np.concatenate([p[2] for p in parts]),
        )
        for _, parts in sorted(by_shape.items())
    ]
    return buckets, Domain.of(batches, [s[0] for s in sources])


def _concat(parts: list[ChainFeatures]) -> ChainFeatures:
    return ChainFeatures(*(np.concatenate([getattr(p, k) for p in parts]) for k in CHAIN_INPUTS))


def save_mixture(path: str | Path, buckets: list[Bucket], domain: Domain) -> None:
    """Save a labelled mixture as one ``.npz`` (no pickles)."""
    arrays: dict[str, Any] = {"domain": np.array(repr(domain.to_dict()))}
    for i, b in enumerate(buckets):
        for k in CHAIN_INPUTS:
            arrays[f"b{i}_{k}"] = getattr(b.features, k)
        arrays[f"b{i}_labels"], arrays[f"b{i}_values"] = b.labels, b.values
    np.savez_compressed(path, **arrays)


def load_mixture(path: str | Path) -> tuple[list[Bucket], Domain]:
    """Reload a mixture saved by :func:`save_mixture` (checked: :func:`partopt.files.read_arrays`)."""
    from partopt.files import literal, read_arrays

    data = read_arrays(path, ("domain",))
    count = sum(1 for k in data if k.endswith("_labels"))
    names = [f"b{i}_{k}" for i in range(count) for k in (*CHAIN_INPUTS, "labels", "values")]
    missing = [n for n in names if n not in data]
    if missing:
        raise ValueError(f"training data: {path} has no {missing[0]!r} array; it was not written by partopt")
    buckets = [
        Bucket(ChainFeatures(*(data[f"b{i}_{k}"] for k in CHAIN_INPUTS)), data[f"b{i}_labels"], data[f"b{i}_values"])
        for i in range(count)
    ]
    return buckets, Domain.from_dict(literal(data["domain"], path, "domain"))


def _previous(labels: torch.Tensor) -> torch.Tensor:
    """Each block's previous location under ``labels`` (B, M): the device for block 0."""
    return torch.cat([torch.zeros_like(labels[:, :1]), labels[:, :-1]], dim=1)


def learning_rate(step: int, total: int, peak: float, warmup: float = 0.05) -> float:
    """Linear warm-up over the first ``warmup`` of the run, then cosine decay to 0 at ``total``
    steps; a resumed run with more epochs stretches the decay from where it is."""
    ramp = max(1, int(warmup * total))
    if step < ramp:
        return peak * (step + 1) / ramp
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - ramp) / max(1, total - ramp))))


def _minibatches(buckets: list[Bucket], size: int, rng: np.random.Generator) -> list[tuple[int, np.ndarray]]:
    """(bucket, rows) minibatches covering every bucket once, in a random order."""
    out = []
    for i, b in enumerate(buckets):
        order = rng.permutation(b.size)
        out += [(i, order[s : s + size]) for s in range(0, b.size, size)]
    return [out[j] for j in rng.permutation(len(out))]


def _loss(net: ChainNet, bucket: Bucket, rows: np.ndarray, value_weight: float) -> tuple[torch.Tensor, int, int]:
    """(loss, blocks right, blocks) on ``rows`` of ``bucket``."""
    labels = torch.from_numpy(bucket.labels[rows])
    logits, value = net(as_tensors(bucket.features.take(rows)), _previous(labels))
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
    target = torch.from_numpy(np.log10(np.maximum(bucket.values[rows], 1e-9))).float()
    loss = ce + value_weight * (value - target).pow(2).mean()
    right = int((logits.argmax(dim=-1) == labels).sum())
    return loss, right, labels.numel()


def _resumed(out: str | Path, net: ChainNet, opt: torch.optim.Optimizer) -> tuple[int, list[dict], int, float]:
    """Load the checkpoint at ``out`` into ``net`` and ``opt``: (optimizer steps, curve rows,
    epochs done, wall seconds so far)."""
    ckpt = read_checkpoint(out)
    net.load_state_dict(ckpt["state_dict"])
    record = ckpt["record"]
    if "optimizer" not in record:
        raise ValueError(f"checkpoint: {out} has no optimizer state (slimmed for shipping); it cannot resume")
    opt.load_state_dict(record["optimizer"])
    return int(record["steps"]), list(record["curve"]), int(record["epochs_done"]), float(record["wall_seconds"])


def train_shape_free(
    buckets: list[Bucket],
    domain: Domain,
    out: str | Path,
    *,
    width: int = 64,
    epochs: int = 12,
    batch: int = 256,
    lr: float = 2e-3,
    value_weight: float = 0.1,
    holdout: float = 0.02,
    seed: int = 0,
    resume: bool = False,
    max_seconds: float | None = None,
    curve: str | Path | None = None,
    progress: bool = True,
) -> ChainNet:
    """Train the shape-free policy on labelled ``buckets``; a checkpoint goes to ``out`` after
    every epoch (resumable with ``resume=True``); ``max_seconds`` stops after the epoch that
    passes it. Returns the network."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train, held = _held_out(buckets, holdout, rng)
    spec = {"kind": "chain", "width": width}
    net = build_net(spec)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    total_steps = epochs * sum(math.ceil(b.size / batch) for b in train)
    step = 0
    rows: list[dict] = []
    done, wall_before = 0, 0.0
    if resume and Path(out).exists():
        step, rows, done, wall_before = _resumed(out, net, opt)
        rng = np.random.default_rng([seed, done])
    start = time.perf_counter()
    bar = Progress(f"train {AGENT}", epochs, enabled=progress)
    bar.update(done)
    samples = sum(b.size for b in train)
    for epoch in range(done + 1, epochs + 1):
        total, step = _epoch(net, opt, train, batch, rng, value_weight, step, (total_steps, lr))
        wall = wall_before + time.perf_counter() - start
        rows.append(
            {
                "epoch": epoch,
                "train_loss": total / samples,
                "val_block_accuracy": _block_accuracy(net, held, value_weight),
                "seconds": wall,
            }
        )
        record = {
            "data": {"generators": list(domain.generators), "count": samples, "generator": "+".join(domain.generators)},
            "domain": domain.to_dict(),
            "structured_version": STRUCTURED_VERSION,
            "objective": {"kind": "penalty", "beta": 1.0},
            "epochs": epochs,
            "epochs_done": epoch,
            "batch": batch,
            "lr": lr,
            "seed": seed,
            "width": width,
            "parameters": count_parameters(net),
            "wall_seconds": wall,
            "final": rows[-1],
            "curve": rows,
            "optimizer": opt.state_dict(),
            "steps": step,
        }
        save_checkpoint(out, AGENT, net, spec, None, record)
        bar.update(
            epoch, f"epochs, loss {rows[-1]['train_loss']:.4f}, val block accuracy {rows[-1]['val_block_accuracy']:.4f}"
        )
        if max_seconds is not None and wall > max_seconds:
            break
    if curve:
        write_curve(curve, rows)
    return net


def _held_out(buckets: list[Bucket], holdout: float, rng: np.random.Generator) -> tuple[list[Bucket], list[Bucket]]:
    """Each bucket split at random into training and held-out samples (a ``holdout`` share, at
    least one, of every bucket of more than 10)."""
    split = [rng.permutation(b.size) for b in buckets]
    cut = [max(1, int(b.size * holdout)) if b.size > 10 else 0 for b in buckets]
    train = [Bucket(b.features.take(o[c:]), b.labels[o[c:]], b.values[o[c:]]) for b, o, c in zip(buckets, split, cut)]
    held = [
        Bucket(b.features.take(o[:c]), b.labels[o[:c]], b.values[o[:c]]) for b, o, c in zip(buckets, split, cut) if c
    ]
    return train, held


def _epoch(
    net, opt, train: list[Bucket], batch: int, rng, value_weight: float, step: int, schedule
) -> tuple[float, int]:
    """One pass over ``train`` in minibatches, the learning rate annealed by ``schedule`` (total
    steps, first rate): the summed loss and the step count after it."""
    total_steps, lr = schedule
    net.train()
    total = 0.0
    for i, idx in _minibatches(train, batch, rng):
        loss, _, _ = _loss(net, train[i], idx, value_weight)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, total_steps, lr)
        opt.step()
        step += 1
        total += loss.item() * len(idx)
    return total, step


def _block_accuracy(net, held: list[Bucket], value_weight: float) -> float:
    """The share of held-out blocks whose label the network ranks first."""
    net.eval()
    with torch.no_grad():
        right = blocks = 0
        for b in held:
            _, r, k = _loss(net, b, np.arange(b.size), value_weight)
            right, blocks = right + r, blocks + k
    return right / max(blocks, 1)


# ------------------------------------------------------------------------- asynchronous actor-critic fine-tuning
@dataclass
class FinetuneConfig:
    """Settings of the A3C fine-tuning of a trained shape-free policy: ``updates`` in all,
    each on ``batch`` training tasks of one source of the mixture (one shape), RMSProp at
    ``lr`` (annealed to 0), entropy bonus ``entropy``, critic weight ``value_weight``,
    ``workers`` processes (0: every usable core), checkpoints every ``checkpoint_every`` s."""

    updates: int = 2000
    batch: int = 128
    lr: float = 5e-5
    entropy: float = 0.001
    value_weight: float = 0.5
    workers: int = 0
    seed: int = 0
    max_seconds: float | None = None
    checkpoint_every: float = 30.0


#: Training seeds of the fine-tuning stream (below the suites' 1,000,000, apart from the mixture's).
FINETUNE_SEED = 500_000


def sample_placements(
    logits: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw placements block by block from all-moves logits (B, M, L, L): (placements (B, M),
    log-probability of each (B,), mean entropy of the block decisions (B,))."""
    bsz, m = logits.shape[:2]
    prev = torch.zeros(bsz, dtype=torch.long)
    rows = torch.arange(bsz)
    acts, logps, ents = [], [], []
    for b in range(m):
        log_p = torch.log_softmax(logits[rows, b, prev], dim=-1)
        a = torch.multinomial(log_p.exp(), 1, generator=generator).squeeze(1)
        acts.append(a)
        logps.append(log_p[rows, a])
        ents.append(-(log_p.exp() * log_p).sum(dim=-1))
        prev = a
    return torch.stack(acts, 1), torch.stack(logps, 1).sum(1), torch.stack(ents, 1).mean(1)


def _finetune_worker(cfg, index, shared, opt, spec, sources, started, counter, queue, stop):
    from partopt.chain.costs import along_batch, cost_tensors

    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed * 1000 + index)
    local = build_net(spec)
    rng = np.random.default_rng([cfg.seed, index])
    objective = Objective("penalty", 1.0)
    draw = 0
    while not stop.is_set():
        with counter.get_lock():
            if counter.value >= cfg.updates:
                break
            counter.value += 1
            update = counter.value
        generator, params, _ = sources[int(rng.integers(len(sources)))]
        instances = training_instances(
            generator, FINETUNE_SEED + cfg.seed * 100 + index, draw * cfg.batch, (draw + 1) * cfg.batch, params
        )
        draw += 1
        shapes: dict = {}
        for inst in instances:
            shapes.setdefault(inst.shape, []).append(inst)
        batch = InstanceBatch.stack(max(shapes.values(), key=len))
        local.load_state_dict(shared.state_dict())
        logits, value = local.move_logits(as_tensors(encode_structured(batch)))
        placements, log_prob, entropy = sample_placements(logits)
        costs = cost_tensors(batch)
        cost = objective.raw_cost(along_batch(costs.delay, placements.numpy()), batch.deadlines).sum(axis=1)
        log_cost = torch.from_numpy(np.log10(np.maximum(cost, 1e-9))).float()
        advantage = (value - log_cost).detach()  # reward -log10(cost) against the critic's -V
        if advantage.numel() > 1:
            advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
        loss = (
            -(log_prob * advantage).mean()
            - cfg.entropy * entropy.mean()
            + cfg.value_weight * (value - log_cost).pow(2).mean()
        )
        local.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(local.parameters(), 5.0)
        for shared_p, local_p in zip(shared.parameters(), local.parameters()):
            shared_p.grad = None if local_p.grad is None else local_p.grad.clone()
        fraction = update / cfg.updates
        if cfg.max_seconds:
            fraction = max(fraction, (time.time() - started) / cfg.max_seconds)
        opt.step(cfg.lr * max(0.0, 1.0 - fraction))
        queue.put({"update": update, "mean_log10_cost": float(log_cost.mean()), "source": generator})
    queue.put(None)


def finetune_shape_free(
    cfg: FinetuneConfig, start: str | Path, out: str | Path, *, progress: bool = True, curve: str | Path | None = None
) -> dict:
    """Fine-tune the shape-free policy in ``start`` by asynchronous advantage actor-critic (the
    paper's Algorithm 1 in spirit: Hogwild workers, a shared network and shared RMSProp
    statistics, actor loss with an entropy bonus plus a critic loss) on the mixture's
    sources, each worker drawing its own tasks of changing shapes. One slot is one task, so
    the return is the slot's reward -log10(L + psi) (scale-free across shapes) and the critic
    predicts its negation. Checkpoints go to ``out`` every ``checkpoint_every`` seconds and at
    the end; ``start`` may be ``out`` itself to continue. Returns the fine-tuning record."""
    from dataclasses import asdict

    from partopt.learned.a3c import SharedRMSprop
    from partopt.learned.runtime import run_workers, worker_count

    data = read_checkpoint(start)
    spec, record = data["spec"], dict(data["record"])
    if spec.get("kind") != "chain":
        raise ValueError(f"checkpoint: {start} does not hold a shape-free policy")
    shared = build_net(spec)
    shared.load_state_dict(data["state_dict"])
    shared.share_memory()
    opt = SharedRMSprop(shared.parameters(), cfg.lr, 0.99, 1e-10)
    before = dict(record.get("finetune", {}))
    done = int(before.get("updates", 0))
    sources = [s for s in mixture_sources() if s[0] != "random"]
    rows: list[dict] = list(before["rows"]) if isinstance(before.get("rows"), list) else []
    started, last_save = time.time(), time.time()
    bar = Progress(f"fine-tune {AGENT}", done + cfg.updates, enabled=progress)
    workers = worker_count(cfg.workers)

    finished = done

    def save() -> None:
        record["finetune"] = {
            "config": asdict(cfg),
            "updates": finished,
            "wall_seconds": float(before.get("wall_seconds", 0.0)) + time.time() - started,
            "rows": rows,
        }
        save_checkpoint(out, AGENT, shared, spec, None, record)

    def handle(row: Any) -> None:
        nonlocal last_save, finished
        finished += 1
        rows.append({**row, "update": done + row["update"], "seconds": time.time() - started})
        bar.update(done + row["update"], f"updates, mean log10 cost {row['mean_log10_cost']:.3f}")
        if time.time() - last_save > cfg.checkpoint_every:
            save()
            last_save = time.time()

    def out_of_time() -> bool:
        return cfg.max_seconds is not None and time.time() - started > cfg.max_seconds

    run_workers(
        _finetune_worker,
        lambda i, counter, queue, stop: (cfg, i, shared, opt, spec, sources, started, counter, queue, stop),
        workers,
        0,
        handle,
        out_of_time,
    )
    save()
    if curve:
        write_curve(curve, rows)
    return record["finetune"]
