"""Real DNN profiles and their blocks: CIFAR size (vgg16, alexnet, nin, resnet32 on
3x32x32) and ImageNet size (resnet18-224, resnet50-224, mobilenetv2-224, vgg16-224,
alexnet-224 on 3x224x224, torchvision's definitions).

A profile lists a network's *units*, the places between which the model can be
cut, with per-unit FLOPs, output tensor and parameter count, measured from PyTorch
module definitions by ``instances/profiles/make_profiles.py`` (into ``partopt/data/profiles``).
:meth:`DNNProfile.blocks`
merges consecutive units into M blocks.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from partopt.fields import InstanceError, InstanceTypeError, short
from partopt.files import load_json

__all__ = [
    "PROFILE_FORMAT",
    "PROFILE_FORMATS",
    "DNNProfile",
    "ProfileBlock",
    "Unit",
    "data_dir",
    "list_profiles",
    "load_profile",
    "profile_from_dict",
    "with_latency_table",
]

#: The format tag profiles are written with; :data:`PROFILE_FORMATS` are those read.
PROFILE_FORMAT = "partopt.profile/2"
PROFILE_FORMATS = ("partopt.profile/1", PROFILE_FORMAT)


def data_dir() -> Path:
    """The package's runtime data (profiles, suites, checkpoints): ``partopt/data``, found
    through :mod:`importlib.resources` so that an installed wheel finds it too;
    ``$PARTOPT_DATA`` points elsewhere (a folder with the same layout)."""
    env = os.environ.get("PARTOPT_DATA")
    return Path(env) if env else Path(str(resources.files("partopt") / "data"))


@dataclass(frozen=True)
class Unit:
    """One cuttable unit of a network: FLOPs, parameters and its output tensor (elements).

    The optional fields come from :func:`partopt.profile` (format ``partopt.profile/2``):
    ``counted_flops`` torch's flop counter, ``elementwise_flops`` the element-wise work counted
    apart (``flops`` is their sum), ``output_shape`` without the batch, ``output_bytes`` at the
    tensor's dtype, ``time_s`` the measured median time on the profiling machine (s), and
    ``branches`` whether the unit holds parallel branches a chain cannot place apart.
    """

    name: str
    kind: str
    stage: int
    macs: int
    flops: int
    params: int
    output_elements: int
    output_shape: tuple[int, ...] | None = None
    counted_flops: int | None = None
    elementwise_flops: int | None = None
    time_s: float | None = None
    branches: bool = False
    output_bytes: int | None = None


@dataclass(frozen=True)
class ProfileBlock:
    """A block made of consecutive units: FLOPs, input/weight sizes in bits, unit names."""

    name: str
    flops: float
    input_bits: float
    param_bits: float
    units: tuple[str, ...]
    time_s: float | None = None


@dataclass(frozen=True)
class DNNProfile:
    """A network's units, its published definition and its input size.

    From :func:`partopt.profile` also: ``input_shape`` (without the batch), ``cut_points`` found
    in the traced graph, and, when measured, the ``machine`` the times come from and the whole
    forward pass's time ``whole_time_s`` (s).
    """

    network: str
    definition: str
    input_elements: int
    bits_per_element: int
    total_params: int
    units: tuple[Unit, ...]
    input_shape: tuple[int, ...] | None = None
    cut_points: int | None = None
    machine: Any = field(default=None, compare=False, hash=False)
    whole_time_s: float | None = None

    @property
    def measured(self) -> bool:
        """Whether every unit carries a measured time."""
        return all(u.time_s is not None for u in self.units)

    @property
    def measured_ratio(self) -> float | None:
        """The units' measured times summed over the whole forward pass's time (None unmeasured)."""
        if not self.measured or not self.whole_time_s:
            return None
        return sum(u.time_s or 0.0 for u in self.units) / self.whole_time_s

    def largest_unit_share(self) -> float:
        """The share of the FLOPs in the largest unit: what no chain placement can split."""
        total = self.total_flops
        return max(u.flops for u in self.units) / total if total else 0.0

    def summary(self) -> str:
        """A few lines: units and cut points, FLOPs, parameters, the largest unit's share (and
        whether its work is in parallel branches), measured times against the whole pass."""
        big = max(self.units, key=lambda u: u.flops)
        lines = [
            f"{self.network}: {len(self.units)} units"
            + ("" if self.cut_points is None else f" ({self.cut_points} cut points)")
            + f", {self.total_flops / 1e9:.3g} GFLOPs, {self.total_params / 1e6:.3g} M parameters",
            f"largest unit {big.name} ({big.kind}): {100 * self.largest_unit_share():.1f}% of the FLOPs"
            + ("; its work is in parallel branches, which a chain places together" if big.branches else ""),
        ]
        if self.measured_ratio is not None:
            lines.append(
                f"measured: units sum to {sum(u.time_s or 0.0 for u in self.units) * 1e3:.3f} ms, "
                f"{self.measured_ratio:.2f}x the whole forward pass ({(self.whole_time_s or 0) * 1e3:.3f} ms)"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The ``partopt.profile/2`` form (JSON-ready)."""
        units = []
        for u in self.units:
            d = {
                "name": u.name,
                "kind": u.kind,
                "stage": u.stage,
                "macs": u.macs,
                "flops": u.flops,
                "params": u.params,
                "output_elements": u.output_elements,
            }
            for key in ("counted_flops", "elementwise_flops", "time_s", "output_bytes"):
                if getattr(u, key) is not None:
                    d[key] = getattr(u, key)
            if u.output_shape is not None:
                d["output_shape"] = list(u.output_shape)
            if u.branches:
                d["branches"] = True
            units.append(d)
        out: dict[str, Any] = {
            "format": PROFILE_FORMAT,
            "network": self.network,
            "definition": self.definition,
            "input_shape": list(self.input_shape or (self.input_elements,)),
            "bits_per_element": self.bits_per_element,
            "total_params": self.total_params,
        }
        for key in ("cut_points", "machine", "whole_time_s"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["units"] = units
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Write the profile as JSON (``partopt.profile/2``) and return its path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @property
    def natural_blocks(self) -> int:
        """The number of blocks at the network's own block boundaries (its stages)."""
        return len({u.stage for u in self.units})

    @property
    def total_flops(self) -> int:
        """FLOPs of one inference."""
        return sum(u.flops for u in self.units)

    def boundaries(self, num_blocks: int | None = None) -> list[tuple[int, int]]:
        """(first, last+1) unit index of each block.

        ``None`` gives the natural stage blocks; an integer M merges consecutive units
        into M blocks so that the largest block's FLOPs are as small as possible
        (an exact linear-partition DP; ties go to the earliest cut).
        """
        units = self.units
        if num_blocks is None:
            bounds, start = [], 0
            for i in range(1, len(units) + 1):
                if i == len(units) or units[i].stage != units[start].stage:
                    bounds.append((start, i))
                    start = i
            return bounds
        if isinstance(num_blocks, bool) or not isinstance(num_blocks, (int, np.integer)):
            raise TypeError(f"num_blocks: must be an int, got {num_blocks!r}")
        if not 1 <= num_blocks <= len(units):
            raise ValueError(
                f"num_blocks: {self.network} has {len(units)} units, so 1 <= num_blocks <= {len(units)}; "
                f"got {num_blocks}"
            )
        return _balanced_partition([u.flops for u in units], int(num_blocks))

    def blocks(self, num_blocks: int | None = None) -> list[ProfileBlock]:
        """The network as M blocks (natural stages when ``num_blocks`` is None); feature maps at fp32."""
        out = []
        for k, (lo, hi) in enumerate(self.boundaries(num_blocks)):
            in_elements = self.input_elements if lo == 0 else self.units[lo - 1].output_elements
            group = self.units[lo:hi]
            out.append(
                ProfileBlock(
                    name=group[0].name if len(group) == 1 else f"{group[0].name}-{group[-1].name}",
                    flops=float(sum(u.flops for u in group)),
                    input_bits=float(in_elements * self.bits_per_element),
                    param_bits=float(sum(u.params for u in group) * self.bits_per_element),
                    units=tuple(u.name for u in group),
                    time_s=sum(u.time_s or 0.0 for u in group) if self.measured else None,
                )
            )
        return out

    @property
    def output_bits(self) -> float:
        """Size of the network's output (bits)."""
        return float(self.units[-1].output_elements * self.bits_per_element)


def _balanced_partition(weights: list[float], parts: int) -> list[tuple[int, int]]:
    """Split ``weights`` into ``parts`` non-empty contiguous groups minimizing the largest sum."""
    n = len(weights)
    prefix = np.concatenate([[0.0], np.cumsum(weights)])
    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(parts + 1)]
    cut = [[0] * (n + 1) for _ in range(parts + 1)]
    best[0][0] = 0.0
    for k in range(1, parts + 1):
        for i in range(k, n - (parts - k) + 1):
            for j in range(k - 1, i):
                cost = max(best[k - 1][j], prefix[i] - prefix[j])
                if cost < best[k][i]:
                    best[k][i], cut[k][i] = cost, j
    bounds, i = [], n
    for k in range(parts, 0, -1):
        j = cut[k][i]
        bounds.append((j, i))
        i = j
    return bounds[::-1]


