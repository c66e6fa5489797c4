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
from typing import TYPE_CHECKING, Sequence, cast

import numpy as np
import torch

from partopt.chain.costs import InstanceBatch
from partopt.chain.solvers.heuristics import best_placement
from partopt.chain.solvers.local_search import polish as local_polish
from partopt.fields import short
from partopt.learned.domain import Domain, training_domain
from partopt.learned.features import FEATURE_VERSION, STRUCTURED_VERSION, encode_batch, encode_structured
from partopt.learned.nets import ChainNet, JointNet, as_tensors, build_net, check_weights_fit, count_parameters
from partopt.objective import Objective
from partopt.profiles import data_dir

if TYPE_CHECKING:
    from partopt.chain.model import Instance

__all__ = [
    "LearnedPolicy",
    "ShapeFreePolicy",
    "checkpoints_dir",
    "describe_checkpoint",
    "load_policy",
    "read_checkpoint",
    "save_checkpoint",
    "shipped_checkpoint",
    "slim_checkpoint",
    "with_domain",
]

FORMAT = "partopt.checkpoint/1"


def checkpoints_dir() -> Path:
    """Where shipped checkpoints live."""
    return data_dir() / "checkpoints"


def save_checkpoint(
    path: str | os.PathLike, agent: str, net: torch.nn.Module, spec: dict, shape: tuple[int, int] | None, record: dict
) -> None:
    """Write a checkpoint for ``agent`` (atomically: a temporary file, then a rename);
    ``shape`` None for a shape-free network."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "format": FORMAT,
        "agent": agent,
        "spec": spec,
        "state_dict": net.state_dict(),
        "shape": list(shape or ()),
        "feature_version": FEATURE_VERSION,
        "record": with_domain(record),
    }
    _replace(path, data)


def with_domain(record: dict) -> dict:
    """``record`` with the training domain of a fixed-shape policy filled in from the generator
    and parameters its record names (unchanged when it has a domain or names no generator)."""
    if "domain" in record:
        return record
    if isinstance(record.get("data"), dict) and "generator" in record["data"]:
        source = record["data"]["generator"], record["data"].get("params")
    elif isinstance(record.get("config"), dict) and "generator" in record["config"]:
        source = record["config"]["generator"], record["config"].get("generator_params")
    else:
        return record
    return {**record, "domain": training_domain(source[0], dict(source[1] or {})).to_dict()}


def _replace(path: Path, data: dict) -> None:
    """torch.save ``data`` to ``path`` through a temporary file and a rename (never half-written)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(data, tmp)
    os.replace(tmp, path)


#: The largest checkpoint file read (bytes).
MAX_CHECKPOINT_BYTES = 1024 * 2**20


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint file safely: tensors and plain data only (``weights_only=True``, so
    nothing in the file can run code), checked for the fields a policy needs, for weights whose
    names and shapes are the ones its network spec declares (before the network is built) and
    for finite weights. Every failure is a ValueError naming the file.
    """
    path = Path(path)
    data = _load_checkpoint_file(path)
    for key, kind in (("agent", str), ("spec", dict), ("state_dict", dict), ("shape", (list, tuple))):
        if not isinstance(data.get(key), kind):
            raise ValueError(f"checkpoint: {path} has no valid {key!r}")
    _check_shape_field(path, data)
    _check_weights(path, data)
    return data


def _load_checkpoint_file(path: Path) -> dict:
    """The file's content, a regular file under :data:`MAX_CHECKPOINT_BYTES`, in partopt's format."""
    if path.exists() and not path.is_file():
        raise ValueError(f"checkpoint: {path} is not a regular file")
    if path.exists() and path.stat().st_size > MAX_CHECKPOINT_BYTES:
        raise ValueError(f"checkpoint: {path} is larger than {MAX_CHECKPOINT_BYTES // 2**20} MiB")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint: {path} does not exist") from None
    except Exception as error:  # noqa: BLE001 - unpickling refusals, truncation, garbage: one clear message
        raise ValueError(
            f"checkpoint: {path} cannot be read as a partopt checkpoint ({type(error).__name__}: {short(str(error))})"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"checkpoint: {path} is not a partopt checkpoint (format {FORMAT!r} expected)")
    return data


def _check_shape_field(path: Path, data: dict) -> None:
    """The ``shape`` field fits the network's kind (none for the shape-free and dispatch ones)."""
    shape = data["shape"]
    if data["spec"].get("kind") == "dispatch":
        if shape:
            raise ValueError(f"checkpoint: {path} holds a dispatch network but names a shape {shape!r}")
    elif data["spec"].get("kind") == "chain":
        if shape:
            raise ValueError(f"checkpoint: {path} holds a shape-free network but names a shape {shape!r}")
        try:
            Domain.from_dict(data.get("record", {}).get("domain", {}))
        except (ValueError, AttributeError) as error:
            raise ValueError(f"checkpoint: {path} has no valid training domain ({error})") from None
    elif len(shape) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape):
        raise ValueError(f"checkpoint: {path} has an invalid shape {shape!r}")


