"""Seeded instance generators: the :class:`Generator` base, the catalogue and :func:`generate`.

The generators themselves live with their problem kind (``partopt.chain.generators``:
``paper``, ``dil``, ``random``, ``mobile``; ``partopt.shared.generators``: ``shared``;
``partopt.horizon.generators``: ``horizon``).

Each generator is a frozen dataclass of its parameters; ``gen.generate(seed)``
gives one problem and ``gen.generate_many(n, seed)`` a
list, instance i drawn from ``numpy.random.default_rng([seed, i])`` so that any
prefix of a suite is the same whatever its length. Arguments may use the papers'
units (MB/s, GHz) where their names say so; instances store SI units only.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, cast

import numpy as np

from partopt.names import did_you_mean
from partopt.problem import load_target

__all__ = [
    "GENERATORS",
    "HELD_OUT_SEED",
    "MAX_SLOTS",
    "MAX_TASKS",
    "Generator",
    "check_positive_params",
    "draw",
    "draw_int",
    "generate",
    "get_generator",
    "training_instances",
    "value_range",
]


def value_range(value: Any, name: str) -> tuple[float, float]:
    """A fixed value or a (low, high) pair, checked (booleans are not numbers here)."""
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, (tuple, list)) and any(isinstance(v, (bool, np.bool_)) for v in value)
    ):
        raise ValueError(f"{name}: need a number or a (low, high) pair, got {value!r}")
    try:
        lo, hi = (
            (float(value), float(value))
            if isinstance(value, (int, float, np.number))
            else (float(value[0]), float(value[1]))
        )
        if len(np.atleast_1d(value)) > 2:
            raise ValueError
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"{name}: need a number or a (low, high) pair, got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"{name}: need a number or a (low, high) pair with low <= high, got {value!r}")
    return lo, hi


def draw(rng: np.random.Generator, value, name: str, size=None):
    """A uniform draw from ``value`` (a number, or a (low, high) pair), ``size`` of them if given."""
    lo, hi = value_range(value, name)
    return rng.uniform(lo, hi, size=size) if hi > lo else (np.full(size, lo) if size else lo)


def draw_int(rng: np.random.Generator, value, name: str) -> int:
    """A uniform integer draw from ``value`` (a positive int, or a (low, high) pair of them)."""
    lo, hi = value_range(value, name)
    if lo != int(lo) or hi != int(hi) or lo < 1:
        raise ValueError(f"{name}: need a positive int or a (low, high) pair of them, got {value!r}")
    return int(rng.integers(int(lo), int(hi) + 1))


#: Parameter name endings that are rates, clocks, powers or bandwidths: every value (both
#: ends of a range) must be > 0, checked before anything is drawn so that the error names the
#: parameter given (rate_MBps), not a field derived from it (uplink_bps).
_POSITIVE_SUFFIXES = ("_GHz", "_MHz", "_hz", "_MBps", "_Mbps", "_mbps", "_bps", "_w", "_per_flop", "release_rate")


def check_positive_params(generator) -> None:
    """Refuse a rate, clock, power or bandwidth parameter of ``generator`` that is not > 0."""
    for f_ in dataclasses.fields(generator):
        if not f_.name.endswith(_POSITIVE_SUFFIXES):
            continue
        value = getattr(generator, f_.name)
        if value is None:
            continue
        values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        numbers = all(
            not isinstance(v, (bool, np.bool_)) and isinstance(v, (int, float, np.number)) and math.isfinite(v)
            for v in values
        )
        # one value > 0, or a (low, high) draw with low >= 0 and high > 0 (a draw of exactly 0 has no chance)
        if not numbers or values[-1] <= 0 or values[0] < 0:
            raise ValueError(f"{f_.name}: must be > 0 (or a (low, high) pair with 0 <= low, 0 < high), got {value!r}")


#: The most tasks a generated scenario may hold and slots a generated horizon (overridable: set
#: ``partopt.generation.MAX_TASKS`` / ``MAX_SLOTS``); beyond, drawing takes minutes and gigabytes.
MAX_TASKS = 100_000
MAX_SLOTS = 100_000

#: Seeds from here on are kept for benchmark suites; training data draws below it.
HELD_OUT_SEED = 1_000_000


class Generator:
    """What every generator shares: seeding, naming and many-instance draws. A subclass is a
    frozen dataclass of its parameters with a ``sample(rng)`` method."""

    name = "generator"

    def sample(self, rng: np.random.Generator) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def generate(self, seed: int = 0, index: int = 0) -> Any:
        """Instance ``index`` of the stream with seed ``seed`` (deterministic)."""
        for field, value in (("seed", seed), ("index", index)):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{field}: must be an int >= 0, got {value!r}")
        check_positive_params(self)
        inst = self.sample(np.random.default_rng([int(seed), int(index)]))
        return inst.replace(name=f"{self.name}-s{seed}-i{index}")

    def generate_many(self, count: int, seed: int = 0) -> list:
        """Instances 0 .. count-1 of the stream with seed ``seed``."""
        return [self.generate(seed, i) for i in range(count)]

    def params(self) -> dict[str, Any]:
        """The generator's parameters as a dict."""
        return dataclasses.asdict(cast("Any", self))


