"""Reading and writing partopt's files, chosen by their ``format`` tag.

- ``partopt.instance/1``: one chain (:class:`~partopt.model.Instance`, model Part I);
- ``partopt.scenario/1``: the shared edge (:class:`~partopt.scenario.Scenario`, Part II);
- ``partopt.solution/1``: a placement per task and optional start times
  (:class:`~partopt.scenario.Solution`);
- ``partopt.horizon/1``: slots sharing a battery (:class:`~partopt.horizon.Horizon`, Part III).
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Union

from partopt.horizon import FORMAT as HORIZON_FORMAT
from partopt.horizon import Horizon
from partopt.model import FORMAT as INSTANCE_FORMAT
from partopt.model import Instance, InstanceError, dump_json, load_json, short
from partopt.scenario import FORMAT as SCENARIO_FORMAT
from partopt.scenario import SOLUTION_FORMAT, Scenario, Solution

__all__ = ["read", "write", "from_dict", "FORMATS"]

Problem = Union[Instance, Scenario, Solution, Horizon]

#: format tag -> the type it reads into.
FORMATS: dict[str, Any] = {INSTANCE_FORMAT: Instance, SCENARIO_FORMAT: Scenario, SOLUTION_FORMAT: Solution,
                           HORIZON_FORMAT: Horizon}


def from_dict(data: Mapping[str, Any]) -> Problem:
    """The instance, scenario, solution or horizon that ``data`` describes, by its ``format``."""
    if not isinstance(data, Mapping):
        raise InstanceError("", f"must be a JSON object, got {type(data).__name__}")
    if "format" not in data:
        raise InstanceError("format", "is required")
    tag = data["format"]
    if not isinstance(tag, str) or tag not in FORMATS:
        raise InstanceError("format", f"must be one of {', '.join(map(repr, FORMATS))}, got {short(tag)}")
    return FORMATS[tag].from_dict(data)


def read(path: str | os.PathLike) -> Problem:
    """Read an instance, scenario, solution or horizon file, choosing by its ``format`` field.

    Parameters
    ----------
    path : str or PathLike
        A ``partopt.instance/1``, ``partopt.scenario/1``, ``partopt.solution/1`` or
        ``partopt.horizon/1`` JSON file.

    Returns
    -------
    Instance, Scenario, Solution or Horizon

    Raises
    ------
    InstanceError, InstanceTypeError
        The file is not a regular file, too large, not UTF-8 JSON, or a field is wrong
        (the error's ``field`` names it, e.g. ``tasks[1].model``).
    FileNotFoundError
        There is no such file.
    """
    return from_dict(load_json(path))


def write(obj: Problem, path: str | os.PathLike) -> None:
    """Write an :class:`Instance`, :class:`Scenario` or :class:`Solution` as its JSON file.

    Parameters
    ----------
    obj : Instance, Scenario, Solution or Horizon
        What to write; :func:`read` gives back an equal object.
    path : str or PathLike
        The file to write (replaced if it exists).

    Raises
    ------
    TypeError
        ``obj`` is of another type.
    """
    if not isinstance(obj, (Instance, Scenario, Solution, Horizon)):
        raise TypeError(f"obj: must be an Instance, Scenario, Solution or Horizon, got {type(obj).__name__}")
    dump_json(obj.to_dict(), path)