def _check_weights(path: Path, data: dict) -> None:
    """Every weight a tensor of the shape the spec declares (checked on the meta device), finite."""
    for name, tensor in data["state_dict"].items():
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(f"checkpoint: {path} weight {name!r} is not a tensor")
    if data["spec"].get("kind") != "dispatch":
        try:
            check_weights_fit(data["spec"], data["state_dict"])
        except ValueError as error:
            raise ValueError(f"checkpoint: {path}: {error}") from None
    for name, tensor in data["state_dict"].items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"checkpoint: {path} weight {name!r} holds NaN or infinite values")


def slim_checkpoint(path: str | os.PathLike) -> None:
    """Drop what only resuming needs (optimizer state, per-episode curve) from a checkpoint,
    keeping the weights and a summary of the run, and record its training domain if it has
    none: for shipping. Such a file cannot be resumed."""
    path = Path(path)
    data = read_checkpoint(path)
    record = data["record"] = with_domain(data.get("record", {}))
    record.pop("optimizer", None)
    if isinstance(record.get("curve"), list):
        record["curve"] = len(record["curve"])  # only its length: the CSV keeps the curve
    if isinstance(record.get("finetune"), dict) and isinstance(record["finetune"].get("rows"), list):
        record["finetune"]["rows"] = len(record["finetune"]["rows"])
    record["slim"] = True
    _replace(path, data)


def shipped_checkpoint(agent: str, shape: tuple[int, int]) -> Path:
    """The shipped checkpoint of ``agent`` for instances of ``shape``, or a clear error.
    A shape-free agent has one checkpoint, ``<agent>.pt``, for every shape."""
    single = checkpoints_dir() / f"{agent}.pt"
    if single.exists():
        return single
    m, n = shape
    path = checkpoints_dir() / f"{agent}-m{m}-n{n}.pt"
    if path.exists():
        return path
    have = sorted(p.name for p in checkpoints_dir().glob(f"{agent}-m*-n*.pt"))
    shapes = ", ".join(have) or "none"
    raise ValueError(
        f"checkpoint: no shipped {agent} checkpoint for M={m}, N={n} (shipped: {shapes}); "
        f"train one with `partopt train {agent}` and pass checkpoint=PATH"
    )


#: The most placements a policy samples for one instance (each a forward pass's worth of memory).
MAX_SAMPLES = 100_000


