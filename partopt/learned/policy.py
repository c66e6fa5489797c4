"""Trained policies as placement functions: checkpoints, decoding, the shipped set.

A checkpoint is a ``torch.save`` dict (format ``partopt.checkpoint/1``) holding the
network spec and weights, the instance shape (M, N) it was trained for, the feature
version and the training record. Shipped checkpoints live in
``partopt/data/checkpoints/<agent>-m<M>-n<N>.pt``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Sequence, cast

import numpy as np
import torch

from partopt.costs import InstanceBatch
from partopt.evaluation import Objective
from partopt.learned.features import FEATURE_VERSION, encode_batch
from partopt.learned.nets import JointNet, build_net, count_parameters
from partopt.model import Instance, short
from partopt.profiles import data_dir
from partopt.solvers.heuristics import best_placement
from partopt.solvers.local_search import polish as local_polish

__all__ = ["LearnedPolicy", "read_checkpoint", "save_checkpoint", "slim_checkpoint", "load_policy",
           "shipped_checkpoint", "checkpoints_dir", "describe_checkpoint"]

FORMAT = "partopt.checkpoint/1"


def checkpoints_dir() -> Path:
    """Where shipped checkpoints live."""
    return data_dir() / "checkpoints"


def save_checkpoint(path: str | os.PathLike, agent: str, net: torch.nn.Module, spec: dict,
                    shape: tuple[int, int], record: dict) -> None:
    """Write a checkpoint for ``agent`` (atomically: a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"format": FORMAT, "agent": agent, "spec": spec, "state_dict": net.state_dict(),
            "shape": list(shape), "feature_version": FEATURE_VERSION, "record": record}
    _replace(path, data)


def _replace(path: Path, data: dict) -> None:
    """torch.save ``data`` to ``path`` through a temporary file and a rename (never half-written)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(data, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint file safely: tensors and plain data only (``weights_only=True``, so
    nothing in the file can run code), checked for the fields a policy needs and for finite
    weights. Every failure is a ValueError naming the file.
    """
    path = Path(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint: {path} does not exist") from None
    except Exception as error:  # noqa: BLE001 - unpickling refusals, truncation, garbage: one clear message
        raise ValueError(f"checkpoint: {path} cannot be read as a partopt checkpoint "
                         f"({type(error).__name__}: {short(str(error))})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"checkpoint: {path} is not a partopt checkpoint (format {FORMAT!r} expected)")
    for key, kind in (("agent", str), ("spec", dict), ("state_dict", dict), ("shape", (list, tuple))):
        if not isinstance(data.get(key), kind):
            raise ValueError(f"checkpoint: {path} has no valid {key!r}")
    shape = data["shape"]
    if len(shape) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape):
        raise ValueError(f"checkpoint: {path} has an invalid shape {shape!r}")
    for name, tensor in data["state_dict"].items():
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(f"checkpoint: {path} weight {name!r} is not a tensor")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"checkpoint: {path} weight {name!r} holds NaN or infinite values")
    return data


def slim_checkpoint(path: str | os.PathLike) -> None:
    """Drop what only resuming needs (optimizer state, per-episode curve) from a checkpoint,
    keeping the weights and a summary of the run: for shipping. Such a file cannot be resumed."""
    path = Path(path)
    data = read_checkpoint(path)
    record = data.get("record", {})
    record.pop("optimizer", None)
    if isinstance(record.get("curve"), list):
        record["curve"] = len(record["curve"])  # only its length: the CSV keeps the curve
    record["slim"] = True
    _replace(path, data)


def shipped_checkpoint(agent: str, shape: tuple[int, int]) -> Path:
    """The shipped checkpoint of ``agent`` for instances of ``shape``, or a clear error."""
    m, n = shape
    path = checkpoints_dir() / f"{agent}-m{m}-n{n}.pt"
    if path.exists():
        return path
    have = sorted(p.name for p in checkpoints_dir().glob(f"{agent}-m*-n*.pt"))
    shapes = ", ".join(have) or "none"
    raise ValueError(f"checkpoint: no shipped {agent} checkpoint for M={m}, N={n} (shipped: {shapes}); "
                     f"train one with `partopt train {agent}` and pass checkpoint=PATH")


