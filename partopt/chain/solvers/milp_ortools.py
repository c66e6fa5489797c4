"""The MILP of :mod:`partopt.chain.solvers.milp` through OR-Tools.

backend="scip" (default): SCIP through MathOpt, float coefficients, relative and
absolute MIP gap 0. backend="cp-sat": CP-SAT, which takes integer coefficients only:

- the objective, in units of U / 1e6 where U is the sum over blocks of the dearest move
  (an upper bound on any placement's objective, see :mod:`partopt.chain.solvers.milp`), is
  multiplied by 1e3 and rounded, so coefficients are integers up to 1e9. Each moves by at
  most 0.5e-9 U and a placement uses at most 2M of them, so the placement CP-SAT proves
  optimal for the rounded costs is optimal for the true costs to within 2 M U 1e-9
  seconds (:func:`cpsat_precision`; a test holds CP-SAT to it). Larger scales are not
  safe: at 1e10 and above, CP-SAT reported OPTIMAL for a placement 1e-6 (relative) worse
  than the optimum, its LP relaxation losing precision on such coefficients.
- the energy row (already divided by the budget) is multiplied by 1e9 and rounded, with
  right-hand side floor(1e9 (1 + 1e-9)); its rounding can move the budget by at most
  M 0.5e-9 of itself, the order of the model's own 1e-9 tolerance.

MathOpt's HiGHS backend is not offered: with PuLP loaded in the same process it
crashed (segfault) with ortools 9.15.
"""

from __future__ import annotations

import datetime
import math
from typing import TYPE_CHECKING

from partopt.chain.model import Instance, validate_placement
from partopt.chain.solvers.milp import OBJECTIVE_RANGE, Formulation, build_formulation, prepare
from partopt.result import SolverOutput

if TYPE_CHECKING:
    from partopt.objective import Objective

__all__ = ["cpsat_precision", "export_model", "solve_milp_ortools"]

BACKENDS = ("scip", "cp-sat")
_SCALE = 1e9


def solve_milp_ortools(
    instance: Instance,
    objective: Objective,
    *,
    time_limit: float | None = None,
    seed: int | None = None,
    backend: str = "scip",
    threads: int = 1,
    warm_start=None,
    export: str | None = None,
) -> SolverOutput:
    """Solve exactly with OR-Tools; ``export`` writes the model as MPS to that path first. threads:
    the solver's threads (an int >= 1); warm_start: a placement to start from (checked)."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads: must be an int >= 1, got {threads!r}")
    if warm_start is not None:
        warm_start = list(validate_placement(instance, warm_start))
    model, time_limit = prepare(instance, objective, backend, BACKENDS, time_limit)
    if isinstance(model, SolverOutput):
        return model
    if export:
        export_model(model, export)
    if backend == "scip":
        return _solve_scip(model, time_limit, seed, threads, warm_start)
    return _solve_cpsat(model, time_limit, seed, threads, warm_start)


def _model_proto(model: Formulation):
    """The formulation as a MathOpt ``ModelProto``, filled column-wise in a few bulk
    calls (adding 10^5 variables one by one through the Python model costs seconds)."""
    from ortools.math_opt import model_pb2

    proto = model_pb2.ModelProto(name="partopt")
    count = len(model.var_names)
    proto.variables.ids.extend(range(count))
    proto.variables.lower_bounds.extend([0.0] * count)
    proto.variables.upper_bounds.extend([1.0] * count)
    proto.variables.integers.extend(model.var_binary)
    proto.variables.names.extend(model.var_names)
    objective = sorted(model.objective.items())
    proto.objective.linear_coefficients.ids.extend(v for v, _ in objective)
    proto.objective.linear_coefficients.values.extend(c for _, c in objective)
    rows: list[int] = []
    cols: list[int] = []
    coefs: list[float] = []
    for k, row in enumerate(model.rows):
        entries = sorted(row.coefs.items())
        rows.extend([k] * len(entries))
        cols.extend(v for v, _ in entries)
        coefs.extend(c for _, c in entries)
    constraints = proto.linear_constraints
    constraints.ids.extend(range(len(model.rows)))
    constraints.lower_bounds.extend(-math.inf if r.sense == "<=" else r.rhs for r in model.rows)
    constraints.upper_bounds.extend(math.inf if r.sense == ">=" else r.rhs for r in model.rows)
    constraints.names.extend(r.name for r in model.rows)
    matrix = proto.linear_constraint_matrix  # row-major, as the proto requires
    matrix.row_ids.extend(rows)
    matrix.column_ids.extend(cols)
    matrix.coefficients.extend(coefs)
    return proto


def export_model(model: Formulation, path: str) -> None:
    """Write the formulation as an MPS file."""
    from ortools.math_opt.io.python import mps_converter

    with open(path, "w") as fh:
        fh.write(mps_converter.model_proto_to_mps(_model_proto(model)))


def _solve_scip(model: Formulation, time_limit, seed, threads, warm_start) -> SolverOutput:
    from ortools.math_opt.python import mathopt

    mo = mathopt.Model.from_model_proto(_model_proto(model))
    params = mathopt.SolveParameters(
        relative_gap_tolerance=0.0,
        absolute_gap_tolerance=0.0,
        threads=threads,
        random_seed=0 if seed is None else int(seed) % (2**31),
        time_limit=None if time_limit is None else datetime.timedelta(seconds=time_limit),
    )
    params.gscip.real_params["numerics/feastol"] = 1e-9
    model_params = None
    if warm_start is not None:
        hint = model.hint(warm_start)
        model_params = mathopt.ModelSolveParameters(
            solution_hints=[mathopt.SolutionHint(variable_values={mo.get_variable(v): x for v, x in hint.items()})]
        )
    build_s = model.built()
    result = mathopt.solve(mo, mathopt.SolverType.GSCIP, params=params, model_params=model_params)
    reason = result.termination.reason
    reasons = mathopt.TerminationReason
    info = {
        "backend": "scip",
        "termination": reason.name,
        "solve_time": result.solve_time().total_seconds(),
        "build_s": build_s,
    }
    bound = result.termination.objective_bounds.dual_bound
    bound = float(bound) * model.unit if math.isfinite(bound) else None
    if reason in (reasons.INFEASIBLE,):
        return SolverOutput(placement=None, proven_infeasible=True, info=info)
    if not result.has_primal_feasible_solution():
        return SolverOutput(placement=None, timed_out=True, lower_bound=bound, info=info)
    values = {variable.id: x for variable, x in result.variable_values().items()}
    placement = model.placement(values)
    return SolverOutput(
        placement=placement,
        proven_optimal=reason == reasons.OPTIMAL,
        timed_out=reason != reasons.OPTIMAL,
        lower_bound=bound,
        info=info,
    )


def cpsat_precision(instance: Instance, objective: Objective) -> float:
    """Bound (s) on how far CP-SAT's optimum may be above the true optimum, from rounding."""
    model = build_formulation(instance, objective)
    return 2 * instance.num_blocks * model.upper / _SCALE


