"""Imitation of exact optima (the deep-imitation paper) and knowledge distillation.

- :func:`make_dataset` draws instances from a generator and labels each with its
  optimal placement by the batched DP (:func:`partopt.chain.solvers.dp.solve_batch`), in
  chunks; the set is saved as ``.npz`` and reloaded with :func:`load_dataset`.
- :func:`train_teacher`: placement as multi-label classification, one head per block
  over N+1 classes, an MLP (default 5 hidden layers of 256, as the paper), cross-entropy
  against the optimal labels, Adam with a cosine learning-rate schedule. The paper
  trains on 100,000 samples; labels are cheap here (300,000 in about a minute), and
  300,000 samples brought the held-out greedy latency on ``dil-v1`` from 1.017x to
  1.005x the optimum (``bench/results/imitation.md``).
- :func:`train_student`: a small MLP trained on the teacher's temperature-softened
  outputs. Softening: q = softmax(z / T) on the teacher's logits z, T = 5, i.e. q_i
  proportional to p_i^(1/T) (Hinton et al.'s form; the DIL paper's "slightly changed"
  formula is not printed in its text). Loss: T^2 KL(q || softmax(z_s / T)) averaged over
  the blocks, plus, with ``hard_weight`` = a > 0, the mix (1 - a) KL-term + a CE(z_s,
  argmax z) against the teacher's own decisions. Inputs: the first ``labels`` instances
  of a labelled set (1,000 in the paper's section 5.2) and, optionally, a ``transfer``
  set of unlabelled generated instances (no DP: only the teacher labels them, as in
  Hinton et al.'s transfer set), see :func:`unlabelled_features`.

Seeds: training data uses generator seeds below 1,000,000; suites use seeds above,
so suite instances are never seen in training.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from partopt.chain.costs import InstanceBatch
from partopt.chain.solvers.dp import solve_batch
from partopt.generation import training_instances
from partopt.learned.features import encode_batch
from partopt.learned.nets import MultiHeadNet, build_net, count_parameters, net_spec
from partopt.learned.policy import read_checkpoint, save_checkpoint
from partopt.learned.runtime import check_setting, write_curve
from partopt.objective import Objective
from partopt.progress import Progress

__all__ = [
    "TRANSFER_STUDENT",
    "Dataset",
    "load_dataset",
    "make_dataset",
    "train_student",
    "train_teacher",
    "unlabelled_features",
]


#: Student settings with a transfer set: 4 x 80, about 26,400 parameters for the DIL shape, 10.8x fewer than
#: the 5 x 256 teacher (3 x 96 and 2 x 128 of the same size reached 1.015x and 1.023x on dil-v1, 4 x 80 1.012x).
TRANSFER_STUDENT = {"hidden": (80, 80, 80, 80), "epochs": 80, "batch": 256}


@dataclass(frozen=True)
class Dataset:
    """Features (B, F) float32, optimal labels (B, M) int64 and optimal values (B,), for shape (M, N)."""

    features: np.ndarray
    labels: np.ndarray
    values: np.ndarray
    shape: tuple[int, int]
    generator: str
    params: dict

    def save(self, path: str | Path) -> None:
        """Save as a compressed ``.npz``."""
        np.savez_compressed(
            path,
            features=self.features,
            labels=self.labels,
            values=self.values,
            shape=np.array(self.shape),
            generator=self.generator,
            params=repr(self.params),
        )

    def split(self, holdout: float, seed: int = 0) -> tuple["Dataset", "Dataset"]:
        """(train, validation) by a seeded shuffle."""
        order = np.random.default_rng(seed).permutation(len(self.labels))
        cut = int(len(order) * (1 - holdout))
        take = lambda idx: Dataset(  # noqa: E731
            self.features[idx],
            self.labels[idx],
            self.values[idx],
            self.shape,
            self.generator,
            self.params,
        )
        return take(order[:cut]), take(order[cut:])


def load_dataset(path: str | Path) -> Dataset:
    """Reload a dataset saved by :meth:`Dataset.save` (checked: :func:`partopt.files.read_arrays`)."""
    from partopt.files import literal, read_arrays

    d = read_arrays(path, ("features", "labels", "values", "shape", "generator", "params"))
    shape = (int(d["shape"][0]), int(d["shape"][1]))
    return Dataset(
        d["features"], d["labels"], d["values"], shape, str(d["generator"]), literal(d["params"], path, "params")
    )


def _training_batches(generator: str, count: int, seed: int, params: dict | None, chunk: int):
    """Instances 0 .. count-1 of the training stream, as InstanceBatch chunks of ``chunk``."""
    for start in range(0, count, chunk):
        yield InstanceBatch.stack(training_instances(generator, seed, start, min(count, start + chunk), params))


def make_dataset(
    generator: str,
    count: int,
    seed: int = 0,
    params: dict | None = None,
    objective: Objective | None = None,
    chunk: int = 20_000,
    progress: bool = True,
) -> Dataset:
    """``count`` instances of ``generator`` labelled with their optimal placements."""
    objective = objective or Objective("penalty", 1.0)
    feats, labels, values, done = [], [], [], 0
    bar = Progress(f"label {generator}", count, enabled=progress)
    for batch in _training_batches(generator, count, seed, params, chunk):
        sol = solve_batch(batch, objective)
        keep = sol.feasible
        feats.append(encode_batch(batch)[keep])
        labels.append(sol.placements[keep])
        values.append(sol.values[keep])
        done += batch.size
        bar.update(done)
    return Dataset(
        np.concatenate(feats),
        np.concatenate(labels).astype(np.int64),
        np.concatenate(values),
        batch.shape,
        generator,
        dict(params or {}),
    )


def unlabelled_features(
    generator: str, count: int, seed: int, params: dict | None = None, chunk: int = 20_000
) -> np.ndarray:
    """Features (count, F) of ``count`` instances of ``generator``, without labels (no DP):
    a transfer set on which the teacher's outputs are distilled."""
    parts = [encode_batch(batch) for batch in _training_batches(generator, count, seed, params, chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def _batches(n: int, size: int, rng: np.random.Generator):
    order = rng.permutation(n)
    for start in range(0, n, size):
        yield order[start : start + size]


def _accuracy(net: MultiHeadNet, data: Dataset) -> tuple[float, float]:
    with torch.no_grad():
        logits, _ = net(torch.from_numpy(data.features))
        pred = logits.argmax(dim=-1).numpy()
    per_block = float((pred == data.labels).mean())
    exact = float((pred == data.labels).all(axis=1).mean())
    return per_block, exact


def train_teacher(
    data: Dataset,
    out: str | Path,
    *,
    hidden=(256,) * 5,
    epochs: int = 30,
    batch: int = 512,
    lr: float = 2e-3,
    holdout: float = 0.05,
    seed: int = 0,
    curve: str | Path | None = None,
    progress: bool = True,
    agent: str = "imitation",
    checkpoint_every: float = 60.0,
    resume: bool = False,
) -> MultiHeadNet:
    """Train the imitation teacher on ``data`` and save its checkpoint to ``out``: every
    ``checkpoint_every`` seconds (after the epoch that passes it) and at the end.

    ``resume=True`` continues the run whose checkpoint is at ``out`` from its last finished
    epoch (weights, curve and epoch count; the optimizer's moments start afresh)."""
    _check_run(epochs=epochs, batch=batch, lr=lr, checkpoint_every=checkpoint_every)
    torch.manual_seed(seed)
    _m, n = data.shape
    train, val = data.split(holdout, seed)
    spec = net_spec("multi-head", data.shape, hidden, critic=False)
    net = build_net(spec)
    done, rows = _resumed(out, agent, net, epochs) if resume else (0, [])
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    _fast_forward(sched, done)
    loss_fn = nn.CrossEntropyLoss()
    x_all, y_all = torch.from_numpy(train.features), torch.from_numpy(train.labels)
    rng = np.random.default_rng([seed, done])
    start = last_save = time.perf_counter()
    before = rows[-1]["seconds"] if rows else 0.0
    bar = Progress(f"train {agent}", epochs, enabled=progress)
    bar.update(done, "epochs")

    def record() -> dict:
        data_record = {"generator": data.generator, "params": data.params, "count": len(data.labels)}
        return _run_record(net, rows, data=data_record, epochs=epochs, batch=batch, lr=lr, seed=seed)

    for epoch in range(done + 1, epochs + 1):
        net.train()
        total = 0.0
        for idx in _batches(len(x_all), batch, rng):
            logits, _ = net(x_all[idx])
            loss = loss_fn(logits.reshape(-1, n + 1), y_all[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        net.eval()
        block_acc, exact = _accuracy(net, val)
        rows.append(
            {
                "epoch": epoch,
                "train_loss": total / len(x_all),
                "val_block_accuracy": block_acc,
                "val_exact_match": exact,
                "seconds": before + time.perf_counter() - start,
            }
        )
        bar.update(epoch, f"epochs, loss {rows[-1]['train_loss']:.4f}, val exact {exact:.3f}")
        if epoch < epochs and time.perf_counter() - last_save > checkpoint_every:
            save_checkpoint(out, agent, net, spec, data.shape, record())
            last_save = time.perf_counter()
    save_checkpoint(out, agent, net, spec, data.shape, record())
    if curve:
        write_curve(curve, rows)
    return net


def _fast_forward(sched, epochs: int) -> None:
    """Step a learning-rate schedule past the ``epochs`` a resumed run has done (torch warns that
    no optimizer step came first: none is due, the weights are the checkpoint's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(epochs):
            sched.step()


def _check_run(**settings) -> None:
    """Refuse a count (epochs, batch) that is not an int >= 1, or a rate or period that is not > 0."""
    for name, value in settings.items():
        check_setting(name, value, "int" if name in ("epochs", "batch") else "float")


def _run_record(net: nn.Module, rows: list[dict], **settings) -> dict:
    """A checkpoint's record after ``rows`` epochs: ``settings``, the curve (kept for resuming),
    the epochs done, the network's size, the training seconds and the last epoch's figures."""
    return {
        **settings,
        "epochs_done": rows[-1]["epoch"],
        "curve": rows,
        "parameters": count_parameters(net),
        "wall_seconds": rows[-1]["seconds"],
        "final": rows[-1],
    }


def _resumed(out: str | Path, agent: str, net: nn.Module, epochs: int) -> tuple[int, list[dict]]:
    """Load the run at ``out`` into ``net``: (epochs done, curve rows); refused naming the file
    when there is nothing to resume, another agent's checkpoint or network, or no epoch left."""
    path = Path(out)
    if not path.exists():
        raise FileNotFoundError(f"out: nothing to resume at {path}")
    data = read_checkpoint(path)
    record = data.get("record") or {}
    if data["agent"] != agent or not isinstance(record.get("curve"), list) or "epochs_done" not in record:
        raise ValueError(f"out: {path} is not a resumable {agent} run (an older or slimmed checkpoint?)")
    try:
        net.load_state_dict(data["state_dict"])
    except RuntimeError:
        raise ValueError(f"out: {path} holds another network than these settings build (hidden?)") from None
    done = int(record["epochs_done"])
    if done >= epochs:
        raise ValueError(f"epochs: the run at {path} has done {done} of {epochs} epochs; ask for more to resume it")
    return done, list(record["curve"])


def _teacher_labels(teacher: MultiHeadNet, x: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The teacher's soft labels at ``temperature`` and its hard ones (argmax) for inputs ``x``."""
    teacher.eval()
    with torch.no_grad():
        teacher_logits = teacher(x)[0]
        return torch.softmax(teacher_logits / temperature, dim=-1), teacher_logits.argmax(dim=-1)


def _distil_epoch(net, opt, x, labels, batch: int, rng, temperature: float, hard_weight: float) -> float:
    """One pass of distillation over ``x`` in minibatches: the KL divergence to the teacher's soft
    labels at ``temperature`` (per head, scaled by temperature^2), mixed with cross-entropy to its
    hard labels by ``hard_weight`` (``labels``: soft, hard). Returns the summed loss."""
    soft, hard = labels
    heads, choices = soft.shape[1], soft.shape[2]
    net.train()
    total = 0.0
    for idx in _batches(len(x), batch, rng):
        logits, _ = net(x[idx])
        log_q = torch.log_softmax(logits / temperature, dim=-1)
        loss = temperature**2 * torch.nn.functional.kl_div(log_q, soft[idx], reduction="batchmean") / heads
        if hard_weight:
            ce = torch.nn.functional.cross_entropy(logits.reshape(-1, choices), hard[idx].reshape(-1))
            loss = (1 - hard_weight) * loss + hard_weight * ce
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return total


def train_student(
    teacher: MultiHeadNet,
    data: Dataset,
    out: str | Path,
    *,
    labels: int = 1000,
    transfer: np.ndarray | None = None,
    hidden=(64, 64),
    temperature: float = 5.0,
    hard_weight: float = 0.0,
    epochs: int = 300,
    batch: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    curve: str | Path | None = None,
    progress: bool = True,
    validation: Dataset | None = None,
    checkpoint_every: float = 60.0,
    resume: bool = False,
) -> MultiHeadNet:
    """Distil ``teacher`` into a small student on the first ``labels`` inputs of ``data``
    and, if given, the unlabelled ``transfer`` features (see :func:`unlabelled_features`).
    Checkpoints and ``resume`` as in :func:`train_teacher`."""
    _check_run(epochs=epochs, batch=batch, lr=lr, checkpoint_every=checkpoint_every)
    torch.manual_seed(seed)
    inputs = data.features[:labels] if transfer is None else np.concatenate([data.features[:labels], transfer])
    x = torch.from_numpy(inputs)
    soft, hard = _teacher_labels(teacher, x, temperature)
    spec = net_spec("multi-head", data.shape, hidden, critic=False)
    net = build_net(spec)
    done, rows = _resumed(out, "distilled", net, epochs) if resume else (0, [])
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    _fast_forward(sched, done)
    rng = np.random.default_rng([seed, done])
    start = last_save = time.perf_counter()
    before = rows[-1]["seconds"] if rows else 0.0
    bar = Progress("train distilled", epochs, enabled=progress)
    bar.update(done, "epochs")

    def record() -> dict:
        data_record = {
            "generator": data.generator,
            "params": data.params,
            "labels": labels,
            "transfer": 0 if transfer is None else len(transfer),
        }
        return _run_record(
            net,
            rows,
            data=data_record,
            temperature=temperature,
            hard_weight=hard_weight,
            epochs=epochs,
            batch=batch,
            lr=lr,
            seed=seed,
            teacher_parameters=count_parameters(teacher),
        )

    for epoch in range(done + 1, epochs + 1):
        total = _distil_epoch(net, opt, x, (soft, hard), batch, rng, temperature, hard_weight)
        sched.step()
        row = {"epoch": epoch, "train_loss": total / len(x), "seconds": before + time.perf_counter() - start}
        if validation is not None and (epoch % 10 == 0 or epoch == epochs):
            net.eval()
            row["val_block_accuracy"], row["val_exact_match"] = _accuracy(net, validation)
        rows.append(row)
        bar.update(epoch, f"epochs, loss {row['train_loss']:.4f}")
        if epoch < epochs and time.perf_counter() - last_save > checkpoint_every:
            save_checkpoint(out, "distilled", net, spec, data.shape, record())
            last_save = time.perf_counter()
    save_checkpoint(out, "distilled", net, spec, data.shape, record())
    if curve:
        write_curve(curve, rows)
    return net
