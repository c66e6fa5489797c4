"""The front door: solve(), the registry, check_solver, user solvers."""

import math
import subprocess
import sys

import pytest
from helpers import placement_of

import partopt
from partopt import Status
from partopt.bench.conformance import default_check_instances

CLASSIC = [s for s in partopt.list_solvers() if partopt.registry.solver_spec(s).kind in ("exact", "heuristic")]


def test_import_is_light():
    """import partopt loads neither torch, ortools nor pulp."""
    code = "import partopt, sys; assert not {'torch', 'ortools', 'pulp'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_solve_returns_priced_result(paper_instance):
    """solve() gives a Result whose objective is evaluate's total delay."""
    result = partopt.solve(paper_instance)
    assert result.status == Status.OPTIMAL and result.solver == "dp"
    assert result.objective == partopt.evaluate(paper_instance, placement_of(result)).total_delay
    assert result.lower_bound == pytest.approx(result.objective)
    assert result.runtime >= 0 and "optimal" in result.summary()
    # info is a dict whether or not the solver reports statistics, and a copy of what it reported
    assert all(isinstance(partopt.solve(paper_instance, name).info, dict) for name in ("greedy", "dp"))


def test_solve_reads_a_path(tmp_path, paper_instance):
    """solve() also takes the path of an instance file."""
    path = tmp_path / "i.json"
    partopt.write(paper_instance, path)
    assert partopt.solve(path).objective == partopt.solve(paper_instance).objective


def test_unknown_solver_suggests():
    """An unknown solver name gets a "did you mean"."""
    with pytest.raises(ValueError, match="Did you mean 'greedy'"):
        partopt.solve(partopt.generate("paper"), "gredy")


def test_unknown_option_is_refused(paper_instance):
    """Options a solver does not take are refused, naming them."""
    with pytest.raises(ValueError, match="backnd"):
        partopt.solve(paper_instance, "milp-ortools", backnd="scip")
    with pytest.raises(ValueError, match="backend"):
        partopt.solve(paper_instance, "milp-ortools", backend="gurobi")


def test_bad_time_limit(paper_instance):
    """A non-positive time limit is refused."""
    with pytest.raises(ValueError, match="time_limit"):
        partopt.solve(paper_instance, time_limit=0)


@pytest.mark.parametrize("solver", CLASSIC)
def test_every_solver_passes_conformance(solver):
    """Every exact and heuristic solver passes check_solver on mixed random instances."""
    report = partopt.check_solver(solver)
    assert report.ok and report.checked == 24


def test_check_instances_include_infeasible_ones():
    """The conformance instances exercise the INFEASIBLE path."""
    statuses = {partopt.solve(i).status for i in default_check_instances()}
    assert statuses == {Status.OPTIMAL, Status.INFEASIBLE}


def test_check_solver_catches_a_liar():
    """A solver that claims optimality for a poor placement fails conformance."""

    def liar(instance, objective, *, time_limit=None, seed=None):
        return partopt.SolverOutput(placement=[0] * instance.num_blocks, proven_optimal=True)

    partopt.register_solver("liar", liar, replace=True)
    try:
        report = partopt.check_solver("liar", raise_on_failure=False)
        assert not report.ok and any("DP optimum" in f or "feasible" in f for f in report.failures)
    finally:
        partopt.unregister_solver("liar")


def test_user_policy_is_a_solver(paper_instance):
    """A plain callable Instance -> placement registers and solves like any solver."""
    partopt.register_solver("first-server", lambda inst: [1] * inst.num_blocks, replace=True)
    try:
        result = partopt.solve(paper_instance, "first-server")
        assert result.placement == (1,) * 6 and result.status in (Status.FEASIBLE, Status.VIOLATED)
        assert partopt.check_solver("first-server").ok
    finally:
        partopt.unregister_solver("first-server")


def test_violated_placement_never_looks_good(valid_instance):
    """A heuristic's deadline-breaking placement is VIOLATED with objective inf under 'hard'."""
    tight = valid_instance.replace(
        blocks=tuple(b.__class__(b.cycles, b.input_bits, b.param_bits, deadline_s=0.05) for b in valid_instance.blocks)
    )
    result = partopt.solve(tight, "all-device")
    assert result.status == Status.VIOLATED and math.isinf(result.objective)
    assert result.evaluation is not None and not result.evaluation.deadlines_met
    soft = partopt.solve(tight, "all-device", objective="penalty", beta=2.0)
    assert soft.status == Status.FEASIBLE and math.isfinite(soft.objective)


def test_builtin_cannot_be_overwritten_by_accident():
    """Registering over an existing name needs replace=True."""
    with pytest.raises(ValueError, match="replace=True"):
        partopt.register_solver("dp", lambda inst: [0])


def test_missing_optional_dependency_names_the_extra(monkeypatch):
    """A solver whose package is missing says which extra installs it, not a bare ImportError."""
    import importlib

    from partopt import registry

    real = importlib.import_module

    def fake(name, *args):
        if name.startswith(("partopt.shared.solvers.cpsat", "partopt.shared.solvers.portfolio")):
            raise ModuleNotFoundError("No module named 'ortools'", name="ortools")
        return real(name, *args)

    monkeypatch.setattr(registry.importlib, "import_module", fake)
    monkeypatch.delitem(registry._LOADED, "shared-cpsat", raising=False)
    monkeypatch.delitem(registry._LOADED, "shared-exact", raising=False)
    with pytest.raises(ImportError, match=r'pip install "partopt\[milp\]"'):
        partopt.solve(partopt.generate("shared", seed=0, num_tasks=2))


def test_missing_package_imported_only_at_run_time_still_names_the_extra(monkeypatch):
    """A solver that imports its package only when it runs (CP-SAT inside the default portfolio)
    is checked before it runs: no bare "No module named 'ortools'" halfway through a solve."""
    from partopt import registry

    real = registry.importlib.util.find_spec
    monkeypatch.setattr(
        registry.importlib.util, "find_spec", lambda name, *a: None if name == "ortools" else real(name, *a)
    )
    for name in ("shared-exact", "shared-cpsat"):
        monkeypatch.delitem(registry._LOADED, name, raising=False)
    with pytest.raises(ImportError, match=r'pip install "partopt\[milp\]"'):
        partopt.solve(partopt.generate("shared", seed=0, num_tasks=2))
