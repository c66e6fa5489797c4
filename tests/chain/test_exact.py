"""Exact solvers agree with each other, on the optimum and on infeasibility."""

import math
from typing import Any

import numpy as np
import pytest
from helpers import bound_of, instances, start_of
from hypothesis import given, settings
from hypothesis import strategies as st

import partopt
from partopt import Status
from partopt.chain.solvers.dp import solve_batch
from partopt.objective import Objective

objectives = st.sampled_from([("hard", 1.0), ("penalty", 0.0), ("penalty", 1.0), ("penalty", 7.5)])


def same_answer(a, b, scale: float = 0.0):
    """Same verdict, and the same objective to 1e-6 relative (after evaluate).

    ``scale``: the instance's cost scale (sum over blocks of the dearest move); where the
    optimum is near 0, floating-point MILP solvers stop within their absolute
    tolerances, so 1e-7 of that scale also counts as agreement.
    """
    assert (a.status == Status.INFEASIBLE) == (b.status == Status.INFEASIBLE), (a.summary(), b.summary())
    if a.status != Status.INFEASIBLE:
        assert a.status == b.status == Status.OPTIMAL
        assert math.isclose(a.objective, b.objective, rel_tol=1e-6, abs_tol=1e-7 * scale), (a.objective, b.objective)


def cost_scale(inst, kind, beta) -> float:
    """The instance's cost scale U (see partopt.chain.solvers.milp); CP-SAT's documented rounding
    bound, 2 M U 1e-9, is within the 1e-7 U allowance."""
    from partopt.chain.solvers.milp import build_formulation

    return build_formulation(inst, Objective(kind, beta)).upper


@given(instances(max_blocks=6, max_servers=3), objectives)
@settings(max_examples=300)
def test_dp_agrees_with_brute_force(inst, goal):
    """DP and brute force find the same optimum and the same infeasibility verdicts."""
    kind, beta = goal
    same_answer(
        partopt.solve(inst, "dp", objective=kind, beta=beta),
        partopt.solve(inst, "brute-force", objective=kind, beta=beta),
    )


MILP_BACKENDS = pytest.mark.parametrize(
    "solver, options",
    [
        ("milp-ortools", {}),
        ("milp-ortools", {"backend": "cp-sat"}),
        ("milp-pulp", {}),
        ("milp-pulp", {"backend": "highs"}),
    ],
    ids=["scip", "cp-sat", "cbc", "highs"],
)


@MILP_BACKENDS
@given(inst=instances(max_blocks=5, max_servers=3), goal=objectives)
@settings(max_examples=25)
def test_milp_agrees_with_dp(solver, options, inst, goal):
    """Each MILP backend matches the DP optimum (1e-6 relative) and its infeasibility verdict."""
    kind, beta = goal
    same_answer(
        partopt.solve(inst, "dp", objective=kind, beta=beta),
        partopt.solve(inst, solver, objective=kind, beta=beta, **options),
        cost_scale(inst, kind, beta),
    )


@pytest.mark.slow
@MILP_BACKENDS
@given(inst=instances(max_blocks=12, max_servers=5), goal=objectives)
@settings(max_examples=150)
def test_milp_agrees_with_dp_thoroughly(solver, options, inst, goal):
    """As above, on larger instances and many more examples."""
    kind, beta = goal
    same_answer(
        partopt.solve(inst, "dp", objective=kind, beta=beta),
        partopt.solve(inst, solver, objective=kind, beta=beta, **options),
        cost_scale(inst, kind, beta),
    )


def test_budget_dp_on_paper_sized_instance():
    """With an energy budget the label DP matches SCIP on a 24-block, 9-server instance."""
    inst = partopt.generate("paper", seed=4, num_blocks=18, num_servers=9)
    spend = partopt.evaluate(inst, [0] * 18).energy
    inst = inst.replace(energy_budget_j=0.4 * spend)
    same_answer(partopt.solve(inst, "dp"), partopt.solve(inst, "milp-ortools"))


@given(instances(max_blocks=6, max_servers=3, budgets=False))
def test_cpsat_rounding_bound_holds(inst):
    """CP-SAT's placement is within its documented rounding bound of the DP optimum."""
    from partopt.chain.solvers.milp_ortools import cpsat_precision

    goal = Objective("penalty", 3.0)
    dp = partopt.solve(inst, "dp", objective="penalty", beta=3.0)
    cp = partopt.solve(inst, "milp-ortools", objective="penalty", beta=3.0, backend="cp-sat")
    assert cp.objective - dp.objective <= cpsat_precision(inst, goal) + 1e-15
    assert bound_of(cp) <= dp.objective + 1e-12


