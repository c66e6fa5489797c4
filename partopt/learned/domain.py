"""What a policy was trained on, and a check that an instance lies inside it.

A :class:`Domain` records the generators, the shapes (M, N) and, for every physical
quantity of an instance, the range (log10, SI units) seen in training. Checkpoints carry
theirs; :meth:`Domain.check` refuses a shape outside the trained ones (unless told to
allow it, then warns) and warns when a quantity lies more than :data:`MARGIN_DECADES`
outside its trained range, naming the quantity. NumPy only.
"""

from __future__ import annotations

import ast
import functools
import warnings
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from partopt.chain.costs import InstanceBatch

__all__ = ["MARGIN_DECADES", "QUANTITIES", "Domain", "OutsideDomainWarning", "training_domain"]

#: How far (decades) a quantity may lie outside its trained range before a warning: a finite training
#: sample misses the rare extremes of its own generator (DIL draws sizes near 0), while a policy used on
#: another generator is off by a decade or more (the paper's cycles, rates and output sizes against DIL's).
MARGIN_DECADES = 1.0

#: Instance quantities whose trained ranges are recorded: name -> InstanceBatch field.
QUANTITIES = (
    "cycles",
    "input_bits",
    "param_bits",
    "deadlines",
    "device_hz",
    "server_hz",
    "uplink_bps",
    "backhaul_bps",
    "output_bits",
    "tx_power_w",
)


class OutsideDomainWarning(UserWarning):
    """An instance lies outside the range a policy was trained on."""


def _log_range(values: np.ndarray) -> tuple[float, float] | None:
    finite = values[np.isfinite(values) & (values > 0)]
    if finite.size == 0:
        return None
    logs = np.log10(finite)
    return float(logs.min()), float(logs.max())


@dataclass(frozen=True)
class Domain:
    """Generators (names), block counts M and server counts N (sorted lists) and the log10
    range of each quantity a policy was trained on; ``budgets``: whether any instance had
    an energy budget."""

    generators: tuple[str, ...]
    blocks: tuple[int, ...]
    servers: tuple[int, ...]
    ranges: dict = field(default_factory=dict)
    budgets: bool = False

    @classmethod
    def of(cls, batches: Iterable[InstanceBatch], generators: Iterable[str]) -> "Domain":
        """The domain covered by ``batches`` drawn from ``generators``."""
        blocks: set[int] = set()
        servers: set[int] = set()
        ranges: dict[str, tuple[float, float]] = {}
        budgets = False
        for batch in batches:
            m, n = batch.shape
            blocks.add(m)
            servers.add(n)
            budgets |= bool(np.isfinite(batch.energy_budget_j).any())
            for name in QUANTITIES:
                got = _log_range(np.asarray(getattr(batch, name), dtype=float))
                if got is None:
                    continue
                lo, hi = ranges.get(name, got)
                ranges[name] = (min(lo, got[0]), max(hi, got[1]))
        return cls(tuple(sorted(set(generators))), tuple(sorted(blocks)), tuple(sorted(servers)), ranges, budgets)

    def to_dict(self) -> dict:
        """Plain data, for a checkpoint."""
        return {
            "generators": list(self.generators),
            "blocks": list(self.blocks),
            "servers": list(self.servers),
            "ranges": {k: [float(a), float(b)] for k, (a, b) in self.ranges.items()},
            "budgets": self.budgets,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Domain":
        """Inverse of :meth:`to_dict`; a ValueError names a malformed field."""
        try:
            ranges = {str(k): (float(v[0]), float(v[1])) for k, v in dict(data.get("ranges", {})).items()}
            return cls(
                tuple(str(g) for g in data["generators"]),
                tuple(int(m) for m in data["blocks"]),
                tuple(int(n) for n in data["servers"]),
                ranges,
                bool(data.get("budgets", False)),
            )
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise ValueError(f"domain: malformed ({type(error).__name__}: {error})") from None

    def describe(self) -> str:
        """One line: generators, M and N."""
        return f"generators {', '.join(self.generators)}; M in {_spans(self.blocks)}; N in {_spans(self.servers)}"

    def check(self, batch: InstanceBatch, who: str, allow_outside: bool = False) -> None:
        """Refuse (ValueError) a shape outside the trained ones unless ``allow_outside``
        (then warn); warn for each quantity outside its trained range by more than
        :data:`MARGIN_DECADES`."""
        m, n = batch.shape
        if m not in self.blocks or n not in self.servers:
            message = f"instance: shape (M, N) = ({m}, {n}) lies outside what {who} was trained on ({self.describe()})"
            if not allow_outside:
                raise ValueError(message + "; pass allow_outside=True to use it anyway")
            warnings.warn(message, OutsideDomainWarning, stacklevel=3)
        outside = []
        for name, (lo, hi) in self.ranges.items():
            got = _log_range(np.asarray(getattr(batch, name), dtype=float))
            if got is not None and (got[0] < lo - MARGIN_DECADES or got[1] > hi + MARGIN_DECADES):
                outside.append(f"{name} 10^[{got[0]:.1f}, {got[1]:.1f}] (trained 10^[{lo:.1f}, {hi:.1f}])")
        if bool(np.isfinite(batch.energy_budget_j).any()) and not self.budgets:
            outside.append("an energy budget (trained without)")
        if outside and not allow_outside:
            warnings.warn(
                f"instance: outside what {who} was trained on ({self.describe()}): "
                + "; ".join(outside)
                + ". Its placements may be far from optimal",
                OutsideDomainWarning,
                stacklevel=3,
            )


def _spans(values: tuple[int, ...]) -> str:
    """{2, 3, 4, 6} -> '2..4, 6'."""
    out: list[str] = []
    run: list[int] = []
    for v in values:
        if run and v != run[-1] + 1:
            out.append(f"{run[0]}..{run[-1]}" if len(run) > 1 else str(run[0]))
            run = []
        run.append(v)
    if run:
        out.append(f"{run[0]}..{run[-1]}" if len(run) > 1 else str(run[0]))
    return "{" + ", ".join(out) + "}"


@functools.lru_cache(maxsize=16)
def _training_domain(generator: str, params_repr: str, count: int) -> Domain:
    from partopt.generation import training_instances

    params = ast.literal_eval(params_repr)
    instances = training_instances(generator, 0, 0, count, params)
    groups: dict = {}
    for inst in instances:
        groups.setdefault(inst.shape, []).append(inst)
    return Domain.of([InstanceBatch.stack(g) for g in groups.values()], [generator])


def training_domain(generator: str, params: dict | None = None, count: int = 1000) -> Domain:
    """The domain of ``count`` training instances of ``generator`` with ``params``: what a
    policy trained on that stream has seen."""
    return _training_domain(generator, repr(dict(params or {})), count)
