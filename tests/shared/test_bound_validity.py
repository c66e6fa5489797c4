"""Every bound the shared edge computes is a claim: checked here against an independent route.

The route is brute force over semi-active schedules: every placement, and every interleaving
of the tasks' chains, each list-scheduled by appending its blocks to their resources in that
order. Taken in a topological order of its resource and chain precedences, a semi-active
schedule is rebuilt exactly by that append rule, so the least cost over all of them is the
optimum of any regular objective (total delay, task deadlines' excess) in continuous time.
Block deadlines are not regular (starting a block early can break the next one's), so the
brute-force scenarios draw task deadlines and budgets only; scenarios with block deadlines
are checked against the best schedule any solver finds.
"""

from __future__ import annotations

import itertools
import json
import math
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from helpers import bound_of, brute_force, examples, interleavings, mixed_scenarios, start_of
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st

import partopt
from partopt.shared.solvers.columns import (
    _grid_for,
    _price,
    chain_lp_bound,
    coarse_first_chain_lp_bound,
    refined_chain_lp_bound,
    spread_prices,
)
from partopt.shared.solvers.common import earliest_starts, task_lower_bounds
from partopt.shared.solvers.priced import priced_completions
from partopt.shared.solvers.relaxation import refined_work_bound, work_bound, work_lp
from partopt.shared.solvers.start import exact_start

if TYPE_CHECKING:
    from partopt.shared.model import Scenario

CASES = Path(__file__).parents[1] / "data" / "cases"
GRID = 1e-6  # CP-SAT's default grid (s)
EXACT = ("shared-exact", "shared-bnb", "shared-cpsat", "shared-milp")


def _all_bounds(sc: Scenario, objective: partopt.Objective, upper: float, incumbent) -> dict[str, float]:
    """Every bound on sum_k D_k (or the objective) that the package computes for ``sc``."""
    start = start_of(exact_start(sc, objective, work=False))
    assert not isinstance(start, partopt.SolverOutput)
    delay_low = start.delay_low
    out = {"per-task": sum(start.bounds)}
    span = max(max(s) for s in incumbent[1])
    for buckets in (8, 60):
        found = work_bound(sc, delay_low, span, buckets=buckets)
        if found is not None:
            out[f"work LP ({buckets} buckets)"] = found
    refined = refined_work_bound(sc, delay_low, span, time_limit=0.3)
    if refined is not None:
        out["work LP (refined)"] = refined
    for grid in (1e-3, 2e-4):
        found_lp = chain_lp_bound(sc, upper, delay_low, grid_s=grid, time_limit=5, incumbent=incumbent)
        if found_lp is not None:
            out[f"chain LP ({grid * 1e3:g} ms)"] = found_lp.bound_s
    in_hand = max(out.values())  # as the reported bound runs it: coarse slots first, stopped at the bound in hand
    found_lp = coarse_first_chain_lp_bound(
        sc, upper, delay_low, finest_s=5e-4, time_limit=1, incumbent=incumbent, floor_s=in_hand
    )
    if found_lp is not None:
        out["chain LP (coarse first, floor)"] = found_lp.bound_s
    found_lp = refined_chain_lp_bound(sc, upper, delay_low, finest_s=5e-4, time_limit=0.3, incumbent=incumbent)
    if found_lp is not None:
        out["chain LP (refined grids)"] = found_lp.bound_s
    tables = priced_completions(sc, upper, delay_low, incumbent, 5)
    if tables is not None:
        out["priced completions (root)"] = tables.root_bound(sc)
    return out


def _check_work_rows(sc: Scenario, placement, start_s, delay_low, span: float) -> None:
    """The schedule's image in the work LP breaks no row and no column bound."""
    ev = partopt.evaluate(sc, placement, start_s)
    for buckets in (7, 40):
        work = work_lp(sc, span, buckets)
        if work is None:
            continue
        x, stray = work.point(sc, placement, start_s, ev.task_delay)
        assert not stray, stray
        assert not work.violations(x, delay_low, tol=1e-9), work.violations(x, delay_low, tol=1e-9)[:5]


@settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(sc=mixed_scenarios(), kind=st.sampled_from(["hard", "hard", "penalty"]))
def test_every_bound_is_below_the_brute_force_optimum_and_every_optimum_agrees(sc, kind):
    """On random scenarios of every feature: each bound the package computes is at most the
    optimum found by brute force; each exact solver's "optimal" is that optimum (CP-SAT to its
    grid's rounding); each reported bound is at most it; "infeasible" only when it is."""
    objective = partopt.Objective(kind, 2.0)
    best = brute_force(sc, objective)
    tolerance = 1e-9
    results = {name: partopt.solve(sc, name, objective=kind, beta=2.0, time_limit=10) for name in EXACT}
    if best is None:
        for name, res in results.items():
            assert res.status in (partopt.Status.INFEASIBLE, partopt.Status.VIOLATED, partopt.Status.FEASIBLE), name
            assert res.status != partopt.Status.OPTIMAL and not res.feasible, name
        return
    value, placement, start_s = best
    steps = sc.num_tasks * (2 * sum(sc.block_counts) + 1) * GRID
    for name, res in results.items():
        assert res.status != partopt.Status.INFEASIBLE, f"{name} claims infeasible; brute force found {value}"
        if res.feasible:
            assert res.objective >= value * (1 - 1e-9) - 1e-12, f"{name} beats brute force: {res.objective} < {value}"
        if res.status == partopt.Status.OPTIMAL:
            slack = steps if name == "shared-cpsat" else 1e-6 * value
            assert res.objective <= value + slack, f"{name}: 'optimal' {res.objective} above the optimum {value}"
        if res.lower_bound is not None:
            assert res.lower_bound <= value * (1 + tolerance) + 1e-12, f"{name}: bound {res.lower_bound} > {value}"
    for what, bound in _all_bounds(sc, objective, value, (placement, start_s)).items():
        assert bound <= value * (1 + tolerance) + 1e-12, f"{what}: {bound} above the optimum {value}"
    if kind == "hard":
        start = start_of(exact_start(sc, objective, work=False))
        _check_work_rows(sc, placement, start_s, start.delay_low, span=max(max(s) for s in start_s) * 1.5)


def _timed_optimum(sc: Scenario, objective: partopt.Objective, placement, order) -> float | None:
    """The least objective of schedules with ``placement`` whose blocks take each resource in
    ``order`` (task indices), block deadlines kept (under "hard") or priced (under "penalty"): an LP
    over the start times (GLOP), independent of the branch and bound's search; None when infeasible."""
    from ortools.linear_solver import pywraplp

    lp = pywraplp.Solver.CreateSolver("GLOP")
    inf = lp.infinity()
    start = [[lp.NumVar(0.0, inf, "") for _ in range(m)] for m in sc.block_counts]
    tabs = sc.tables

    def end(k, m):
        return start[k][m] + tabs[k].duration[m][placement[k][m]]

    last_on: dict = {}
    nxt = [0] * sc.num_tasks
    for k in order:
        m, j = nxt[k], placement[k][nxt[k]]
        nxt[k] += 1
        before = sc.tasks[k].release_s if m == 0 else end(k, m - 1)
        lp.Add(start[k][m] >= before + tabs[k].transfer[m][placement[k][m - 1] if m else 0][j])
        res = ("server", j) if j else ("device", sc.tasks[k].device)
        if res in last_on:
            lp.Add(start[k][m] >= end(*last_on[res]))
        elif j:
            lp.Add(start[k][m] >= sc.servers[j - 1].available_s)
        last_on[res] = (k, m)
    total = 0
    for k, task in enumerate(sc.tasks):
        last = sc.block_counts[k] - 1
        back = tabs[k].return_s[placement[k][last]]
        pieces = [
            (end(k, m) + (back if m == last else 0.0)) - (task.release_s if m == 0 else end(k, m - 1))
            for m in range(last + 1)
        ]
        delay = end(k, last) + back - task.release_s
        limits = [(piece, tabs[k].deadline[m]) for m, piece in enumerate(pieces)]
        limits.append((delay, math.inf if task.deadline_s is None else task.deadline_s))
        total += delay
        for piece, tau in limits:
            if math.isinf(tau):
                continue
            if objective.kind == "hard":
                lp.Add(piece <= tau * (1 + 1e-9))
            else:
                over = lp.NumVar(0.0, inf, "")
                lp.Add(over >= piece - tau)
                total += objective.beta * over
    lp.Minimize(total)
    return lp.Objective().Value() if lp.Solve() == pywraplp.Solver.OPTIMAL else None