def _solve_cpsat(model: Formulation, time_limit, seed, threads, warm_start) -> SolverOutput:
    from ortools.sat.python import cp_model

    delay_scale = _SCALE / OBJECTIVE_RANGE  # objective coefficients become integers up to 1e9
    cp = cp_model.CpModel()
    # y is integral once x is (see partopt.chain.solvers.milp), so both are Booleans here.
    variables = [cp.new_bool_var(name) for name in model.var_names]
    for row in model.rows:
        scale = _SCALE if row.unit == "energy" else 1.0
        expr = sum(int(round(c * scale)) * variables[v] for v, c in row.coefs.items())
        rhs = row.rhs * scale
        if row.sense == "==":
            cp.add(expr == int(round(rhs)))
        elif row.sense == "<=":
            cp.add(expr <= int(math.floor(rhs)))
        else:
            cp.add(expr >= int(math.ceil(rhs)))
    cp.minimize(sum(int(round(c * delay_scale)) * variables[v] for v, c in model.objective.items()))
    if warm_start is not None:
        for v, x in model.hint(warm_start).items():
            cp.add_hint(variables[v], int(x))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = max(1, threads)
    solver.parameters.random_seed = 0 if seed is None else int(seed) % (2**31)
    solver.parameters.relative_gap_limit = 0.0
    solver.parameters.absolute_gap_limit = 0.0
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = float(time_limit)
    build_s = model.built()
    status = solver.solve(cp)
    info = {
        "backend": "cp-sat",
        "termination": solver.status_name(status),
        "delay_scale": delay_scale,
        "build_s": build_s,
    }
    if status == cp_model.INFEASIBLE:
        return SolverOutput(placement=None, proven_infeasible=True, info=info)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SolverOutput(placement=None, timed_out=True, info=info)
    placement = model.placement([solver.value(v) for v in variables])
    return SolverOutput(
        placement=placement,
        proven_optimal=status == cp_model.OPTIMAL,
        timed_out=status != cp_model.OPTIMAL,
        # The rounded model's bound, widened by the rounding bound so that it stays valid.
        lower_bound=(solver.best_objective_bound - 2 * len(model.x)) / delay_scale * model.unit,
        info=info,
    )