def list_profiles() -> list[str]:
    """Names of the profiles shipped under ``partopt/data/profiles``."""
    return sorted(p.stem for p in (data_dir() / "profiles").glob("*.json"))


def load_profile(network: str | os.PathLike | DNNProfile) -> DNNProfile:
    """Load a DNN profile: a shipped one by name, or a user's file (``partopt.profile/1`` or ``/2``).

    Parameters
    ----------
    network : str, path or DNNProfile
        A shipped profile: vgg16, alexnet, nin, resnet32 (3x32x32) or resnet18-224,
        resnet50-224, mobilenetv2-224, vgg16-224, alexnet-224 (3x224x224); ``partopt
        list`` shows them with their sources. Or the path of a profile file (e.g. written by
        ``partopt profile``), read as JSON and checked field by field; or a profile, returned.

    Returns
    -------
    DNNProfile
        The network's units (FLOPs, parameters, output sizes, measured times) and input size.
    """
    if isinstance(network, DNNProfile):
        return network
    text = os.fspath(network)
    if text.endswith(".json") or os.sep in text:
        path = Path(text)
        if not path.is_file():
            raise ValueError(f"network: no profile file {path}")
        stat = path.stat()
        return _load_file(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    return _load_shipped(text)


@lru_cache(maxsize=None)
def _load_shipped(network: str) -> DNNProfile:
    path = data_dir() / "profiles" / f"{network}.json"
    if not path.exists():
        raise ValueError(
            f"network: unknown profile {network!r}; available: {', '.join(list_profiles())}, "
            f"or the path of a profile file"
        )
    return _load_file(str(path), 0, 0)


@lru_cache(maxsize=64)
def _load_file(path: str, mtime_ns: int, size: int) -> DNNProfile:
    """A profile file read and checked (cached per path, modification time and size)."""
    try:
        return profile_from_dict(load_json(path))
    except (InstanceError, InstanceTypeError) as error:
        raise type(error)(error.field, f"{error.problem} (profile {path})") from None


_UNIT_COUNTS = ("stage", "macs", "flops", "params", "output_elements")


def _count(d, key: str, where: str) -> int:
    """A required integer >= 0 of a profile, the error naming ``where.key``."""
    if not isinstance(d, dict) or key not in d:
        raise InstanceError(f"{where}{key}", "is required")
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InstanceTypeError(f"{where}{key}", f"must be an integer, got {short(value)}")
    if value < 0:
        raise InstanceError(f"{where}{key}", f"must be >= 0, got {value}")
    return value


def _optional_number(d: dict, key: str, where: str, *, positive: bool = False) -> float | None:
    """An optional finite number >= 0 (> 0 with ``positive``) of a profile, named ``where.key``."""
    value = d.get(key)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (positive and value == 0)
    ):
        raise InstanceError(
            f"{where}{key}", f"must be a finite number {'> 0' if positive else '>= 0'}, got {short(value)}"
        )
    return float(value)