def brute_force_timed(sc: Scenario, objective: partopt.Objective) -> float | None:
    """The optimum with block deadlines: every placement that keeps the budgets, every order of the
    blocks, the best timing of each (:func:`_timed_optimum`); None when nothing is feasible."""
    best = None
    for flat in itertools.product(range(sc.num_servers + 1), repeat=sum(sc.block_counts)):
        it = iter(flat)
        placement = [[next(it) for _ in range(m)] for m in sc.block_counts]
        if not partopt.evaluate(sc, placement).budget_kept:
            continue
        for order in interleavings(sc.block_counts):
            value = _timed_optimum(sc, objective, placement, order)
            if value is not None and (best is None or value < best):
                best = value
    return best


@settings(
    max_examples=examples(24), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(sc=mixed_scenarios(max_work=4, block_deadlines=True), kind=st.sampled_from(["hard", "hard", "penalty"]))
def test_with_block_deadlines_the_branch_and_bound_proves_the_timed_brute_force_optimum(sc, kind):
    """Block deadlines that bind: shared-bnb's "optimal" is the optimum over every placement, order
    and timing (an LP per order, not the search's own repair), its bound is below it, it claims
    infeasible only when nothing is feasible, and under "hard" with no node dropped by dominance it
    always proves."""
    assume((sc.num_servers + 1) ** sum(sc.block_counts) * len(interleavings(sc.block_counts)) <= 1500)
    objective = partopt.Objective(kind, 2.0)
    best = brute_force_timed(sc, objective)
    res = partopt.solve(sc, "shared-bnb", objective=kind, beta=2.0, time_limit=20)
    if best is None:
        assert not res.feasible and res.status != partopt.Status.OPTIMAL
        return
    assert res.status != partopt.Status.INFEASIBLE, f"claims infeasible; the optimum is {best}"
    if kind == "hard" and res.info["dropped"] == 0:  # every leaf stood for itself: the proof is complete
        assert res.status == partopt.Status.OPTIMAL, (res.status, res.info)
    if res.status == partopt.Status.OPTIMAL:
        assert res.objective == pytest.approx(best, rel=1e-6, abs=1e-9)
    assert res.feasible and res.objective >= best * (1 - 1e-6) - 1e-9
    assert bound_of(res) <= best * (1 + 1e-6) + 1e-9


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(sc=mixed_scenarios(max_work=9, block_deadlines=True))
def test_every_bound_is_below_every_schedule_found_with_block_deadlines(sc):
    """With block deadlines (and up to 9 blocks): every bound and every reported bound is at most
    the best schedule any exact solver or heuristic finds, and the solvers' "optimal" answers agree."""
    objective = partopt.Objective("hard")
    results = {name: partopt.solve(sc, name, time_limit=10) for name in (*EXACT, "shared-local-search")}
    feasible = [r for r in results.values() if r.feasible]
    if not feasible:
        return
    best = min(feasible, key=lambda r: r.objective)
    optimal = [r for r in results.values() if r.status == partopt.Status.OPTIMAL]
    steps = sc.num_tasks * (2 * sum(sc.block_counts) + 1) * GRID
    for res in optimal:
        assert res.objective <= best.objective + steps + 1e-6 * best.objective, (res.solver, res.objective, best)
    for res in results.values():
        if res.lower_bound is not None:
            assert res.lower_bound <= best.objective * (1 + 1e-9) + 1e-12, (res.solver, res.lower_bound)
    for what, bound in _all_bounds(sc, objective, best.objective, (best.placement, best.start_s)).items():
        assert bound <= best.objective * (1 + 1e-9) + 1e-12, f"{what}: {bound} above a schedule of {best.objective}"


@settings(max_examples=40, deadline=None)
@given(sc=mixed_scenarios(max_work=12), data=st.data())
def test_earliest_starts_are_never_later_than_any_schedule(sc, data):
    """E(m, j) of :func:`earliest_starts` is at most block m's start on j in any valid schedule (here
    FIFO dispatch of random placements): the route through another server counts."""
    placement = [data.draw(st.lists(st.integers(0, sc.num_servers), min_size=m, max_size=m)) for m in sc.block_counts]
    ev = partopt.evaluate(sc, placement)
    free = [0.0] + [s.available_s for s in sc.servers]
    for k, (tab, task) in enumerate(zip(sc.tables, sc.tasks)):
        e = earliest_starts(tab, task.release_s, free)
        for m, j in enumerate(placement[k]):
            assert e[m][j] <= ev.start_s[k][m] + 1e-12


@settings(max_examples=300, deadline=None, database=None)
@given(sc=mixed_scenarios(max_work=12), data=st.data(), buckets=st.integers(3, 50))
def test_every_schedule_lies_inside_the_work_relaxation(sc, data, buckets):
    """Each row of the work LP holds for every valid schedule, not only optimal ones: random
    placements under FIFO dispatch map to a point of the LP (no work where it has no column, no
    row or column bound broken), with D_k >= each task's own bound where the budgets are kept."""
    placement = [data.draw(st.lists(st.integers(0, sc.num_servers), min_size=m, max_size=m)) for m in sc.block_counts]
    ev = partopt.evaluate(sc, placement)
    work = work_lp(sc, data.draw(st.floats(0.0, 2.0)) * max(max(r) for r in ev.finish_s), buckets)
    if work is None:
        reject()
    x, stray = work.point(sc, placement, ev.start_s, ev.task_delay)
    # a_k (each task alone within its device's budget) bounds only schedules that keep the budgets
    low = task_lower_bounds(sc, partopt.Objective("penalty", 0.0)) if ev.budget_kept else [0.0] * sc.num_tasks
    assert not stray, stray
    assert not work.violations(x, low), work.violations(x, low)[:5]


@pytest.mark.parametrize(("tasks", "mix"), [(64, False), (64, True), (256, False)])
def test_schedules_lie_inside_the_work_relaxation_at_the_sizes_it_bounds_alone(tasks, mix):
    """At K = 64 and 256, where the work relaxation's bound is reported (alone from 128 tasks on),
    a random placement under FIFO dispatch maps to a point of its LP that breaks no row, and its
    bound lies below that schedule's total delay."""
    rng = np.random.default_rng(tasks + mix)
    params = {"mix": True} if mix else {"num_servers": 4, "num_devices": 2, "release_rate": 60}
    sc = partopt.generate("shared", seed=tasks, num_tasks=tasks, **params)
    low = [0.0] * sc.num_tasks
    placement = [[int(j) for j in rng.integers(0, sc.num_servers + 1, m)] for m in sc.block_counts]
    ev = partopt.evaluate(sc, placement)
    span = max(max(r) for r in ev.finish_s)
    work = work_lp(sc, span, 40)
    assert work is not None
    x, stray = work.point(sc, placement, ev.start_s, ev.task_delay)
    assert not stray, stray[:3]
    assert not work.violations(x, low), work.violations(x, low)[:5]
    found = work_bound(sc, low, span, buckets=40)
    assert found is not None and found <= ev.total_delay * (1 + 1e-9)


@pytest.mark.parametrize(("tasks", "mix"), [(64, False), (64, True)])
def test_schedules_lie_inside_the_chain_lp_on_every_fine_grid_at_the_sizes_it_bounds(tasks, mix):
    """At K = 64, where the chain-schedule LP's bound is reported on ever finer grids, a random
    placement under FIFO dispatch, taken down to each grid, is one chain a task that the pricing
    DP admits (:meth:`_Pricing.fits`), costs at most the task's delay, and takes every slot of
    every resource at most whole: a point of the LP, so every Lagrangian bound lies below it."""
    rng = np.random.default_rng(tasks + mix)
    params = {"mix": True} if mix else {"num_servers": 4, "num_devices": 2, "release_rate": 60}
    sc = partopt.generate("shared", seed=tasks, num_tasks=tasks, **params)
    placement = [[int(j) for j in rng.integers(0, sc.num_servers + 1, m)] for m in sc.block_counts]
    ev = partopt.evaluate(sc, placement)
    low = task_lower_bounds(sc, partopt.Objective("penalty", 0.0)) if ev.budget_kept else [0.0] * sc.num_tasks
    for grid_s, per_coarse in ((4e-3, 1), (4e-3, 16), (5e-4, 20)):
        pricing = _grid_for(sc, ev.total_delay, low, grid_s, per_coarse)
        chains = pricing.taken_down(ev.placement, ev.start_s)
        assert chains is not None
        use = np.zeros(pricing.n_res * pricing.horizon)
        for k, chain in enumerate(chains):
            assert pricing.fits(k, chain), (grid_s, pricing.fine, k, chain)
            cost, rows, shares = pricing.column(k, chain)
            assert cost <= ev.task_delay[k] + 1e-9
            np.add.at(use, rows, shares)
        assert use.max() <= 1 + 1e-9, (grid_s, pricing.fine, use.max())


def test_a_chain_the_grid_does_not_admit_is_refused():
    """:meth:`_Pricing.fits` refuses what the pricing DP never builds: a block before its input, a
    chain of the wrong length, a start past the task's end."""
    sc = partopt.generate("shared", seed=3, num_tasks=4, num_servers=2)
    ev = partopt.evaluate(sc, [[1] * m for m in sc.block_counts])
    pricing = _grid_for(sc, ev.total_delay, [0.0] * sc.num_tasks, 1e-3, 4)
    chains = pricing.taken_down(ev.placement, ev.start_s)
    assert chains is not None
    chain = chains[1]
    assert pricing.fits(1, chain)
    (j, s), (j2, _) = chain[0], chain[1]
    assert not pricing.fits(1, [(j, s), (j2, s + pricing.link[1, 1, j, j2] - 1), *chain[2:]])
    assert not pricing.fits(1, chain[:-1])
    assert not pricing.fits(1, [*chain[:-1], (chain[-1][0], int(pricing.ends[1]))])


def test_prices_spread_over_finer_slots_give_the_same_bound():
    """A finer run starts from a coarser one's prices, each slot's price shared by the slots in it:
    on the same fine grid every chain pays the same, so the Lagrangian bound is the same."""
    from concurrent.futures import ThreadPoolExecutor

    sc = partopt.generate("shared", seed=5, num_tasks=6, num_servers=2, release_rate=110)
    start = start_of(exact_start(sc, partopt.Objective("hard", 1.0), work=False))
    upper, low = start.known.total_delay, start.delay_low
    coarse = chain_lp_bound(sc, upper, low, grid_s=2e-3, per_coarse=16)
    assert coarse is not None and coarse.prices.any()
    fine = _grid_for(sc, upper, low, 5e-4, 4)
    assert math.isclose(fine.fine, coarse.fine_s)
    prices = spread_prices(coarse.prices, 2e-3, 5e-4, fine.horizon)
    assert prices is not None and spread_prices(coarse.prices, 2e-3, 3e-4, fine.horizon) is None
    with ThreadPoolExecutor(1) as pool:
        priced = _price(fine, pool, prices, prices, None)
    assert priced is not None and math.isclose(priced[0], coarse.bound_s, rel_tol=1e-9, abs_tol=1e-12)


def test_the_refined_chain_lp_never_bounds_lower_than_its_first_grid(monkeypatch):
    """Each finer run starts from the last one's chains and prices, and the highest bound is kept:
    never below the first grid's run, and on a finer grid than it where time allowed (the first
    grid made coarse here by a small table limit, as a large K makes it)."""
    from partopt.shared.solvers import columns

    monkeypatch.setattr(columns, "MAX_TABLE_ENTRIES", 2**14)
    monkeypatch.setattr(columns, "FINE_GRID_S", 2.5e-4)  # two refinements at most: a short test
    sc = partopt.generate("shared", seed=7, num_tasks=4, num_servers=2, release_rate=30)
    start = start_of(exact_start(sc, partopt.Objective("hard", 1.0), work=False))
    upper, low = start.known.total_delay, start.delay_low
    runs = []
    unrecorded = columns.chain_lp_bound

    def recorded(*args, **kwargs):
        runs.append(unrecorded(*args, **kwargs))
        return runs[-1]

    monkeypatch.setattr(columns, "chain_lp_bound", recorded)
    refined = refined_chain_lp_bound(sc, upper, low, finest_s=5e-4, time_limit=None)
    first = runs[0]
    assert first is not None and refined is not None and len(runs) > 1
    assert refined.bound_s >= first.bound_s - 1e-9
    assert refined.fine_s < first.fine_s
    assert refined.bound_s <= upper * (1 + 1e-9)


def test_a_point_outside_the_work_relaxation_is_reported_by_row_name():
    """The row check that the test above relies on finds broken rows and names them: a valid
    schedule's point with three times its work breaks each task's work row (named so)."""
    sc = partopt.generate("shared", seed=3, num_tasks=5, mix=True)
    placement = [[1] * m for m in sc.block_counts]
    ev = partopt.evaluate(sc, placement)
    work = work_lp(sc, max(max(r) for r in ev.finish_s), 10)
    assert work is not None
    x, stray = work.point(sc, placement, ev.start_s, ev.task_delay)
    assert not stray and not work.violations(x, [0.0] * sc.num_tasks)
    broken = work.violations(np.concatenate([3 * x[: work.n_y], x[work.n_y :]]), [0.0] * sc.num_tasks)
    assert {line.split(":")[0] for line in broken if "'work'" in line} == {
        f"row ('work', {k})" for k in range(sc.num_tasks)
    }
    assert all(line.startswith(("row (", "column y[")) for line in broken)


# ------------------------------------------------------------- the counterexamples
def _case(name: str):
    sc = partopt.read(CASES / f"{name}.scenario.json")
    sol = partopt.read(CASES / f"{name}-optimum.solution.json")
    return sc, sol, partopt.evaluate(sc, sol.placement, sol.start_s)


@pytest.mark.parametrize("name", ["k6-false-optimum", "k12-false-optimum", "k8-bnb-timeout-bound"])
def test_counterexamples_bounds_stay_below_their_optimum(name):
    """Each stored case's proven optimum (by the branch and bound, in continuous time) is a valid
    schedule; every bound the package computes stays below it and the work LP's rows all hold."""
    sc, sol, ev = _case(name)
    assert ev.feasible and not ev.problems
    objective = partopt.Objective()
    start = start_of(exact_start(sc, objective))
    assert start.work_bound is not None and start.work_bound <= ev.total_delay
    _check_work_rows(sc, sol.placement, sol.start_s, start.delay_low, max(max(r) for r in start.known.finish_s))
    lp = chain_lp_bound(sc, ev.total_delay, start.delay_low, time_limit=3, incumbent=(sol.placement, sol.start_s))
    assert lp is not None and lp.bound_s <= ev.total_delay * (1 + 1e-9)
    stopped = coarse_first_chain_lp_bound(
        sc,
        ev.total_delay,
        start.delay_low,
        finest_s=5e-4,
        time_limit=1,
        incumbent=(sol.placement, sol.start_s),
        floor_s=start.work_bound,
    )
    assert stopped is not None and stopped.bound_s <= ev.total_delay * (1 + 1e-9)


def test_k12_case_no_exact_solver_claims_an_optimum_above_the_known_schedule():
    """The reported case: the default solver claimed "optimal" at 2.830 s with a bound of 2.846 s,
    above a valid schedule of 2.747 s. Now nothing it reports is above that schedule."""
    sc, _sol, ev = _case("k12-false-optimum")
    better = partopt.read(CASES / "k12-better-schedule.solution.json")
    assert partopt.evaluate(sc, better.placement, better.start_s).total_delay == pytest.approx(ev.total_delay, rel=1e-9)
    res = partopt.solve(sc, time_limit=10)
    assert res.lower_bound is not None and res.lower_bound <= ev.total_delay
    assert res.status != partopt.Status.OPTIMAL or res.objective <= ev.total_delay * (1 + 1e-6)


def test_cpsat_bound_under_the_penalty_allows_for_the_excesses_rounding():
    """A case random search found: two tasks that miss their deadlines, penalty objective with
    beta = 2. CP-SAT's bound less the delays' rounding alone was 1.8 us above the brute-force
    optimum (each deadline excess, weighted by beta, grows with the grid's rounding too); now
    its bound stays below it and its "optimal" is that optimum."""
    sc = partopt.read(CASES / "k2-penalty-grid-bound.scenario.json")
    sol = partopt.read(CASES / "k2-penalty-grid-bound-optimum.solution.json")
    objective = partopt.Objective("penalty", 2.0)
    optimum = objective.raw_value(partopt.evaluate(sc, sol.placement, sol.start_s))
    assert brute_force(sc, objective)[0] == pytest.approx(optimum, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", partopt.InvalidBoundWarning)
        res = partopt.solve(sc, "shared-cpsat", objective="penalty", beta=2.0, time_limit=10)
    assert res.lower_bound is not None and res.lower_bound <= optimum
    assert res.status == partopt.Status.OPTIMAL and res.objective == pytest.approx(optimum, rel=1e-9)


def test_bnb_stopped_before_its_search_reports_no_bound_from_its_empty_stack():
    """A branch and bound whose search never ran (its limit spent on the LP) must not report the
    incumbent's value as its bound: the root is open."""
    sc, _sol, ev = _case("k8-bnb-timeout-bound")
    res = partopt.solve(sc, "shared-bnb", time_limit=4)
    assert res.lower_bound is not None and res.lower_bound <= ev.total_delay * (1 + 1e-9)


def test_a_bound_above_a_known_schedule_is_dropped_and_reported(monkeypatch):
    """The guard: a (deliberately broken) work relaxation above the incumbent is never used as a
    cut or reported; it raises InvalidBoundWarning, which the test run turns into an error."""
    import partopt.shared.solvers.start as start_module

    sc = partopt.generate("shared", seed=1, num_tasks=4)
    monkeypatch.setattr(start_module, "work_bound", lambda *a, **k: 1e9)
    with pytest.warns(partopt.InvalidBoundWarning):
        start = start_of(start_module.exact_start(sc, partopt.Objective()))
    assert start.work_bound is None


def test_result_refuses_a_bound_above_its_own_answer():
    """make_result, the one place answers are priced: a bound above the answer is dropped, and an
    "optimal" that may rest on it is demoted to "feasible"."""
    from partopt.result import SolverOutput, make_result

    sc = partopt.generate("shared", seed=0, num_tasks=2)
    ok = partopt.solve(sc, "earliest-finish")
    out = SolverOutput(placement=ok.placement, start_s=ok.start_s, proven_optimal=True, lower_bound=ok.objective * 2)
    with pytest.warns(partopt.InvalidBoundWarning):
        res = make_result(sc, out, partopt.Objective(), "broken", 0.0)
    assert res.status == partopt.Status.FEASIBLE and res.lower_bound is None


def test_lagrangian_bound_is_valid_for_any_multipliers():
    """The work LP's bound from row multipliers holds for any multipliers, even random ones."""
    from partopt.shared.solvers.relaxation import lagrangian_bound

    sc = partopt.read(CASES / "k6-false-optimum.scenario.json")
    sol = json.loads((CASES / "k6-false-optimum-optimum.solution.json").read_text())
    ev = partopt.evaluate(sc, sol["placement"], sol["start_s"])
    start = start_of(exact_start(sc, partopt.Objective(), work=False))
    work = work_lp(sc, max(max(r) for r in ev.finish_s), 30)
    assert work is not None
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.normal(0, 0.5, len(work.lp.row_lower))
        assert lagrangian_bound(work.lp, work.n_y, start.delay_low, y) <= ev.total_delay + 1e-9
    assert math.isfinite(lagrangian_bound(work.lp, work.n_y, start.delay_low, np.zeros(len(work.lp.row_lower))))


@pytest.mark.parametrize("name", ["k6-false-optimum", "k8-bnb-timeout-bound", "k12-false-optimum"])
def test_live_bounds_on_the_counterexamples_stay_below_their_optimum(name):
    """On the counterexamples where a false optimum was once claimed, what the exact search
    reports while it runs (the CLI's live line) never has a bound above the case's optimal
    schedule, nor an incumbent below it."""
    from partopt.progress import watching

    sc = partopt.read(CASES / f"{name}.scenario.json")
    sol = partopt.read(CASES / f"{name}-optimum.solution.json")
    optimum = partopt.evaluate(sc, sol.placement, sol.start_s).total_delay
    seen: list[tuple[str, float, float]] = []
    with watching(lambda solver, incumbent, bound: seen.append((solver, incumbent, bound))):
        partopt.solve(sc, time_limit=3)
    assert seen
    for solver, incumbent, bound in seen:
        assert bound <= optimum * (1 + 1e-9), (solver, bound, optimum)
        assert incumbent >= optimum * (1 - 1e-9), (solver, incumbent, optimum)


def test_the_refined_work_bound_lays_finer_buckets_while_time_allows(monkeypatch):
    """refined_work_bound doubles the buckets while its last solve fits in the time left, and
    answers the highest of its LPs' bounds, each below the case's optimum."""
    import partopt.shared.solvers.relaxation as relaxation

    sc, _sol, ev = _case("k8-bnb-timeout-bound")
    start = start_of(exact_start(sc, partopt.Objective(), work=False))
    span = max(max(r) for r in ev.finish_s)
    laid: list[tuple[int, float | None]] = []

    def recording(scenario, task_bounds, span_s, *, buckets, **kwargs):
        found = work_bound(scenario, task_bounds, span_s, buckets=buckets, **kwargs)
        laid.append((buckets, found))
        return found

    monkeypatch.setattr(relaxation, "work_bound", recording)
    found = relaxation.refined_work_bound(sc, start.delay_low, span, time_limit=60)
    counts = [b for b, _ in laid]
    assert counts[0] == relaxation.buckets_for(sc) and len(counts) >= 2
    assert all(b == 2 * a for a, b in itertools.pairwise(counts)) and counts[-1] <= relaxation.MAX_BUCKETS
    assert found == max(f for _, f in laid if f is not None) <= ev.total_delay * (1 + 1e-9)


def test_a_model_solver_left_no_search_time_still_spends_the_bounds_share(monkeypatch):
    """When building CP-SAT's model eats its search time (K = 64 on 2 cores), the time kept for
    the chain-schedule LP is still spent: the answer carries its bound, not the per-task sum."""
    import partopt.shared.solvers.cpsat as cpsat

    sc, _sol, ev = _case("k8-bnb-timeout-bound")
    monkeypatch.setattr(cpsat, "search_seconds", lambda *a: 0.0)
    res = partopt.solve(sc, "shared-cpsat", time_limit=5)
    start = start_of(exact_start(sc, partopt.Objective(), work=False))
    assert "chain_lp" in res.info and res.info["chain_lp"]["bound"] is not None
    assert sum(start.bounds) < bound_of(res) <= ev.total_delay * (1 + 1e-9)


def test_the_chain_lp_share_follows_the_scenario_size():
    """The time an exact solver keeps for the chain-schedule LP: none below 6 tasks or from 128 on
    (the work relaxation is refined there instead), a fifth up to 16, more beyond."""
    from partopt.shared.solvers import start as start_module

    def reserve(k: int) -> float:
        return start_module.chain_lp_reserve(partopt.generate("shared", seed=0, num_tasks=k), 100.0)

    assert reserve(4) == 0.0 and reserve(128) == 0.0 and reserve(8) == pytest.approx(20.0)
    assert reserve(20) == pytest.approx(100.0 * start_module.CHAIN_LP_LARGE_SHARE)
    # without a feasible schedule the LP has nothing to bound below: the search keeps every second
    sc = partopt.generate("shared", seed=0, num_tasks=20)
    begin = time.perf_counter()
    assert start_module.search_seconds(sc, 100.0, begin, False) == pytest.approx(100.0, abs=0.5)
    assert start_module.search_seconds(sc, 100.0, begin, True) == pytest.approx(40.0, abs=0.5)