class LearnedPolicy:
    """A trained network as a placement function for instances of one shape (M, N)."""

    def __init__(self, checkpoint: dict, path: str | None = None):
        if checkpoint.get("format") != FORMAT:
            raise ValueError(f"checkpoint: not a partopt checkpoint ({path})")
        if checkpoint.get("feature_version") != FEATURE_VERSION:
            raise ValueError(
                f"checkpoint: feature version {checkpoint.get('feature_version')} != {FEATURE_VERSION}; retrain"
            )
        self.agent = checkpoint["agent"]
        self.shape = tuple(checkpoint["shape"])
        self.spec = checkpoint["spec"]
        self.record = checkpoint.get("record", {})
        try:
            self.net = build_net(self.spec)
            self.net.load_state_dict(checkpoint["state_dict"])
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            raise ValueError(
                f"checkpoint: {path} weights do not match its network spec ({str(error).splitlines()[0][:200]})"
            ) from None
        self.net.eval()
        self.path = path
        domain = self.record.get("domain")
        self.domain = Domain.from_dict(domain) if isinstance(domain, dict) else None

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

    @property
    def who(self) -> str:
        """How errors name this policy."""
        return f"the {self.agent} checkpoint {self.path or ''}".rstrip()

    def _checked(self, instances: Sequence[Instance], allow_outside: bool = False) -> InstanceBatch:
        """``instances`` stacked, once their shape and domain are checked."""
        for inst in instances:
            if inst.shape != self.shape:
                raise ValueError(f"instance: shape (M, N) = {inst.shape}, {self.who} is for {self.shape}")
        batch = InstanceBatch.stack(list(instances))
        if self.domain is not None:
            self.domain.check(batch, self.who, allow_outside)
        return batch

    @torch.no_grad()
    def _logits(
        self, instances: Sequence[Instance], energy_fraction: float = 1.0, allow_outside: bool = False
    ) -> torch.Tensor:
        batch = self._checked(instances, allow_outside)
        return self.net(torch.from_numpy(encode_batch(batch, energy_fraction)))[0]

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

    def candidates(
        self,
        instance: Instance,
        samples: int = 1,
        seed: int | None = None,
        energy_fraction: float = 1.0,
        allow_outside: bool = False,
    ) -> np.ndarray:
        """The greedy placement and samples-1 sampled ones, (samples, M)."""
        if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
            raise ValueError(f"samples: must be an int in [1, {MAX_SAMPLES:,}], got {samples!r}")
        logits = self._logits([instance], energy_fraction, allow_outside)
        candidates = [self._argmax(logits)[0]]
        if samples > 1:
            rng = np.random.default_rng(0 if seed is None else seed)
            probs = self._marginals(logits)[0]
            cum = probs.cumsum(axis=1)
            u = rng.random((samples - 1, probs.shape[0], 1))
            candidates.extend((u > cum[None, :, :]).sum(axis=2).clip(0, probs.shape[1] - 1))
        return np.array(candidates)

    def place(
        self,
        instance: Instance,
        objective: Objective | None = None,
        samples: int = 1,
        seed: int | None = None,
        polish: bool = False,
        energy_fraction: float = 1.0,
        allow_outside: bool = False,
    ) -> list[int]:
        """Greedy placement, or the best of ``samples`` (greedy plus samples-1 draws) by
        evaluate under ``objective``; ``polish`` runs local search on the result.
        ``energy_fraction``: the state's remaining energy E^r / E^max (1 for a full battery).
        ``allow_outside``: use the policy on shapes it was not trained on (with a warning),
        and do not warn about quantities outside its training range."""
        objective = objective or Objective("penalty", 1.0)
        candidates = self.candidates(instance, samples, seed, energy_fraction, allow_outside)
        best = best_placement(instance, objective, candidates)
        return local_polish(instance, objective, best) if polish else best

    def __call__(self, instance: Instance) -> list[int]:
        return self.place(instance)


