"""The front door: :func:`solve`."""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
import time

from partopt.files import read
from partopt.objective import Objective
from partopt.problem import KINDS, Problem, is_problem
from partopt.registry import get_solver, list_solvers, solver_spec
from partopt.result import Result, SolverOutput, make_result

__all__ = ["NO_LIMIT_S", "checked_seed", "checked_time_limit", "load_problem", "solve"]


def solve(
    instance: Problem | str | os.PathLike,
    solver: str | None = None,
    *,
    objective: str = "hard",
    beta: float = 1.0,
    time_limit: float | None = None,
    seed: int | None = None,
    **options,
) -> Result:
    """Place the blocks of ``instance`` with the solver called ``solver``.

    Parameters
    ----------
    instance : Instance, Scenario, Horizon, Stream or path
        One chain (Part I of the model), a shared-edge scenario (Part II), a horizon of
        slots sharing a battery (Part III), a stream of arrivals decided online (Part IV),
        or the path of its JSON file.
    solver : str, optional
        A registered name (``partopt list``). Default: the exact solver of the problem,
        ``dp`` for a chain, ``shared-exact`` for a scenario (the branch and bound, then CP-SAT),
        ``horizon-exact`` for a horizon, ``online-earliest-finish`` for a stream.
    objective : {"hard", "penalty"}
        "hard": least total delay with every deadline and energy budget kept;
        "penalty": least delay + beta * psi, budgets kept.
    beta : float
        Weight of the deadline penalty psi (s per s) under "penalty".
    time_limit : float, optional
        Seconds, for solvers that take one (model building included); None or inf: no limit
        (so is anything from :data:`NO_LIMIT_S` on).
    seed : int, optional
        For randomized solvers: an int >= 0.
    **options
        Passed to the solver (e.g. ``backend="cp-sat"`` for ``milp-ortools``).

    Returns
    -------
    Result
        Priced by :func:`partopt.evaluate`; status, objective, bound, schedule.

    Raises
    ------
    ValueError
        An unknown solver or option, a solver for the other kind of problem, a bad time limit.
    """
    given = load_problem(instance)
    time_limit = checked_time_limit(time_limit)
    seed = checked_seed(seed)
    problem = given.kind
    solver = given.default_solver if solver is None else solver
    if solver_spec(solver).problem != problem:
        raise ValueError(
            f"solver: {solver!r} solves a {solver_spec(solver).problem}, this is a {problem}; "
            f"solvers for a {problem}: {', '.join(list_solvers(problem=problem))}"
        )
    goal = Objective(objective, beta)
    fn = get_solver(solver)
    _check_options(fn, solver, options)
    start = time.perf_counter()
    output = fn(given, goal, time_limit=time_limit, seed=seed, **options)
    runtime = time.perf_counter() - start
    if not isinstance(output, SolverOutput):
        output = SolverOutput(placement=output)
    return make_result(given, output, goal, solver, runtime)


def load_problem(instance: Problem | str | os.PathLike) -> Problem:
    """``instance`` itself if it is a problem, else the problem in the file it names; a file of
    anything else (a solution) is refused naming it."""
    if is_problem(instance):
        return instance  # type: ignore[return-value]
    if not isinstance(instance, (str, os.PathLike)):
        raise TypeError(
            f"instance: must be an Instance, Scenario, Horizon, Stream or a file path, got {type(instance).__name__}"
        )
    loaded = read(instance)
    if not is_problem(loaded):
        raise ValueError(
            f"instance: the file holds a {type(loaded).__name__}, not one of the problem kinds ({', '.join(KINDS)})"
        )
    return loaded


#: A time limit from this many seconds on (about 115 days) means no limit: it is never passed on
#: to a solver library, whose own time arithmetic it could overflow.
NO_LIMIT_S = 1e7


def checked_time_limit(time_limit) -> float | None:
    """``time_limit`` (s) as a float, or None for no limit (None, inf, or from :data:`NO_LIMIT_S` on);
    anything else (a string, a bool, NaN, zero or less) is refused naming it."""
    if time_limit is None:
        return None
    if isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real) or math.isnan(time_limit):
        raise ValueError(f"time_limit: must be a number of seconds > 0 (or None for no limit), got {time_limit!r}")
    seconds = float(time_limit)
    if not seconds > 0:
        raise ValueError(f"time_limit: must be > 0 seconds (or None for no limit), got {time_limit!r}")
    return None if seconds >= NO_LIMIT_S else seconds


def checked_seed(seed) -> int | None:
    """``seed`` as an int >= 0 (or None); a bool, a float, a negative number is refused naming it."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ValueError(f"seed: must be an int >= 0 (or None), got {seed!r}")
    return int(seed)


@functools.lru_cache(maxsize=None)
def _option_names(fn) -> tuple[str, ...] | None:
    """The options ``fn`` takes beyond the fixed arguments (its first, the problem, whatever its
    name; objective, time_limit, seed), or None when it takes any (``**kwargs``)."""
    params = inspect.signature(fn).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return None
    first = next(iter(params), None)
    fixed = {first, "objective", "time_limit", "seed"}
    return tuple(p for p in params if p not in fixed)


def _check_options(fn, name: str, options: dict) -> None:
    """Refuse options the solver does not take, naming the ones it does, and a non-boolean for an
    option declared ``bool`` (``polish="no"`` would otherwise be true)."""
    takes = _option_names(fn) if options else None
    flags = _bool_options(fn) if options else ()
    for key, value in options.items():
        if takes is not None and key not in takes:
            raise ValueError(f"{key}: not an option of solver {name!r}; it takes: {', '.join(takes) or 'no options'}")
        if key in flags and not isinstance(value, bool):
            raise ValueError(f"{key}: must be True or False, got {value!r}")


@functools.lru_cache(maxsize=None)
def _bool_options(fn) -> tuple[str, ...]:
    """The options ``fn`` declares as ``bool``."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return ()
    return tuple(p.name for p in params.values() if p.annotation in (bool, "bool"))
