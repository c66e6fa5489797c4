"""The problem protocol: every kind in the catalogues answers the core the same way."""

from __future__ import annotations

from typing import Any, Callable

import pytest

import partopt
from partopt.fields import InstanceError, InstanceTypeError
from partopt.files import from_dict
from partopt.generation import GENERATORS
from partopt.problem import (
    EVALUATORS,
    FORMATS,
    KINDS,
    VALIDATORS,
    Problem,
    evaluate,
    is_problem,
    load_target,
    problem_types,
    validate_placement,
)
from partopt.registry import list_solvers, solver_spec

#: A generator of each kind, and a placement every problem it draws accepts (all on the device).
SAMPLES: dict[str, tuple[str, dict[str, Any], Callable[[Any], list]]] = {
    "chain": ("paper", {}, lambda p: [0] * p.num_blocks),
    "scenario": ("shared", {"num_tasks": 3}, lambda p: [[0] * p.block_counts[k] for k in range(p.num_tasks)]),
    "horizon": ("horizon", {"slots": 3}, lambda p: [[0] * s.num_blocks for s in p.slots]),
    "stream": (
        "stream",
        {"horizon_s": 0.2, "battery_j": None},
        lambda p: [[0] * p.scenario.block_counts[k] for k in range(p.num_tasks)],
    ),
}


def test_the_catalogues_agree():
    """Every kind has a type, an evaluation, a file format and a generator; a new kind missing one is caught."""
    assert set(KINDS) == set(EVALUATORS) == set(VALIDATORS) == set(SAMPLES)
    types = problem_types()
    format_types = {load_target(target) for target in FORMATS.values()}
    assert set(types) <= format_types
    generator_homes = {target.split(".")[1] for target in GENERATORS.values()}
    for kind, cls in zip(KINDS, types):
        assert cls.kind == kind and isinstance(cls.default_solver, str)
        assert KINDS[kind].split(".")[1] in generator_homes  # its subpackage has a generator


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_kind_round_trips_evaluates_and_solves_by_default(kind):
    """Generated, written as its dict and read back equal; priced by the catalogue's evaluation
    (the same as partopt.evaluate); solved by its default solver, registered for its kind and
    exact but for a stream (decided online); refused start times where it has no schedule."""
    generator, params, everything_local = SAMPLES[kind]
    problem = partopt.generate(generator, seed=1, **params)
    assert is_problem(problem) and isinstance(problem, Problem) and problem.kind == kind
    assert from_dict(problem.to_dict()) == problem
    placement = everything_local(problem)
    assert evaluate(problem, placement) == load_target(EVALUATORS[kind])(problem, placement)
    spec = solver_spec(problem.default_solver)
    assert spec.problem == kind and spec.kind == ("heuristic" if kind == "stream" else "exact")
    assert problem.default_solver in list_solvers(problem=kind)
    result = partopt.solve(problem, time_limit=20)
    assert result.solver == problem.default_solver and result.placement is not None
    local = evaluate(problem, placement)
    if local.feasible and kind != "stream":  # the default is exact: never worse than a feasible placement
        assert result.objective <= local.total_delay * (1 + 1e-9)
    if not problem.scheduled:
        with pytest.raises(ValueError, match="^start_s: start times belong to scenarios"):
            evaluate(problem, placement, [[0.0]])


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_one_placement_check_for_every_kind_names_the_field(kind):
    """partopt.validate_placement answers every kind: the placement as tuples of ints, or an
    error naming the entry that is wrong (a location past the last server, a missing row)."""
    generator, params, everything_local = SAMPLES[kind]
    problem = partopt.generate(generator, seed=2, **params)
    placement = everything_local(problem)
    checked = validate_placement(problem, placement)
    assert checked == (tuple(placement) if kind == "chain" else tuple(tuple(row) for row in placement))
    assert partopt.validate_placement is validate_placement
    bad = [list(row) for row in placement] if kind != "chain" else list(placement)
    if kind == "chain":
        bad[1] = 99
        field = r"placement\[1\]"
    else:
        bad[1][0] = 99
        field = r"placement\[1\]\[0\]"
    with pytest.raises((InstanceError, InstanceTypeError), match=field):
        validate_placement(problem, bad)
    with pytest.raises((InstanceError, InstanceTypeError), match="placement"):
        validate_placement(problem, placement[:-1])
    with pytest.raises(TypeError, match="instance"):
        validate_placement("x.json", placement)  # type: ignore[arg-type]  # deliberately not a problem


def test_what_is_not_a_problem_is_refused_naming_it():
    """A solution, a string or a number is not a problem: evaluate and solve say so."""
    assert not is_problem("x.json") and not is_problem(partopt.Solution(placement=((0,),)))
    with pytest.raises(TypeError, match="^instance: must be an Instance, Scenario, Horizon or Stream"):
        evaluate(3, [0])  # type: ignore[call-overload]  # deliberately not a problem
    with pytest.raises(TypeError, match="^instance: must be an Instance, Scenario, Horizon, Stream or a file path"):
        partopt.solve(3.5)  # type: ignore[arg-type]  # deliberately not a problem