def _optional_fields(u: dict, where: str) -> dict[str, Any]:
    """The ``partopt.profile/2`` fields of one unit, checked."""
    out: dict[str, Any] = {}
    for key in ("counted_flops", "elementwise_flops", "output_bytes"):
        if key in u:
            out[key] = _count(u, key, where)
    out["time_s"] = _optional_number(u, "time_s", where, positive=True)
    shape = u.get("output_shape")
    if shape is not None:
        if not isinstance(shape, list) or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in shape):
            raise InstanceError(f"{where}output_shape", f"must be a list of integers >= 0, got {short(shape)}")
        out["output_shape"] = tuple(shape)
    if not isinstance(u.get("branches", False), bool):
        raise InstanceTypeError(f"{where}branches", f"must be true or false, got {short(u.get('branches'))}")
    out["branches"] = u.get("branches", False)
    return out


def profile_from_dict(data) -> DNNProfile:
    """A :class:`DNNProfile` from a ``partopt.profile/1`` or ``/2`` dict; a missing or negative field
    is refused naming it (``units[3].flops``)."""
    if not isinstance(data, dict) or data.get("format") not in PROFILE_FORMATS:
        raise InstanceError("format", f"must be one of {', '.join(repr(f) for f in PROFILE_FORMATS)}")
    for key in ("network", "definition"):
        if not isinstance(data.get(key), str):
            raise InstanceTypeError(key, f"must be a string, got {short(data.get(key))}")
    shape = data.get("input_shape")
    if (
        not isinstance(shape, list)
        or not shape
        or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in shape)
    ):
        raise InstanceError("input_shape", f"must be a list of positive integers, got {short(shape)}")
    raw = data.get("units")
    if not isinstance(raw, list) or not raw:
        raise InstanceError("units", "must be a non-empty list")
    if math.prod(shape) > 2**40:
        raise InstanceError("input_shape", f"has {math.prod(shape):.3g} elements, more than 2^40")
    units = []
    for i, u in enumerate(raw):
        counts: dict[str, Any] = {key: _count(u, key, f"units[{i}].") for key in _UNIT_COUNTS}
        if not isinstance(u.get("name"), str) or not isinstance(u.get("kind"), str):
            raise InstanceTypeError(f"units[{i}].name", "name and kind must be strings")
        units.append(Unit(name=u["name"], kind=u["kind"], **counts, **_optional_fields(u, f"units[{i}].")))
    machine = data.get("machine")
    if machine is not None and not isinstance(machine, dict):
        raise InstanceTypeError("machine", f"must be an object describing the machine, got {short(machine)}")
    cut_points = _count(data, "cut_points", "") if "cut_points" in data else None
    return DNNProfile(
        network=data["network"],
        definition=data["definition"],
        input_elements=math.prod(shape),
        bits_per_element=_count(data, "bits_per_element", ""),
        total_params=_count(data, "total_params", ""),
        units=tuple(units),
        input_shape=tuple(shape),
        cut_points=cut_points,
        machine=machine,
        whole_time_s=_optional_number(data, "whole_time_s", "", positive=True),
    )


