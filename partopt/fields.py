"""Field validation shared by every problem kind: the errors that name a field, and the
checkers of numbers, names and keys that raise them.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from typing import Any, Mapping

import numpy as np

__all__ = [
    "InstanceError",
    "InstanceTypeError",
    "build_field",
    "check_keys",
    "drop_none",
    "name_field",
    "number_field",
    "prefixed",
    "short",
]


class InstanceError(ValueError):
    """A field of an instance or placement has a bad value.

    Parameters
    ----------
    field_name : str
        The field, as a path (e.g. ``blocks[2].cycles``); kept as ``field``.
    problem : str
        What is wrong with it.
    """

    def __init__(self, field_name: str, problem: str):
        self.field = field_name
        self.problem = problem
        super().__init__(f"{field_name}: {problem}" if field_name else problem)


class InstanceTypeError(TypeError):
    """A field of an instance or placement has the wrong type.

    Parameters
    ----------
    field_name : str
        The field, as a path; kept as ``field``.
    problem : str
        What is wrong with it.
    """

    def __init__(self, field_name: str, problem: str):
        self.field = field_name
        self.problem = problem
        super().__init__(f"{field_name}: {problem}" if field_name else problem)


def prefixed(error: InstanceError | InstanceTypeError, prefix: str):
    """The same error with ``prefix`` put before its field name."""
    name = f"{prefix}.{error.field}" if error.field else prefix
    return type(error)(name, error.problem)


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 6


def short(value: Any) -> str:
    """``repr(value)`` cut to a readable length (long lists and strings end in ...)."""
    return _SHORT.repr(value)


def number_field(
    value: Any, name: str, *, lower: str = "none", optional: bool = False, upper: float = math.inf
) -> float | None:
    """Check a real number: finite, ``> 0`` (lower="positive") or ``>= 0`` (lower="nonneg"), and at
    most ``upper``."""
    if value is None:
        if optional:
            return None
        raise InstanceError(name, "is required")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InstanceTypeError(name, f"must be a number, got {type(value).__name__} {short(value)}")
    try:
        value = float(value)
    except OverflowError:
        raise InstanceError(name, f"is too large for a float ({len(str(abs(int(value))))} digits)") from None
    if not math.isfinite(value):
        raise InstanceError(name, f"must be finite, got {value!r}")
    if lower == "positive" and value <= 0.0:
        raise InstanceError(name, f"must be > 0, got {value!r}")
    if lower == "nonneg" and value < 0.0:
        raise InstanceError(name, f"must be >= 0, got {value!r}")
    if value > upper:
        raise InstanceError(name, f"must be at most {upper:g}, got {value!r}")
    return value


def name_field(value: Any, name: str) -> str | None:
    """Check an optional label: None or a string."""
    if value is None or isinstance(value, str):
        return value
    raise InstanceTypeError(name, f"must be a string, got {type(value).__name__} {short(value)}")


def check_keys(d: Any, allowed: set[str], required: set[str], where: str) -> None:
    """Check that ``d`` is an object with only ``allowed`` keys and every ``required`` one."""
    if not isinstance(d, Mapping):
        raise InstanceTypeError(where, f"must be an object, got {type(d).__name__}")
    for key in d:
        if key not in allowed:
            raise InstanceError(f"{where}.{key}" if where else str(key), "unknown key")
    for key in sorted(required):
        if key not in d:
            raise InstanceError(f"{where}.{key}" if where else key, "is required")


def build_field(cls, d: Mapping, where: str):
    """``cls(**d)``, with a field error's name prefixed by ``where``."""
    try:
        return cls(**d)
    except (InstanceError, InstanceTypeError) as error:
        raise prefixed(error, where) from None


def drop_none(d: dict) -> dict:
    """``d`` without the keys whose value is None."""
    return {k: v for k, v in d.items() if v is not None}
