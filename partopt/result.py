"""What a solver returns: :class:`Status` and :class:`Result`."""

from __future__ import annotations

import enum
import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from partopt.fields import InstanceError, InstanceTypeError, check_keys, short
from partopt.problem import AnyEvaluation, Problem, evaluate

if TYPE_CHECKING:
    from partopt.objective import Objective

__all__ = [
    "SOLUTION_FORMAT",
    "InvalidBoundWarning",
    "Result",
    "Solution",
    "SolverOutput",
    "Status",
    "bound_exceeds",
    "make_result",
    "reject_bound",
]

#: The format tag of solution files.
SOLUTION_FORMAT = "partopt.solution/1"

_log = logging.getLogger("partopt")


class InvalidBoundWarning(RuntimeWarning):
    """A lower bound was found above a known valid solution: a defect, never reported or used.

    In production the bound is dropped (and any "optimal" that could rest on it), the warning
    logged; the test suite turns it into an error (``filterwarnings`` in ``pyproject.toml``).

    Parameters
    ----------
    message : str
        Which bound, its value and the valid solution's objective it exceeds (s).
    """


def bound_exceeds(bound: float, value: float, rel_tol: float = 1e-9, abs_tol: float = 1e-12) -> bool:
    """Whether lower bound ``bound`` (s) lies above ``value`` (s), the objective of a known valid
    solution, by more than the tolerance: then the bound is invalid."""
    return math.isfinite(value) and bound > value + rel_tol * abs(value) + abs_tol


def reject_bound(what: str, bound: float, value: float) -> None:
    """Report an invalid bound (:class:`InvalidBoundWarning`, and the ``partopt`` log)."""
    message = f"{what}: lower bound {bound!r} s lies above a known valid solution of {value!r} s; it is dropped"
    _log.error(message)
    warnings.warn(message, InvalidBoundWarning, stacklevel=3)


