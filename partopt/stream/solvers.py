"""The online policies as solvers of the registry: the stream simulated under each, its committed
schedule the answer (``partopt.solve(stream, solver="online-earliest-finish")`` and so on)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from partopt.result import SolverOutput
from partopt.stream.simulate import simulate

if TYPE_CHECKING:
    from partopt.objective import Objective
    from partopt.stream.model import Stream


def _simulated(stream: Stream, name: str, **options) -> SolverOutput:
    """The stream simulated under the named policy, its committed schedule as a solver's answer."""
    report = simulate(stream, name, **options)
    return SolverOutput(placement=report.placement, start_s=report.start_s, info={"decision_s": report.decision_s})


def solve_online_local(stream: Stream, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """Every block of every task on its device."""
    return _simulated(stream, "local")


def solve_online_greedy_load(stream: Stream, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """At each arrival, each block to the server free earliest."""
    return _simulated(stream, "greedy-load")


def solve_online_earliest_finish(stream: Stream, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """At each arrival, the earliest-finish DP against the locations' free times."""
    return _simulated(stream, "earliest-finish")


def solve_online_gap_filling(stream: Stream, objective: Objective, *, time_limit=None, seed=None) -> SolverOutput:
    """At each arrival, earliest-finish into the idle gaps between commitments."""
    return _simulated(stream, "gap-filling")


def solve_online_lyapunov(
    stream: Stream,
    objective: Objective,
    *,
    time_limit=None,
    seed=None,
    V: float = 1.0,  # noqa: N803 - V is the method's own name
) -> SolverOutput:
    """At each arrival, drift-plus-penalty: the DP with each joule costing V (1 - E^r/E^max) s."""
    return _simulated(stream, "lyapunov", V=V)


def solve_online_rolling_horizon(
    stream: Stream,
    objective: Objective,
    *,
    time_limit=None,
    seed=None,
    batch_s: float = 0.02,
    window_solver: str = "shared-exact",
    epoch_limit: float = 0.2,
) -> SolverOutput:
    """Each epoch of ``batch_s`` s, its waiting tasks re-optimized together by the scenario solver
    ``window_solver`` within ``epoch_limit`` s (:class:`partopt.stream.policies.RollingHorizonPolicy`)."""
    return _simulated(stream, "rolling-horizon", batch_s=batch_s, solver=window_solver, time_limit=epoch_limit)