class LearnedPolicy:
    """A trained network as a placement function for instances of one shape (M, N)."""

    def __init__(self, checkpoint: dict, path: str | None = None):
        if checkpoint.get("format") != FORMAT:
            raise ValueError(f"checkpoint: not a partopt checkpoint ({path})")
        if checkpoint.get("feature_version") != FEATURE_VERSION:
            raise ValueError(f"checkpoint: feature version {checkpoint.get('feature_version')} != "
                             f"{FEATURE_VERSION}; retrain")
        self.agent = checkpoint["agent"]
        self.shape = tuple(checkpoint["shape"])
        self.spec = checkpoint["spec"]
        self.record = checkpoint.get("record", {})
        try:
            self.net = build_net(self.spec)
            self.net.load_state_dict(checkpoint["state_dict"])
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            raise ValueError(f"checkpoint: {path} weights do not match its network spec "
                             f"({str(error).splitlines()[0][:200]})") from None
        self.net.eval()
        self.path = path

    @property
    def generator(self) -> str | None:
        """The generator the policy was trained on, from its training record."""
        if "data" in self.record:
            return self.record["data"].get("generator")
        return self.record.get("config", {}).get("generator")

    @property
    def parameters(self) -> int:
        """Trainable parameters of the network."""
        return count_parameters(self.net)

    def _check(self, instances: Sequence[Instance]) -> None:
        for inst in instances:
            if inst.shape != self.shape:
                raise ValueError(f"instance: shape (M, N) = {inst.shape}, the {self.agent} checkpoint "
                                 f"{self.path or ''} is for {self.shape}")

    @torch.no_grad()
    def _logits(self, instances: Sequence[Instance], energy_fraction: float = 1.0) -> torch.Tensor:
        self._check(instances)
        return self.net(torch.from_numpy(encode_batch(InstanceBatch.stack(list(instances)), energy_fraction)))[0]

    def _marginals(self, logits: torch.Tensor) -> np.ndarray:
        if isinstance(self.net, JointNet):
            joint = torch.softmax(logits, dim=-1)
            idx = self.net.decode(torch.arange(joint.shape[1]))
            m, n = self.shape
            out = torch.zeros(len(logits), m, n + 1)
            for b in range(m):
                out[:, b, :] = torch.zeros(len(logits), n + 1).index_add_(1, idx[:, b], joint)
            return out.numpy()
        return torch.softmax(logits, dim=-1).numpy()

    def _argmax(self, logits: torch.Tensor) -> np.ndarray:
        if isinstance(self.net, JointNet):
            return self.net.decode(logits.argmax(dim=-1)).numpy()
        return logits.argmax(dim=-1).numpy()

    def greedy(self, instances: Sequence[Instance]) -> np.ndarray:
        """Greedy decoding of many instances at once, placements (B, M)."""
        return self._argmax(self._logits(instances))

    def place(self, instance: Instance, objective: Objective | None = None, samples: int = 1,
              seed: int | None = None, polish: bool = False, energy_fraction: float = 1.0) -> list[int]:
        """Greedy placement, or the best of ``samples`` (greedy plus samples-1 draws) by
        evaluate under ``objective``; ``polish`` runs local search on the result.
        ``energy_fraction``: the state's remaining energy E^r / E^max (1 for a full battery)."""
        objective = objective or Objective("penalty", 1.0)
        logits = self._logits([instance], energy_fraction)
        candidates = [self._argmax(logits)[0]]
        if samples > 1:
            rng = np.random.default_rng(0 if seed is None else seed)
            probs = self._marginals(logits)[0]
            cum = probs.cumsum(axis=1)
            u = rng.random((samples - 1, probs.shape[0], 1))
            candidates.extend((u > cum[None, :, :]).sum(axis=2).clip(0, probs.shape[1] - 1))
        best = best_placement(instance, objective, np.array(candidates))
        return local_polish(instance, objective, best) if polish else best

    def __call__(self, instance: Instance) -> list[int]:
        return self.place(instance)


def describe_checkpoint(path: str | os.PathLike) -> str:
    """One line: agent, shape, parameters and the training record of a checkpoint."""
    policy = load_policy(path, None, None)
    rec = policy.record
    parts = [f"`{Path(path).name}`: {policy.agent}, shape {policy.shape}, {policy.parameters:,} parameters"]
    if "episodes" in rec:
        parts.append(f"{rec['episodes']} episodes in {rec['wall_seconds']:.0f} s")
    if "data" in rec:
        count = rec["data"].get("count", rec["data"].get("labels"))
        transfer = rec["data"].get("transfer", 0)
        extra = f" + {transfer:,} unlabelled transfer inputs" if transfer else ""
        took = f" in {rec['wall_seconds']:.0f} s" if rec.get("wall_seconds") else ""
        parts.append(f"{count:,} {rec['data']['generator']} samples{extra}, {rec.get('epochs')} epochs{took}")
    return "; ".join(parts)


@functools.lru_cache(maxsize=32)
def _load(path: str, mtime: float) -> LearnedPolicy:
    return LearnedPolicy(read_checkpoint(path), path)


def load_policy(checkpoint: str | os.PathLike | None, agent: str | None,
                shape: tuple[int, int] | None) -> LearnedPolicy:
    """The policy in ``checkpoint`` (which must hold an ``agent`` policy unless agent is None),
    or the shipped one of ``agent`` for ``shape``."""
    if checkpoint is None and (agent is None or shape is None):
        raise ValueError("checkpoint: name a checkpoint file, or an agent and a shape for a shipped one")
    path = Path(checkpoint) if checkpoint is not None else shipped_checkpoint(str(agent), cast(tuple, shape))
    if not path.exists():
        raise FileNotFoundError(f"checkpoint: {path} does not exist")
    policy = _load(str(path.resolve()), path.stat().st_mtime)
    if checkpoint is not None and agent is not None and policy.agent != agent:
        raise ValueError(f"checkpoint: {path} holds a {policy.agent} policy, not {agent}")
    return policy