class ShapeFreePolicy(LearnedPolicy):
    """A :class:`~partopt.learned.nets.ChainNet` as a placement function for instances of any
    shape inside its training domain; decodes block by block, each block's location given
    the previous block's."""

    def __init__(self, checkpoint: dict, path: str | None = None):
        super().__init__(checkpoint, path)
        if self.record.get("structured_version") != STRUCTURED_VERSION:
            raise ValueError(
                f"checkpoint: {path} structured feature version "
                f"{self.record.get('structured_version')} != {STRUCTURED_VERSION}; retrain"
            )
        if self.domain is None:
            raise ValueError(f"checkpoint: {path} has no training domain")
        self.shape = None  # type: ignore[assignment]

    def _checked(self, instances: Sequence[Instance], allow_outside: bool = False) -> InstanceBatch:
        batch = InstanceBatch.stack(list(instances))
        cast("Domain", self.domain).check(batch, self.who, allow_outside)
        return batch

    @torch.no_grad()
    def decode(
        self,
        instances: Sequence[Instance],
        samples: int = 1,
        seed: int | None = None,
        energy_fraction: float = 1.0,
        allow_outside: bool = False,
    ) -> np.ndarray:
        """Placements (B, samples, M): the greedy one first, then samples-1 drawn block by block."""
        batch = self._checked(instances, allow_outside)
        logits = cast("ChainNet", self.net).move_logits(as_tensors(encode_structured(batch, energy_fraction)))[0]
        bsz, m = logits.shape[:2]
        rng = np.random.default_rng(0 if seed is None else seed)
        prev = np.zeros((bsz, samples), dtype=np.int64)
        out = np.zeros((bsz, samples, m), dtype=np.int64)
        rows = np.arange(bsz)[:, None]
        table = logits.numpy()
        for b in range(m):
            step = table[rows, b, prev]  # (B, S, L)
            choice = step.argmax(axis=2)
            if samples > 1:
                p = np.exp(step - step.max(axis=2, keepdims=True))
                cum = (p / p.sum(axis=2, keepdims=True)).cumsum(axis=2)
                drawn = (rng.random((bsz, samples, 1)) > cum).sum(axis=2).clip(0, step.shape[2] - 1)
                choice[:, 1:] = drawn[:, 1:]
            out[:, :, b] = prev = choice
        return out

    def greedy(self, instances: Sequence[Instance]) -> np.ndarray:
        """Greedy decoding of many instances of one shape at once, placements (B, M)."""
        return self.decode(instances)[:, 0]

    def candidates(
        self,
        instance: Instance,
        samples: int = 1,
        seed: int | None = None,
        energy_fraction: float = 1.0,
        allow_outside: bool = False,
    ) -> np.ndarray:
        return self.decode([instance], samples, seed, energy_fraction, allow_outside)[0]


def describe_checkpoint(path: str | os.PathLike) -> str:
    """One line: agent, shape, parameters and the training record of a checkpoint."""
    policy = load_policy(path, None, None)
    rec = policy.record
    shape = f"shape {policy.shape}" if policy.shape else cast("Domain", policy.domain).describe()
    parts = [f"`{Path(path).name}`: {policy.agent}, {shape}, {policy.parameters:,} parameters"]
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
def _load(path: str, identity: tuple) -> LearnedPolicy:
    """The policy of the file at ``path``, cached per file ``identity`` (device, inode, size and
    modification time: a file replaced or rewritten in place is read again)."""
    data = read_checkpoint(path)
    return (ShapeFreePolicy if data["spec"].get("kind") == "chain" else LearnedPolicy)(data, path)


def load_policy(
    checkpoint: str | os.PathLike | None, agent: str | None, shape: tuple[int, int] | None
) -> LearnedPolicy:
    """The policy in ``checkpoint`` (which must hold an ``agent`` policy unless agent is None),
    or the shipped one of ``agent`` for ``shape``."""
    if checkpoint is None and (agent is None or shape is None):
        raise ValueError("checkpoint: name a checkpoint file, or an agent and a shape for a shipped one")
    path = Path(checkpoint) if checkpoint is not None else shipped_checkpoint(str(agent), cast("tuple", shape))
    if not path.exists():
        raise FileNotFoundError(f"checkpoint: {path} does not exist")
    info = path.stat()
    policy = _load(str(path.resolve()), (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns))
    if checkpoint is not None and agent is not None and policy.agent != agent:
        raise ValueError(f"checkpoint: {path} holds a {policy.agent} policy, not {agent}")
    return policy
