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

__all__ = ["read", "write", "from_dict", "FORMATS", "read_arrays", "literal", "MAX_ARRAYS_BYTES"]

#: The largest ``.npz`` file of training data read (bytes).
MAX_ARRAYS_BYTES = 16 * 2**30

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


def read_arrays(path: str | os.PathLike, required: tuple[str, ...], what: str = "training data") -> dict:
    """The arrays of an ``.npz`` file (no pickled objects: nothing in it can run code), with the
    ``required`` names present; a folder, a FIFO, a file over :data:`MAX_ARRAYS_BYTES`, a file
    that is not an npz archive, or a missing array is refused naming the file."""
    import zipfile

    import numpy as np

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: {path} does not exist")
    if not os.path.isfile(path):
        raise ValueError(f"{what}: {path} is not a regular file")
    if os.path.getsize(path) > MAX_ARRAYS_BYTES:
        raise ValueError(f"{what}: {path} is larger than {MAX_ARRAYS_BYTES // 2**30} GiB")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, AttributeError) as error:
        # numpy takes what is neither an npz nor an npy file for a pickle, which it refuses
        raise ValueError(f"{what}: {path} is not an npz archive of arrays ({type(error).__name__})") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise ValueError(f"{what}: {path} has no {missing[0]!r} array; it was not written by partopt")
    return arrays


def literal(value: Any, path: str | os.PathLike, name: str, what: str = "training data") -> Any:
    """A Python literal stored as text in an array file (``ast.literal_eval``: data only, never
    code), or a ValueError naming the file and field."""
    import ast

    text = str(value)
    if len(text) > 1_000_000:
        raise ValueError(f"{what}: {path} field {name!r} is too long")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ValueError(f"{what}: {path} field {name!r} is not a literal") from None