@given(st.lists(instances(shape=(4, 2)), min_size=1, max_size=6))
def test_batch_dp_equals_single_dp(batch):
    """The batch entry point gives the single DP's optimum for every instance."""
    sol = solve_batch(batch, "hard")
    for inst, placement, value, ok in zip(batch, sol.placements, sol.values, sol.feasible):
        single = partopt.solve(inst, "dp")
        assert ok == (single.status == Status.OPTIMAL)
        if ok:
            assert math.isclose(value, single.objective, rel_tol=1e-9)
            assert math.isclose(partopt.evaluate(inst, placement.tolist()).total_delay, value, rel_tol=1e-9)


def test_batch_dp_on_many_generated_instances():
    """solve_batch on 500 DIL instances matches DP one by one."""
    gen = partopt.DILGenerator()
    insts = gen.generate_many(500, seed=9)
    sol = solve_batch(insts)
    values = [partopt.solve(i).objective for i in insts[:50]]
    assert np.allclose(sol.values[:50], values, rtol=1e-12)


def test_infeasible_is_a_status_not_a_placement(valid_instance):
    """An instance no placement can satisfy gets INFEASIBLE, no placement and objective inf."""
    inst = valid_instance.replace(
        energy_budget_j=0.0,
        blocks=tuple(b.__class__(b.cycles, b.input_bits, b.param_bits, deadline_s=1e-6) for b in valid_instance.blocks),
    )
    for solver in ("dp", "brute-force", "milp-ortools", "milp-pulp"):
        result = partopt.solve(inst, solver)
        assert result.status == Status.INFEASIBLE and result.placement is None
        assert math.isinf(result.objective)


def test_brute_force_refuses_large_instances(paper_instance):
    """Brute force refuses an instance above its size limit at once, pointing to DP."""
    big = partopt.generate("paper", seed=0, num_blocks=18, num_servers=9)
    with pytest.raises(ValueError, match="dp"):
        partopt.solve(big, "brute-force")
    with pytest.raises(ValueError, match="max_placements"):
        partopt.solve(paper_instance, "brute-force", max_placements=100)


@pytest.mark.parametrize(
    "solver, suffix, options",
    [("milp-ortools", ".mps", {}), ("milp-pulp", ".lp", {}), ("milp-pulp", ".mps", {"backend": "highs"})],
)
def test_model_export(tmp_path, paper_instance, solver, suffix, options):
    """The MILP can be exported as MPS or LP, and the solve still answers."""
    path = tmp_path / f"model{suffix}"
    result = partopt.solve(paper_instance, solver, export=str(path), **options)
    assert result.status == Status.OPTIMAL
    text = path.read_text()
    assert ("ROWS" in text) if suffix == ".mps" else ("Subject To" in text or "SUBJECT TO" in text)


def test_milp_reports_bound_and_takes_time_limit(paper_instance):
    """MILP results carry a lower bound equal to the optimum when proven optimal."""
    for solver in ("milp-ortools", "milp-pulp"):
        result = partopt.solve(paper_instance, solver, time_limit=30)
        assert result.status == Status.OPTIMAL
        assert result.lower_bound is not None
        assert result.lower_bound <= result.objective * (1 + 1e-6)


def test_warm_start_is_accepted(paper_instance):
    """A warm start (e.g. the greedy placement) goes in as a hint and changes no answer."""
    start = partopt.solve(paper_instance, "greedy").placement
    runs: list[tuple[str, dict[str, Any]]] = [
        ("milp-ortools", {}),
        ("milp-ortools", {"backend": "cp-sat"}),
        ("milp-pulp", {}),
    ]
    for solver, options in runs:
        warm = partopt.solve(paper_instance, solver, warm_start=start, **options)
        assert math.isclose(warm.objective, partopt.solve(paper_instance, "dp").objective, rel_tol=1e-6)


def test_budget_dp_keeps_its_bound_path_under_rounding():
    """Regression: a zero budget met only by free local blocks (kappa = 0) is feasible for DP too."""
    from partopt import Block, Device, Server

    blocks = (
        Block(1599829149.0, 1000.0),
        Block(0.0, 0.0),
        Block(0.0, 0.0),
        Block(0.0, 0.0),
        Block(1e6, 0.0),
        Block(49202803.25, 1000.0, deadline_s=0.25994056065),
    )
    inst = partopt.Instance(
        blocks=blocks,
        device=Device(1e8, 1.0, kappa=0.0),
        servers=(Server(5e8, 1e5),),
        backhaul_bps=1e6,
        energy_budget_j=0.0,
    )
    same_answer(partopt.solve(inst, "dp"), partopt.solve(inst, "brute-force"))
    assert partopt.solve(inst, "dp").status == Status.OPTIMAL


def test_brute_force_refuses_huge_and_honours_time_limit():
    """(N+1)^M beyond the cap is refused up front (no overflow at M = 1000); a time limit stops enumeration."""
    big = partopt.generate("random", seed=1, num_blocks=1000, num_servers=3)
    with pytest.raises(ValueError, match="10\\^602"):
        partopt.solve(big, "brute-force")
    mid = partopt.generate("random", seed=3, num_blocks=11, num_servers=3, deadline_prob=0.0)
    res = partopt.solve(mid, "brute-force", time_limit=0.2, max_placements=10**7)
    assert res.runtime < 5 and res.status != partopt.Status.OPTIMAL