#: generator name -> its class, as "module:class" (imported on first use).
GENERATORS: dict[str, str] = {
    "paper": "partopt.chain.generators:PaperGenerator",
    "dil": "partopt.chain.generators:DILGenerator",
    "random": "partopt.chain.generators:RandomGenerator",
    "mobile": "partopt.chain.generators:MobileGenerator",
    "shared": "partopt.shared.generators:SharedEdgeGenerator",
    "horizon": "partopt.horizon.generators:HorizonGenerator",
    "stream": "partopt.stream.generators:StreamGenerator",
}


def get_generator(name: str, **params) -> Generator:
    """The generator called ``name``, configured with ``params``.

    Parameters
    ----------
    name : {"paper", "dil", "random", "mobile", "shared", "horizon"}
        The generator (``partopt list``); an unknown name gets a suggestion.
    **params
        Fields of the generator's class, e.g. ``num_servers=6``.

    Returns
    -------
    Generator
        Its ``generate(seed)`` and ``generate_many(count, seed)`` draw instances.
    """
    if name not in GENERATORS:
        raise ValueError(
            f"generator: unknown name {name!r}; available: {', '.join(GENERATORS)}." + did_you_mean(name, GENERATORS)
        )
    cls = load_target(GENERATORS[name])
    known = {f.name for f in dataclasses.fields(cast("Any", cls))}
    for key in params:
        if key not in known:
            raise ValueError(f"{key}: not a parameter of generator {name!r}." + did_you_mean(key, known))
    return cls(**params)


def generate(name: str, seed: int = 0, **params):
    """One instance drawn from a named generator.

    Parameters
    ----------
    name : {"paper", "dil", "random", "mobile", "shared", "horizon"}
        The generator; "shared" draws a shared-edge :class:`~partopt.shared.model.Scenario`.
    seed : int
        Stream seed: the same seed gives the same instance.
    **params
        The generator's parameters (fields of its class, e.g. ``num_servers=6`` or
        ``num_tasks=16, release_rate=90``).

    Returns
    -------
    Instance, Scenario, Horizon or Stream

    Raises
    ------
    ValueError
        An unknown generator or parameter (with a "did you mean"), or a bad value.
    """
    return get_generator(name, **params).generate(seed)


def training_instances(generator: str, seed: int, start: int, stop: int, params: dict | None = None) -> list:
    """Instances start .. stop-1 of ``generator``'s stream with ``seed``, which must be a training
    seed (below :data:`HELD_OUT_SEED`, so that no suite instance is ever trained on)."""
    if seed >= HELD_OUT_SEED:
        raise ValueError(f"seed: training data uses seeds below {HELD_OUT_SEED:,} (suites use the seeds above)")
    gen = get_generator(generator, **(params or {}))
    return [gen.generate(seed, i) for i in range(start, stop)]
