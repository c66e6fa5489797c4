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

import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from partopt.model import InstanceError, InstanceTypeError, load_json, short

__all__ = ["DNNProfile", "ProfileBlock", "Unit", "load_profile", "list_profiles", "data_dir", "profile_from_dict"]


def data_dir() -> Path:
    """The package's runtime data (profiles, suites, checkpoints): ``partopt/data``, found
    through :mod:`importlib.resources` so that an installed wheel finds it too;
    ``$PARTOPT_DATA`` points elsewhere (a folder with the same layout)."""
    env = os.environ.get("PARTOPT_DATA")
    return Path(env) if env else Path(str(resources.files("partopt") / "data"))


@dataclass(frozen=True)
class Unit:
    """One cuttable unit of a network: FLOPs, parameters and its output tensor (elements)."""

    name: str
    kind: str
    stage: int
    macs: int
    flops: int
    params: int
    output_elements: int


@dataclass(frozen=True)
class ProfileBlock:
    """A block made of consecutive units: FLOPs, input/weight sizes in bits, unit names."""

    name: str
    flops: float
    input_bits: float
    param_bits: float
    units: tuple[str, ...]


@dataclass(frozen=True)
class DNNProfile:
    """A network's units, its published definition and its input size."""

    network: str
    definition: str
    input_elements: int
    bits_per_element: int
    total_params: int
    units: tuple[Unit, ...]

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


@lru_cache(maxsize=None)
def load_profile(network: str) -> DNNProfile:
    """Load a shipped DNN profile.

    Parameters
    ----------
    network : str
        A shipped profile: vgg16, alexnet, nin, resnet32 (3x32x32) or resnet18-224,
        resnet50-224, mobilenetv2-224, vgg16-224, alexnet-224 (3x224x224); ``partopt
        list`` shows them with their sources.

    Returns
    -------
    DNNProfile
        The network's units (FLOPs, parameters, output sizes) and input size.
    """
    path = data_dir() / "profiles" / f"{network}.json"
    if not path.exists():
        raise ValueError(f"network: unknown profile {network!r}; available: {', '.join(list_profiles())}")
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


def profile_from_dict(data) -> DNNProfile:
    """A :class:`DNNProfile` from a ``partopt.profile/1`` dict; a missing or negative field is
    refused naming it (``units[3].flops``)."""
    if not isinstance(data, dict) or data.get("format") != "partopt.profile/1":
        raise InstanceError("format", "must be 'partopt.profile/1'")
    for key in ("network", "definition"):
        if not isinstance(data.get(key), str):
            raise InstanceTypeError(key, f"must be a string, got {short(data.get(key))}")
    shape = data.get("input_shape")
    if not isinstance(shape, list) or not shape or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0
                                                        for v in shape):
        raise InstanceError("input_shape", f"must be a list of positive integers, got {short(shape)}")
    raw = data.get("units")
    if not isinstance(raw, list) or not raw:
        raise InstanceError("units", "must be a non-empty list")
    units = []
    for i, u in enumerate(raw):
        counts = {key: _count(u, key, f"units[{i}].") for key in _UNIT_COUNTS}
        if not isinstance(u.get("name"), str) or not isinstance(u.get("kind"), str):
            raise InstanceTypeError(f"units[{i}].name", "name and kind must be strings")
        units.append(Unit(name=u["name"], kind=u["kind"], **counts))
    return DNNProfile(
        network=data["network"],
        definition=data["definition"],
        input_elements=int(np.prod(shape)),
        bits_per_element=_count(data, "bits_per_element", ""),
        total_params=_count(data, "total_params", ""),
        units=tuple(units),
    )
