"""Reading and writing partopt's files, chosen by their ``format`` tag.

- ``partopt.instance/1``: one chain (:class:`~partopt.chain.model.Instance`, model Part I);
- ``partopt.scenario/1``: the shared edge (:class:`~partopt.shared.model.Scenario`, Part II);
- ``partopt.solution/1``: any kind's answer as rows of locations and optional start times
  (:class:`~partopt.result.Solution`);
- ``partopt.horizon/1``: slots sharing a battery (:class:`~partopt.horizon.model.Horizon`, Part III).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, Mapping

from partopt.fields import InstanceError, short
from partopt.problem import FORMATS, format_type

__all__ = [
    "FORMATS",
    "MAX_ARRAYS_BYTES",
    "MAX_FILE_BYTES",
    "dump_json",
    "from_dict",
    "literal",
    "load_json",
    "read",
    "read_arrays",
    "write",
]

#: The largest ``.npz`` file of training data read (bytes).
MAX_ARRAYS_BYTES = 16 * 2**30

#: Largest file ``load_json`` reads (bytes); larger files are refused before reading.
MAX_FILE_BYTES = 256 * 2**20


def load_json(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """Parse the JSON file at ``path`` as untrusted input; every refusal names the file.

    Refused: a path with a NUL byte, anything but a regular file (a FIFO, a device such
    as /dev/zero), a file over ``max_bytes``, text that is not UTF-8, invalid JSON, a key
    given twice in one object, nesting too deep to parse and numbers with too many
    digits. NaN and Infinity parse to float values so that validation refuses them
    naming their field.
    """
    text_path = os.fspath(path)
    if "\0" in str(text_path):
        raise InstanceError("path", f"contains a NUL byte: {short(text_path)}")
    path = Path(text_path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: No such file") from None
    except OSError as error:
        raise InstanceError("", f"{path}: cannot be read ({error.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise InstanceError("", f"{path}: not a regular file")
    if info.st_size > max_bytes:
        raise InstanceError("", f"{path}: {info.st_size:,} bytes, more than the {max_bytes:,} read at most")
    with open(path, "rb") as fh:
        raw = fh.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise InstanceError("", f"{path}: more than the {max_bytes:,} bytes read at most")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = short(raw[error.start : error.start + 4])
        raise InstanceError("", f"{path}: not UTF-8 text (byte {error.start}: {bad})") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise InstanceError("", f"{path}: not valid JSON ({error})") from None
    except RecursionError:
        raise InstanceError("", f"{path}: JSON nested too deeply") from None
    except InstanceError as error:
        raise InstanceError(error.field, f"{error.problem} (in {path})") from None
    except ValueError as error:  # e.g. an integer with more digits than Python converts
        raise InstanceError("", f"{path}: {str(error)[:200]}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise InstanceError(str(key)[:60], "duplicate key (given twice in one object)")
        out[key] = value
    return out


def dump_json(data: dict, path: str | os.PathLike) -> None:
    """Write ``data`` as indented JSON (no NaN or infinity)."""
    Path(path).write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")


def from_dict(data: Mapping[str, Any]) -> Any:
    """The instance, scenario, solution or horizon that ``data`` describes, by its ``format``."""
    if not isinstance(data, Mapping):
        raise InstanceError("", f"must be a JSON object, got {type(data).__name__}")
    if "format" not in data:
        raise InstanceError("format", "is required")
    tag = data["format"]
    if not isinstance(tag, str) or tag not in FORMATS:
        raise InstanceError("format", f"must be one of {', '.join(map(repr, FORMATS))}, got {short(tag)}")
    return format_type(tag).from_dict(data)


def read(path: str | os.PathLike) -> Any:
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


def write(obj: Any, path: str | os.PathLike) -> None:
    """Write an :class:`Instance`, :class:`Scenario`, :class:`Solution` or :class:`Horizon` as its JSON file.

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
    if not isinstance(obj, tuple({format_type(tag) for tag in FORMATS})):
        raise TypeError(f"obj: must be an Instance, Scenario, Solution or Horizon, got {type(obj).__name__}")
    data: dict = obj.to_dict()  # type: ignore[attr-defined]  # every type of FORMATS has one
    dump_json(data, path)


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