class Status(str, enum.Enum):
    """How a solve ended.

    Attributes
    ----------
    OPTIMAL
        A feasible placement proven optimal.
    FEASIBLE
        A feasible placement, not proven optimal.
    INFEASIBLE
        Proven that no feasible placement exists.
    VIOLATED
        A placement that breaks a constraint of the objective (a deadline under "hard",
        the energy budget under either).
    TIME_LIMIT
        Stopped by the time limit with no placement.
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    VIOLATED = "violated"
    TIME_LIMIT = "time_limit"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SolverOutput:
    """A solver's raw answer before partopt prices it.

    Attributes
    ----------
    placement : sequence or None
        The locations (for a scenario, one list per task), or None.
    proven_optimal : bool
        The solver proved it optimal.
    proven_infeasible : bool
        The solver proved that there is no feasible placement.
    timed_out : bool
        It stopped at the time limit.
    lower_bound : float or None
        A proven bound on the objective (s), if any.
    info : dict or None
        Solver-specific statistics.
    start_s : sequence of sequences of float, or None
        For a scenario, every block's start time (s); None for FIFO dispatch.
    """

    placement: Sequence | None
    proven_optimal: bool = False
    proven_infeasible: bool = False
    timed_out: bool = False
    lower_bound: float | None = None
    info: dict | None = None
    start_s: Sequence[Sequence[float]] | None = None


@dataclass(frozen=True)
class Result:
    """The outcome of :func:`partopt.solve`.

    Attributes
    ----------
    solver : str
        The solver's name.
    status : Status
        How the solve ended.
    placement : tuple or None
        One location per block; for a scenario, one tuple per task; for a horizon, one per slot.
    objective : float
        Recomputed by :func:`partopt.evaluate` from ``placement``; inf when there is no
        placement or it breaks a constraint, so a bad result never looks good.
    lower_bound : float or None
        A proven bound where the solver has one.
    runtime : float
        Wall-clock seconds spent in the solver.
    objective_kind : str
        "hard" or "penalty".
    beta : float
        The penalty weight.
    evaluation : Evaluation, ScenarioEvaluation, HorizonEvaluation or None
        The full cost breakdown (also for a VIOLATED placement).
    info : dict
        Solver-specific statistics (empty when the solver reports none).
    start_s : tuple of tuple of float, or None
        For a scenario, the schedule that was priced (FIFO dispatch when the solver gave none).
    """

    solver: str
    status: Status
    placement: tuple | None
    objective: float
    lower_bound: float | None
    runtime: float
    objective_kind: str
    beta: float
    evaluation: AnyEvaluation | None = None
    info: dict = field(default_factory=dict)
    start_s: tuple[tuple[float, ...], ...] | None = None

    @property
    def bound(self) -> float | None:
        """The best proven lower bound on the objective (same as ``lower_bound``)."""
        return self.lower_bound

    @property
    def feasible(self) -> bool:
        """True when there is a placement that keeps every constraint of the objective."""
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)

    @property
    def gap(self) -> float | None:
        """Relative gap between objective and lower bound, when both are finite."""
        if self.lower_bound is None or not math.isfinite(self.objective):
            return None
        return (self.objective - self.lower_bound) / max(abs(self.objective), 1e-300)

    def summary(self) -> str:
        """A few readable lines."""
        lines = [
            f"solver     {self.solver}",
            f"status     {self.status}",
            f"objective  {self.objective:.6g} s ({self.objective_kind}"
            + (f", beta={self.beta:g})" if self.objective_kind == "penalty" else ")"),
        ]
        if self.placement is not None:
            shown = list(self.placement[:8]) + (["..."] if len(self.placement) > 8 else [])
            lines.append(
                f"placement  {shown}" + (f" ({len(self.placement)} in all)" if len(self.placement) > 8 else "")
            )
        if self.evaluation is not None:
            ev = self.evaluation
            lines.append(f"delay      {ev.total_delay:.6g} s (local {ev.local_delay:.4g}, edge {ev.edge_delay:.4g})")
            lines.append(
                f"energy     {ev.energy:.6g} J; deadlines met: {ev.deadlines_met}; budget kept: {ev.budget_kept}"
            )
            for problem in getattr(ev, "problems", ())[:5]:
                lines.append(f"schedule   {problem}")
        if self.lower_bound is not None:
            gap = self.gap
            lines.append(f"bound      {self.lower_bound:.6g}" + ("" if gap is None else f" (gap {100 * gap:.3g}%)"))
        lines.append(f"runtime    {self.runtime:.4g} s")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """A JSON-ready dict (objective inf becomes None)."""
        nested = self.placement is not None and len(self.placement) > 0 and not isinstance(self.placement[0], int)
        return {
            "solver": self.solver,
            "status": self.status.value,
            "placement": None
            if self.placement is None
            else [list(r) for r in self.placement]
            if nested
            else list(self.placement),
            "start_s": None if self.start_s is None else [list(r) for r in self.start_s],
            "objective": self.objective if math.isfinite(self.objective) else None,
            "objective_kind": self.objective_kind,
            "beta": self.beta,
            "lower_bound": self.lower_bound,
            "runtime": self.runtime,
            "total_delay": None if self.evaluation is None else self.evaluation.total_delay,
            "energy": None if self.evaluation is None else self.evaluation.energy,
            "penalty": None if self.evaluation is None else self.evaluation.penalty,
            "deadlines_met": None if self.evaluation is None else self.evaluation.deadlines_met,
            "budget_kept": None if self.evaluation is None else self.evaluation.budget_kept,
        }


def make_result(instance: Problem, output: SolverOutput, objective: Objective, solver: str, runtime: float) -> Result:
    """Price a solver's output with :func:`evaluate` and decide its status (the one place that does)."""
    evaluation = None
    if output.placement is not None:
        schedule = output.start_s if instance.scheduled else None
        evaluation = evaluate(instance, output.placement, schedule)
    if evaluation is None:
        if output.proven_infeasible:
            status = Status.INFEASIBLE
        elif output.timed_out:
            status = Status.TIME_LIMIT
        else:
            raise RuntimeError(f"solver {solver!r} returned no placement without proving infeasibility")
    elif not objective.feasible(evaluation):
        status = Status.VIOLATED
    else:
        status = Status.OPTIMAL if output.proven_optimal else Status.FEASIBLE
    value = objective.value(evaluation)
    lower_bound = output.lower_bound
    # A bound above the answer itself is invalid: drop it, and any "optimal" that may rest on it.
    if lower_bound is not None and bound_exceeds(lower_bound, value):
        reject_bound(f"solver {solver!r}", lower_bound, value)
        lower_bound = None
        status = Status.FEASIBLE if status == Status.OPTIMAL else status
    return Result(
        solver=solver,
        status=status,
        placement=None if evaluation is None else evaluation.placement,
        objective=value,
        lower_bound=lower_bound,
        runtime=runtime,
        objective_kind=objective.kind,
        beta=objective.beta,
        evaluation=evaluation,
        info=dict(output.info or {}),
        start_s=getattr(evaluation, "start_s", None),
    )


@dataclass(frozen=True)
class Solution:
    """A ``partopt.solution/1`` file's content: the answer to a problem of any kind, as rows.

    Parameters
    ----------
    placement : tuple of tuple of int
        The rows of locations (0 the device, 1..N a server): a chain's one row; a scenario's or
        a stream's one row per task; a horizon's one row per slot.
    start_s : tuple of tuple of float or None
        Every block's start time (s) where the kind schedules (scenarios, streams), or None (a
        scenario is then scheduled by FIFO dispatch).
    """

    placement: tuple[tuple[int, ...], ...]
    start_s: tuple[tuple[float, ...], ...] | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Solution":
        """Read the dict of a solution file (shapes are checked against the problem by ``evaluate``)."""
        check_keys(d, {"format", "placement", "start_s"}, {"format", "placement"}, "")
        if d["format"] != SOLUTION_FORMAT:
            raise InstanceError("format", f"must be {SOLUTION_FORMAT!r}, got {short(d['format'])}")
        for key in ("placement", "start_s"):
            value = d.get(key)
            if value is not None and (not isinstance(value, list) or not all(isinstance(r, list) for r in value)):
                raise InstanceTypeError(key, "must be a list of per-task lists")
        start = d.get("start_s")
        return cls(tuple(tuple(r) for r in d["placement"]), None if start is None else tuple(tuple(r) for r in start))

    def to_dict(self) -> dict[str, Any]:
        """The ``partopt.solution/1`` dict."""
        out: dict[str, Any] = {"format": SOLUTION_FORMAT, "placement": [list(r) for r in self.placement]}
        if self.start_s is not None:
            out["start_s"] = [list(r) for r in self.start_s]
        return out
