"""The MILP of :mod:`partopt.chain.solvers.milp` through PuLP, with CBC (bundled) or HiGHS.

Both take float coefficients; the relative MIP gap is set to 0 and the primal
feasibility tolerance to 1e-9. ``export`` writes the model as LP (``.lp``) or MPS
(any other suffix) before solving.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from partopt.chain.solvers.milp import Formulation, native_stdout_silenced, prepare
from partopt.result import SolverOutput

if TYPE_CHECKING:
    from partopt.chain.model import Instance
    from partopt.objective import Objective

__all__ = ["pulp_problem", "solve_milp_pulp"]

BACKENDS = ("cbc", "highs")


def pulp_problem(model: Formulation):
    """The formulation as a ``pulp.LpProblem`` and its variables."""
    import pulp

    prob = pulp.LpProblem("partopt", pulp.LpMinimize)
    variables = [
        prob.add_variable(_lp_name(name), 0, 1, cat=pulp.LpBinary if binary else pulp.LpContinuous)
        for name, binary in zip(model.var_names, model.var_binary)
    ]
    prob.setObjective(pulp.LpAffineExpression([(variables[v], c) for v, c in model.objective.items()]))
    senses = {"==": pulp.LpConstraintEQ, "<=": pulp.LpConstraintLE, ">=": pulp.LpConstraintGE}
    for row in model.rows:  # expressions from (variable, coefficient) pairs: no expression per term
        expr = pulp.LpAffineExpression([(variables[v], c) for v, c in row.coefs.items()])
        prob.addConstraint(pulp.LpConstraint(expr, senses[row.sense], _lp_name(row.name), row.rhs))
    return prob, variables


def _lp_name(name: str) -> str:
    """x[1,2] -> x_1_2: LP and MPS files take no brackets or commas."""
    return name.replace("[", "_").replace("]", "").replace(",", "_")


def _solver(backend: str, time_limit, threads, seed, warm: bool):
    import pulp

    if backend == "cbc":
        options = ["primalTolerance 1e-9"] + ([f"randomSeed {int(seed) % 2**31}"] if seed is not None else [])
        # The CBC binary bundled with PuLP 3 (deprecated there, dropped in PuLP 4, hence pulp<4).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return pulp.PULP_CBC_CMD(
                msg=False,
                timeLimit=time_limit,
                gapRel=0.0,
                gapAbs=0.0,
                threads=threads,
                warmStart=warm,
                options=options,
            )
    return pulp.HiGHS(
        msg=False,
        timeLimit=time_limit,
        gapRel=0.0,
        gapAbs=0.0,
        threads=threads,
        primal_feasibility_tolerance=1e-9,
        random_seed=0 if seed is None else int(seed) % 2**31,
    )


def solve_milp_pulp(
    instance: Instance,
    objective: Objective,
    *,
    time_limit: float | None = None,
    seed: int | None = None,
    backend: str = "cbc",
    threads: int = 1,
    warm_start=None,
    export: str | None = None,
) -> SolverOutput:
    """Solve exactly with PuLP (backend "cbc" or "highs")."""
    import pulp

    model, time_limit = prepare(instance, objective, backend, BACKENDS, time_limit)
    if isinstance(model, SolverOutput):
        return model
    prob, variables = pulp_problem(model)
    if warm_start is not None:
        for v, x in model.hint(warm_start).items():
            variables[v].setInitialValue(x)
    if export:
        prob.writeLP(export) if str(export).endswith(".lp") else prob.writeMPS(export)
    with native_stdout_silenced():  # highspy prints a banner from C when a model is created
        solver = _solver(backend, time_limit, threads, seed, warm_start is not None)
        build_s = model.built()
        status = prob.solve(solver)
    solution_status = prob.sol_status
    info = {"backend": backend, "termination": pulp.LpStatus[status], "build_s": build_s}
    if status == pulp.LpStatusInfeasible:
        return SolverOutput(placement=None, proven_infeasible=True, info=info)
    if solution_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return SolverOutput(placement=None, timed_out=True, info=info)
    placement = model.placement([v.varValue or 0.0 for v in variables])
    optimal = solution_status == pulp.LpSolutionOptimal
    return SolverOutput(
        placement=placement,
        proven_optimal=optimal,
        timed_out=not optimal,
        lower_bound=(pulp.value(prob.objective) or 0.0) * model.unit if optimal else None,
        info=info,
    )
