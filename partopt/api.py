"""The front door: :func:`solve`."""

from __future__ import annotations

import inspect
import os
import time

from partopt.evaluation import Objective
from partopt.model import Instance, read
from partopt.registry import get_solver
from partopt.result import Result, SolverOutput, make_result

__all__ = ["solve"]


def solve(
    instance: Instance | str | os.PathLike,
    solver: str = "dp",
    *,
    objective: str = "hard",
    beta: float = 1.0,
    time_limit: float | None = None,
    seed: int | None = None,
    **options,
) -> Result:
    """Place the blocks of ``instance`` with the solver called ``solver``.

    objective: "hard" (problem P: least total delay with every deadline and the energy
    budget kept) or "penalty" (least L + beta psi, budget kept). time_limit: seconds,
    for solvers that take one. seed: for randomized solvers. Other keyword options go
    to the solver (e.g. ``backend="cp-sat"`` for ``milp-ortools``). The returned
    :class:`Result` is priced by :func:`partopt.evaluate`.
    """
    if not isinstance(instance, Instance):
        instance = read(instance)
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit: must be > 0 seconds, got {time_limit!r}")
    goal = Objective(objective, beta)
    fn = get_solver(solver)
    _check_options(fn, solver, options)
    start = time.perf_counter()
    output = fn(instance, goal, time_limit=time_limit, seed=seed, **options)
    runtime = time.perf_counter() - start
    if not isinstance(output, SolverOutput):
        output = SolverOutput(placement=output)
    return make_result(instance, output, goal, solver, runtime)


def _check_options(fn, name: str, options: dict) -> None:
    """Refuse options the solver does not take, naming the ones it does."""
    params = inspect.signature(fn).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return
    fixed = {"instance", "objective", "time_limit", "seed"}
    takes = [p for p in params if p not in fixed]
    for key in options:
        if key not in takes:
            raise ValueError(
                f"{key}: not an option of solver {name!r}; it takes: {', '.join(takes) or 'no options'}"
            )