def test_milp_time_limit_includes_model_building():
    """A large MILP with a short limit returns near the limit, saying where the time went."""
    inst = partopt.generate("random", seed=1, num_blocks=300, num_servers=30)
    res = partopt.solve(inst, "milp-ortools", time_limit=0.5)
    assert res.runtime < 5
    assert res.status in (Status.TIME_LIMIT, Status.FEASIBLE, Status.OPTIMAL)


def _reference_bellman(step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Bellman recursion written plainly in NumPy (argmin keeps the first best)."""
    bsz, m_blocks, _, _ = step.shape
    value, back = step[:, 0, 0, :], []
    for m in range(1, m_blocks):
        total = value[:, :, None] + step[:, m]
        back.append(total.argmin(axis=1))
        value = total.min(axis=1)
    rows = np.arange(bsz)
    last = value.argmin(axis=1)
    best = value[rows, last]
    placements = [last]
    for pointers in reversed(back):
        last = pointers[rows, last]
        placements.append(last)
    return np.stack(placements[::-1], axis=1), best


@settings(max_examples=60, deadline=None)
@given(
    b=st.integers(1, 4),
    m=st.integers(1, 40),
    n=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    ties=st.booleans(),
    holes=st.floats(0.0, 0.9),
)
def test_compiled_bellman_matches_numpy(b, m, n, seed, ties, holes):
    """The compiled recursion returns the plain NumPy recursion's placements and values exactly,
    ties (lowest index first) and forbidden moves (inf) included."""
    from partopt.chain.costs import along
    from partopt.chain.solvers.dp import chain_dp

    rng = np.random.default_rng(seed)
    step = rng.integers(0, 3, size=(b, m, n + 1, n + 1)).astype(float) if ties else rng.random((b, m, n + 1, n + 1))
    step[rng.random(step.shape) < holes] = np.inf
    got, value = chain_dp(step)
    want, want_value = _reference_bellman(step)
    assert np.array_equal(value, want_value)
    finite = np.isfinite(want_value)
    assert np.array_equal(got[finite], want[finite])
    for k in np.flatnonzero(finite):
        assert float(along(step[k], got[k]).sum()) == pytest.approx(value[k], rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(2, 7),
    n=st.integers(1, 3),
    seed=st.integers(0, 10_000),
    where=st.floats(0.0, 1.0),
    kind=st.sampled_from(["hard", "penalty"]),
)
def test_binding_budget_matches_enumeration(m, n, seed, where, kind):
    """With a budget between the least energy and the unconstrained optimum's (so that the
    Lagrangian and best-first stages run), the DP's value is the enumerated optimum."""
    import itertools

    from partopt.chain.costs import along
    from partopt.chain.solvers.dp import budget_dp, chain_dp

    inst = partopt.generate(
        "random",
        seed=seed,
        num_blocks=m,
        num_servers=n,
        deadline_prob=0.3,
        device_hz=(2e9, 4e9),
        server_hz=(0.5e9, 3e9),
    )
    goal = Objective(kind, 1.0)
    step, energy = goal.step_cost(inst.costs)[0], inst.costs.energy[0]
    fastest = chain_dp(step[None])[0][0]
    frugal = chain_dp(np.where(np.isfinite(step), energy, np.inf)[None])[0][0]
    low, high = float(along(energy, frugal).sum()), float(along(energy, fastest).sum())
    budget = low + where * (high - low)
    want = math.inf
    for pl in itertools.product(range(n + 1), repeat=m):
        c, e = float(along(step, np.array(pl)).sum()), float(along(energy, np.array(pl)).sum())
        if math.isfinite(c) and e <= budget * (1 + 1e-9):
            want = min(want, c)
    placement, value = budget_dp(step, energy, budget)
    if math.isinf(want):
        assert placement is None
    else:
        assert placement is not None and math.isclose(value, want, rel_tol=1e-9)
        assert along(energy, np.array(placement)).sum() <= budget * (1 + 1e-9)
        assert math.isclose(float(along(step, np.array(placement)).sum()), value, rel_tol=1e-9)


def test_pulp_highs_still_solves_after_partopts_own_lps():
    """HiGHS keeps one thread scheduler per process, fixed by its first run: the work relaxation
    and the chain-schedule LP ran with HiGHS's automatic count, after which PuLP's HiGHS (one
    thread) answered "Not Solved". Every HiGHS run in partopt asks for one thread."""
    pytest.importorskip("highspy")
    pytest.importorskip("pulp")
    from partopt.shared.solvers.start import exact_start

    start = start_of(exact_start(partopt.generate("shared", seed=0, num_tasks=4), partopt.Objective()))
    assert start.work_bound is not None
    assert partopt.solve(partopt.generate("paper", seed=0), "milp-pulp", backend="highs").status == Status.OPTIMAL
