"""Names from users: a "did you mean" for the ones that are not there, and KEY=VALUE settings."""

from __future__ import annotations

import difflib
import json
from typing import Any, Iterable

__all__ = ["did_you_mean", "key_values"]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """ " Did you mean 'x'?" for the closest of ``choices``, or "" when none is close."""
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _value(text: str) -> Any:
    """A setting's value: JSON (numbers, [low, high] lists as tuples, null, true) or the plain string."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return tuple(value) if isinstance(value, list) else value


def key_values(items: list[str] | None, what: str) -> dict[str, Any]:
    """``["a=1", "b-c=[2,3]"]`` as ``{"a": 1, "b_c": (2, 3)}``; ``what`` names the option in errors."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"{what}: expected KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip().replace("-", "_")] = _value(value)
    return out