def with_latency_table(profile: DNNProfile, path: str | os.PathLike) -> DNNProfile:
    """``profile`` with each unit's time (and output size) read from another profiler's table.

    The table is a CSV with a header: ``unit`` (the unit's name), ``latency_s`` (seconds, > 0)
    and, optionally, ``output_bytes``. Every unit must appear once; an unknown unit, a missing
    one, a repeated one or a time that is not a positive number is refused naming the file's
    line. A byte-order mark is accepted.
    """
    import csv

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"latency table: {path} is not a file")
    if path.stat().st_size > 16 * 2**20:
        raise ValueError(f"latency table: {path} is larger than 16 MiB")
    names = {u.name for u in profile.units}
    found: dict[str, tuple[float, int | None]] = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"unit", "latency_s"} <= set(reader.fieldnames):
            raise ValueError(
                f"{path}:1: the header must name the columns unit and latency_s (output_bytes "
                f"optional), got {reader.fieldnames}"
            )
        for line, row in enumerate(reader, start=2):
            unit = (row.get("unit") or "").strip()
            if unit not in names:
                raise ValueError(f"{path}:{line}: unit {unit!r} is not a unit of {profile.network}")
            if unit in found:
                raise ValueError(f"{path}:{line}: unit {unit!r} appears twice")
            try:
                seconds = float(row["latency_s"])
                out_bytes = int(row["output_bytes"]) if row.get("output_bytes") not in (None, "") else None
            except ValueError:
                raise ValueError(
                    f"{path}:{line}: latency_s must be a number of seconds (and output_bytes an "
                    f"integer), got {row.get('latency_s')!r}"
                ) from None
            if not (math.isfinite(seconds) and seconds > 0) or (out_bytes is not None and out_bytes < 0):
                raise ValueError(f"{path}:{line}: latency_s must be > 0 (got {seconds!r}) and output_bytes >= 0")
            found[unit] = (seconds, out_bytes)
    missing = [u.name for u in profile.units if u.name not in found]
    if missing:
        raise ValueError(f"{path}: units missing from the table: {', '.join(missing[:10])}")
    units = tuple(
        dataclasses.replace(
            u,
            time_s=found[u.name][0],
            output_bytes=found[u.name][1] if found[u.name][1] is not None else u.output_bytes,
        )
        for u in profile.units
    )
    return dataclasses.replace(profile, units=units, whole_time_s=None)
