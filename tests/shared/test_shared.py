"""The shared edge (model Part II): scenarios, files, FIFO dispatch, schedules and solvers."""

from __future__ import annotations

import json
import math

import pytest
from helpers import bound_of, evaluation_of, examples, field_of, start_of
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import partopt
from partopt.shared.evaluation import compact_schedule, evaluate_scenario, fifo_dispatch

GRID = 1e-6


def small(seed: int, tasks: int = 3, **params) -> partopt.Scenario:
    params.setdefault("num_servers", 3)
    return partopt.generate("shared", seed=seed, num_tasks=tasks, **params)


def agree(a: float, b: float, scenario: partopt.Scenario) -> bool:
    """docs/model.md's agreement rule: 1e-6 relative plus K M grid steps absolute."""
    steps = sum(scenario.block_counts)
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=steps * GRID)


# ----------------------------------------------------------------- the data
def test_scenario_round_trips_through_its_file(tmp_path):
    """to_dict / from_dict and write / read give back an equal scenario."""
    sc = small(0, tasks=5, num_devices=3, available_s=(0.0, 0.05), task_deadline_s=(1.0, 2.0))
    assert partopt.Scenario.from_dict(json.loads(json.dumps(sc.to_dict()))) == sc
    path = tmp_path / "s.json"
    partopt.write(sc, path)
    assert partopt.read(path) == sc


def test_model_example_scenario_reads():
    """The scenario of the model's file example is read as written."""
    doc = {
        "format": "partopt.scenario/1",
        "name": "shared-edge-k3-seed0",
        "models": {
            "vgg16-6": {
                "blocks": [
                    {"name": "b1", "cycles": 3.9e7, "input_bits": 98304, "param_bits": 59392, "deadline_s": 2.5}
                ],
                "output_bits": 0,
            }
        },
        "devices": [
            {
                "name": "cam0",
                "cpu_hz": 1.0e9,
                "tx_power_w": 0.5,
                "kappa": 1e-26,
                "uplink_bps": [1.2e7, 8.0e6],
                "energy_budget_j": None,
            }
        ],
        "servers": [{"name": "es1", "cpu_hz": 1.0e10, "available_s": 0.0}, {"name": "es2", "cpu_hz": 4.0e9}],
        "backhaul_bps": 1.0e8,
        "tasks": [
            {"name": "t0", "device": 0, "model": "vgg16-6", "release_s": 0.0},
            {"name": "t1", "device": 0, "model": "vgg16-6", "release_s": 0.01, "deadline_s": 0.5},
        ],
    }
    sc = partopt.Scenario.from_dict(doc)
    assert sc.num_tasks == 2 and sc.num_servers == 2 and sc.tasks[1].deadline_s == 0.5


@pytest.mark.parametrize(
    "path, value, field",
    [
        (("tasks", 1, "model"), "resnet", "tasks[1].model"),
        (("tasks", 0, "device"), 7, "tasks[0].device"),
        (("tasks", 0, "device"), True, "tasks[0].device"),
        (("tasks", 0, "release_s"), -1.0, "tasks[0].release_s"),
        (("devices", 0, "uplink_bps"), [1e7], "devices[0].uplink_bps"),
        (("devices", 0, "uplink_bps"), [1e7, 0.0, 1e7], "devices[0].uplink_bps[1]"),
        (("servers", 1, "available_s"), -0.5, "servers[1].available_s"),
        (("servers", 0, "speed"), 1.0, "servers[0].speed"),
        (("models", "vgg16-6", "blocks", 2, "cycles"), "many", "models.vgg16-6.blocks[2].cycles"),
        (("backhaul_bps",), 0.0, "backhaul_bps"),
        (("tasks",), [], "tasks"),
    ],
)
def test_bad_scenario_is_refused_naming_the_field(path, value, field):
    """A malformed scenario raises an error whose field names the offending entry."""
    doc = small(0).to_dict()
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises((ValueError, TypeError)) as info:
        partopt.Scenario.from_dict(doc)
    assert field_of(info.value) == field


def test_bad_placements_and_schedules_are_refused():
    """Wrong task or block counts, bad locations and NaN start times name the field."""
    sc = small(1)
    good = [[1] * m for m in sc.block_counts]
    cases = [
        (good[:-1], None, "placement"),
        ([[1] * 5, *good[1:]], None, "placement[0]"),
        ([[9] * 6, *good[1:]], None, "placement[0][0]"),
        (good, [[0.0] * 6 for _ in good[:-1]], "start_s"),
        (good, [[math.nan] * 6] + [[0.0] * 6 for _ in good[1:]], "start_s[0][0]"),
    ]
    for placement, start, field in cases:
        with pytest.raises((ValueError, TypeError)) as info:
            partopt.evaluate(sc, placement, start)
        assert field_of(info.value) == field


def test_solution_file_round_trip(tmp_path):
    """A solution written by the CLI path reads back and evaluates to the same objective."""
    sc = small(2)
    res = partopt.solve(sc, "earliest-finish")
    path = tmp_path / "sol.json"
    assert res.placement is not None
    partopt.write(partopt.Solution(res.placement, res.start_s), path)
    sol = partopt.read(path)
    assert partopt.evaluate(sc, sol.placement, sol.start_s).total_delay == pytest.approx(res.objective, rel=1e-12)


# ------------------------------------------------------------ evaluation
chain_instances = st.builds(
    lambda seed: partopt.generate("random", seed=seed, output_bits=(0.0, 1e5)), st.integers(0, 10_000)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=chain_instances, data=st.data())
def test_one_task_equals_the_single_chain_evaluation(inst, data):
    """With K = 1, b = 0 and FIFO dispatch, every block delay, the total and the energy are Part I's."""
    placement = data.draw(
        st.lists(st.integers(0, inst.num_servers), min_size=inst.num_blocks, max_size=inst.num_blocks)
    )
    alone = partopt.evaluate(inst, placement)
    shared = partopt.evaluate(partopt.Scenario.from_instance(inst), [placement])
    assert shared.block_delay[0] == pytest.approx(alone.block_delay, rel=1e-9, abs=1e-12)
    assert shared.total_delay == pytest.approx(alone.total_delay, rel=1e-9)
    assert shared.energy == pytest.approx(alone.energy, rel=1e-9)
    assert shared.deadlines_met == alone.deadlines_met and shared.budget_kept == alone.budget_kept


scenarios = st.builds(
    lambda seed, k, n, d: partopt.generate(
        "shared",
        seed=seed,
        num_tasks=k,
        num_servers=n,
        num_devices=d,
        networks=("vgg16", "alexnet"),
        available_s=(0.0, 0.1),
    ),
    st.integers(0, 10_000),
    st.integers(1, 7),
    st.integers(1, 4),
    st.integers(1, 3),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios, data=st.data())
def test_fifo_dispatch_is_a_valid_schedule_whose_delays_add_up(sc, data):
    """FIFO never starts a block before its input is ready or its resource is free, and sum_m L = D_k."""
    placement = [data.draw(st.lists(st.integers(0, sc.num_servers), min_size=m, max_size=m)) for m in sc.block_counts]
    ev = partopt.evaluate(sc, placement)
    assert ev.valid, ev.problems
    for k in range(sc.num_tasks):
        assert all(s >= r - 1e-12 for s, r in zip(ev.start_s[k], ev.ready_s[k]))
        assert sum(ev.block_delay[k]) == pytest.approx(ev.task_delay[k], rel=1e-9, abs=1e-12)
    assert sum(ev.task_delay) == pytest.approx(ev.total_delay, rel=1e-12)
    again = partopt.evaluate(sc, placement, fifo_dispatch(sc, ev.placement))
    assert again.valid and again.total_delay == ev.total_delay
    compact = partopt.evaluate(sc, placement, compact_schedule(sc, ev.placement, ev.start_s))
    assert compact.valid and compact.total_delay <= ev.total_delay * (1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), tasks=st.integers(1, 12), servers=st.integers(1, 5), data=st.data())
def test_compiled_fifo_scorer_agrees_with_evaluate(seed, tasks, servers, data):
    """The local search's compiled pricing gives evaluate's delays, penalty and verdicts."""
    from partopt.shared.kernels import FifoScorer

    sc = small(
        seed,
        tasks=tasks,
        num_servers=servers,
        num_devices=2,
        deadline_s=(0.05, 0.5),
        task_deadline_s=(0.1, 1.0),
        available_s=(0.0, 0.05),
        energy_budget_j=data.draw(st.sampled_from([None, 0.01, 1.0])),
    )
    placement = [[data.draw(st.integers(0, servers)) for _ in range(m)] for m in sc.block_counts]
    ev = partopt.evaluate(sc, placement)
    scorer = FifoScorer(sc, stride=data.draw(st.integers(1, 8)))
    met, kept, total, psi = scorer.score(placement)
    assert (met, kept) == (ev.deadlines_met, ev.budget_kept)
    assert total == pytest.approx(ev.total_delay, rel=1e-12) and psi == pytest.approx(ev.penalty, rel=1e-9, abs=1e-12)
    # A move priced from the recorded dispatch is priced as the moved placement from scratch.
    packed = scorer.packed(placement)
    assert scorer.trace(packed) == (met, kept, total, psi)
    k = data.draw(st.integers(0, tasks - 1))
    m, loc = data.draw(st.integers(0, sc.block_counts[k] - 1)), data.draw(st.integers(0, servers))
    moved = [list(row) for row in placement]
    moved[k][m] = loc
    assert scorer.score_move(k, m, loc) == scorer.score(moved)
    assert scorer.rows(packed) == placement  # restored


def test_overlapping_schedule_is_reported_never_priced_as_valid():
    """Two blocks on one server at once, or a block before its input: VIOLATED, objective inf."""
    sc = small(3, tasks=2)
    placement = [[1] * 6, [1] * 6]
    ev = partopt.evaluate(sc, placement)
    bad = [list(ev.start_s[0]), list(ev.start_s[0])]  # task 1 on top of task 0
    broken = partopt.evaluate(sc, placement, bad)
    assert not broken.valid and any("overlaps" in p or "before its input" in p for p in broken.problems)
    early = [list(ev.start_s[0]), [0.0] * 6]
    assert not partopt.evaluate(sc, placement, early).valid

    def cheat(scenario, objective, *, time_limit=None, seed=None):
        return partopt.SolverOutput(placement=placement, start_s=bad)

    partopt.register_solver("cheat", cheat, problem="scenario", replace=True)
    try:
        res = partopt.solve(sc, "cheat")
        assert res.status == partopt.Status.VIOLATED and res.objective == math.inf
        res = partopt.solve(sc, "cheat", objective="penalty")
        assert res.status == partopt.Status.VIOLATED
    finally:
        partopt.unregister_solver("cheat")


# ----------------------------------------------------------------- solvers
HEURISTICS = ["shared-greedy", "earliest-finish", "shared-local-search", "as-if-alone"]


@pytest.mark.parametrize("seed", range(4))
def test_one_task_scenario_equals_dp(seed):
    """K = 1: both exact solvers and earliest-finish give the DP optimum (deadlines and budgets too)."""
    inst = partopt.generate("random", seed=seed, budget_fraction=(0.3, 1.0), num_servers=(1, 3))
    sc = partopt.Scenario.from_instance(inst)
    dp = partopt.solve(inst, "dp")
    for name in ("shared-cpsat", "shared-milp"):
        res = partopt.solve(sc, name, time_limit=30)
        if dp.status == partopt.Status.INFEASIBLE:
            assert res.status == partopt.Status.INFEASIBLE
        else:
            assert res.status == partopt.Status.OPTIMAL and agree(res.objective, dp.objective, sc)
    if dp.feasible and inst.energy_budget_j is None:
        assert partopt.solve(sc, "earliest-finish").objective == pytest.approx(dp.objective, rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_exact_solvers_agree_and_bound_every_heuristic(seed):
    """CP-SAT and the MILP prove the same optimum; bound <= optimum <= every heuristic."""
    sc = small(seed, tasks=2 + seed % 2)
    cp = partopt.solve(sc, "shared-cpsat", time_limit=60)
    milp = partopt.solve(sc, "shared-milp", time_limit=60)
    assert cp.status == milp.status == partopt.Status.OPTIMAL
    assert agree(cp.objective, milp.objective, sc)
    for res in (cp, milp):
        assert bound_of(res) <= res.objective * (1 + 1e-9)
        assert evaluation_of(res, partopt.ScenarioEvaluation).valid and res.start_s is not None
    for name in HEURISTICS:
        h = partopt.solve(sc, name)
        assert h.status == partopt.Status.FEASIBLE
        assert bound_of(cp) <= h.objective * (1 + 1e-9)
        assert cp.objective <= h.objective + sum(sc.block_counts) * GRID


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), tasks=st.integers(3, 4), rate=st.sampled_from([30, 110]), servers=st.integers(1, 3))
def test_work_relaxation_bounds_the_proven_optimum(seed, tasks, rate, servers):
    """The LP bound is at least every task's own bound summed and at most the proven optimum."""
    from partopt.shared.solvers.common import task_lower_bounds
    from partopt.shared.solvers.relaxation import work_bound

    sc = small(seed, tasks=tasks, num_servers=servers, release_rate=rate)
    alone = task_lower_bounds(sc, partopt.Objective("penalty", 0.0))
    exact = partopt.solve(sc, "shared-cpsat", time_limit=5)
    assert exact.start_s is not None
    span = max(max(row) for row in exact.start_s) + 1.0
    bound = work_bound(sc, alone, span)
    assert bound is not None and bound >= sum(alone) * (1 - 1e-6)
    if exact.status == partopt.Status.OPTIMAL:
        assert bound <= exact.objective + sum(sc.block_counts) * GRID


def test_work_relaxation_sees_queueing_that_task_bounds_miss():
    """Many tasks at once on few servers: the LP bound is far above the per-task bounds, below
    every heuristic, and the exact solver reports at least it."""
    from partopt.shared.solvers.start import exact_start

    sc = small(3, tasks=12, num_servers=2, release_rate=110)
    start = start_of(exact_start(sc, partopt.Objective()))
    assert start.work_bound is not None and start.work_bound > 1.2 * sum(start.bounds)
    for name in HEURISTICS:
        assert start.work_bound <= partopt.solve(sc, name).objective
    assert bound_of(partopt.solve(sc, time_limit=8)) >= start.work_bound


# ------------------------------------------------------- chain-schedule LP
@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    tasks=st.integers(1, 3),
    rate=st.sampled_from([30, 110, 400]),
    servers=st.integers(1, 3),
    devices=st.integers(1, 2),
    late_server=st.booleans(),
    grid_s=st.sampled_from([2e-3, 0.5e-3]),
    limit=st.sampled_from([0.3, 5.0]),
)
def test_chain_lp_bounds_the_proven_optimum(seed, tasks, rate, servers, devices, late_server, grid_s, limit):
    """On any grid, converged or stopped early, the chain-schedule LP's bound is at most the
    proven optimum, and at least the tasks' own bounds less the grid's rounding (at most two
    slots a block: its duration's and its transfer's)."""
    from partopt.shared.solvers.columns import chain_lp_bound
    from partopt.shared.solvers.common import task_lower_bounds

    params = {"available_s": (0.0, 0.05)} if late_server else {}
    sc = small(
        seed, tasks=tasks, num_servers=servers, num_devices=devices, release_rate=rate, deadline_s=None, **params
    )
    exact = partopt.solve(sc, "shared-bnb", time_limit=30)
    assume(exact.status == partopt.Status.OPTIMAL)  # three tasks at once on one server can take longer
    alone = task_lower_bounds(sc, partopt.Objective("penalty", 0.0))
    found = chain_lp_bound(
        sc, exact.objective, alone, grid_s=grid_s, time_limit=limit, incumbent=(exact.placement, exact.start_s)
    )
    assert found is not None and found.bound_s <= exact.objective * (1 + 1e-9)
    assert found.bound_s >= sum(alone) - 2 * sum(sc.block_counts) * grid_s - 1e-9
    assert found.lp_s >= found.bound_s - 1e-9 or not found.converged


def test_chain_lp_takes_a_schedule_down_to_the_grid_without_overlaps():
    """The argument the bound rests on: a valid continuous schedule, every start taken down to
    its fine slot, takes no resource's slot more than whole, keeps each block after its input
    on the fine grid, and costs no more than its delays."""
    import numpy as np

    from partopt.shared.solvers.columns import _Pricing

    sc = small(4, tasks=12, num_servers=3, num_devices=2, release_rate=110, deadline_s=None)
    res = partopt.solve(sc, "shared-local-search")
    pricing = _Pricing(sc, 0.5e-3, horizon=10_000)
    ev = evaluation_of(res, partopt.ScenarioEvaluation)
    chains = pricing.taken_down(res.placement, ev.start_s)
    assert chains is not None
    columns = [pricing.column(k, chain) for k, chain in enumerate(chains)]
    used = np.zeros(pricing.n_res * pricing.horizon)
    for _, rows, shares in columns:
        np.add.at(used, rows, shares)
    assert used.max() <= 1 + 1e-9 and used.sum() > 0
    for k, chain in enumerate(chains):
        j0, s0 = chain[0]
        assert s0 >= pricing.first[k, j0]
        for m in range(1, len(chain)):
            (i, before), (j, s) = chain[m - 1], chain[m]
            assert s >= before + pricing.link[k, m, i, j]
        assert columns[k][0] <= ev.task_delay[k] + 1e-12


def test_chain_lp_closes_most_of_the_gap_the_work_relaxation_leaves():
    """Three tasks released within 3 ms on four servers (speed bench, K = 8, seed 0): the
    chain-schedule LP's bound leaves less than half the gap the work relaxation leaves to the
    proven optimum; at K = 8 a time-limited exact solver reports more than the work bound; a
    bad grid is refused naming it."""
    from partopt.shared.solvers.columns import chain_lp_bound
    from partopt.shared.solvers.start import exact_start

    bench = {"networks": ("vgg16",), "num_servers": 4, "num_devices": 2, "release_rate": 60}
    doc = partopt.generate("shared", seed=2_000_000, num_tasks=8, **bench).to_dict()
    sc = partopt.Scenario.from_dict({**doc, "tasks": doc["tasks"][5:]})
    start = start_of(exact_start(sc, partopt.Objective()))
    opt = partopt.solve(sc, "shared-bnb", time_limit=30)
    found = chain_lp_bound(sc, opt.objective, start.delay_low, grid_s=1e-3, incumbent=(opt.placement, opt.start_s))
    assert opt.status == partopt.Status.OPTIMAL and found is not None and start.work_bound is not None
    assert start.work_bound < found.bound_s <= opt.objective
    assert opt.objective - found.bound_s < 0.5 * (opt.objective - start.work_bound)
    eight = partopt.generate("shared", seed=2_000_000, num_tasks=8, **bench)
    res = partopt.solve(eight, "shared-bnb", time_limit=8)  # time for its heuristic, LP and work bound
    eight_start = start_of(exact_start(eight, partopt.Objective()))
    assert res.status == partopt.Status.FEASIBLE and eight_start.lower < bound_of(res) <= res.objective
    with pytest.raises(ValueError, match="grid_s"):
        chain_lp_bound(sc, opt.objective, start.delay_low, grid_s=0.0)


def test_chain_lp_stops_only_when_it_cannot_pass_the_floor():
    """A floor below the LP's optimum changes nothing; a floor between the optimum and a schedule's
    objective stops it as soon as its restricted value reaches the floor (no column could lift
    the bound past it), before it converges, with a bound below the floor."""
    from partopt.shared.solvers.columns import chain_lp_bound
    from partopt.shared.solvers.start import exact_start

    bench = {"networks": ("vgg16",), "num_servers": 4, "num_devices": 2, "release_rate": 60}
    sc = partopt.generate("shared", seed=2_000_001, num_tasks=5, **bench)
    start = start_of(exact_start(sc, partopt.Objective(), work=False))
    ef = partopt.solve(sc, "earliest-finish")

    def lp(floor_s: float = float("-inf")):
        return chain_lp_bound(
            sc, ef.objective, start.delay_low, grid_s=1e-3, incumbent=(ef.placement, ef.start_s), floor_s=floor_s
        )

    free = lp()
    assert free is not None and free.converged and not free.futile and free.bound_s < ef.objective
    below = lp(0.5 * free.bound_s)
    assert below is not None and not below.futile and below.bound_s == pytest.approx(free.bound_s, rel=1e-6)
    floor = 0.5 * (free.bound_s + ef.objective)
    above = lp(floor)
    assert above is not None and above.futile and not above.converged
    assert above.bound_s <= above.lp_s <= floor and above.iterations < free.iterations


# ------------------------------------------------------- priced completions
def _nodes_along(sc: partopt.Scenario, placement, start_s):
    """The branch and bound's node states along a schedule, its blocks taken by start time:
    (free, next block, last location, last end, t*, cost of the finished tasks) before each."""
    import numpy as np

    from partopt.shared.kernels import PackedScenario

    p = PackedScenario(sc)
    free = np.concatenate([p.free0, np.zeros(len(sc.devices))])
    nxt, last_loc, last_end = np.zeros(sc.num_tasks, np.int64), np.zeros(sc.num_tasks, np.int64), p.rel.copy()
    tstar, cost = -np.inf, 0.0
    order = sorted((start_s[k][m], k, m) for k in range(sc.num_tasks) for m in range(len(start_s[k])))
    for s, k, m in order:
        yield free.copy(), nxt.copy(), last_loc.copy(), last_end.copy(), tstar, cost
        j = placement[k][m]
        end = s + p.dur[k, m, j]
        free[j - 1 if j > 0 else sc.num_servers + p.dev[k]] = end
        nxt[k], last_loc[k], last_end[k], tstar = m + 1, j, end, s
        if m + 1 == p.nblk[k]:
            cost += end + p.ret[k, j] - p.rel[k]


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    tasks=st.integers(1, 4),
    rate=st.sampled_from([30, 110, 400]),
    devices=st.integers(1, 2),
    lp_prices=st.booleans(),
    coarse_s=st.sampled_from([1e-3, 0.5e-3, 4e-3]),
    busy=st.booleans(),
)
def test_priced_completions_never_pass_the_optimum_along_its_path(
    seed, tasks, rate, devices, lp_prices, coarse_s, busy
):
    """The priced bound of every node on the path to a proven optimum, at the LP's prices or at
    random ones, is at most the optimum: the relaxation holds in continuous time at any prices,
    servers busy at the start of the slot included."""
    import numpy as np

    from partopt.shared.kernels import PackedScenario
    from partopt.shared.solvers.columns import chain_lp_bound
    from partopt.shared.solvers.common import delay_caps, task_lower_bounds
    from partopt.shared.solvers.priced import completion_tables, priced_bound_kernel

    busy_s = {"available_s": (0.0, 0.05)} if busy else {}
    sc = small(seed, tasks=tasks, num_devices=devices, release_rate=rate, deadline_s=None, **busy_s)
    opt = partopt.solve(sc, "shared-bnb", time_limit=5, priced=False)  # a draw not proven in 5 s is skipped
    assume(opt.status == partopt.Status.OPTIMAL)
    alone = task_lower_bounds(sc, partopt.Objective("penalty", 0.0))
    caps = delay_caps(opt.objective, alone)
    if lp_prices:
        lp = chain_lp_bound(
            sc, opt.objective, alone, grid_s=coarse_s, incumbent=(opt.placement, opt.start_s), time_limit=0.5
        )
        assert lp is not None
        prices = lp.prices
    else:
        slots = int(max(t.release_s + c for t, c in zip(sc.tasks, caps)) / coarse_s) + 2
        prices = np.random.default_rng(seed).exponential(coarse_s, (sc.num_servers + devices, slots))
    tables = completion_tables(sc, prices, coarse_s, caps)
    p = PackedScenario(sc)
    assert tables.root_bound(sc) <= opt.objective * (1 + 1e-9)
    for free, nxt, loc, end, tstar, cost in _nodes_along(sc, opt.placement, opt.start_s):
        node = priced_bound_kernel(  # type: ignore[call-arg]  # numba's dispatcher stub
            *tables.kernel_args(), p.trans, p.dev, p.nblk, sc.num_servers, free, nxt, loc, end, tstar, cost
        )
        assert node <= opt.objective * (1 + 1e-9)


def test_priced_root_bound_is_the_lp_bound_when_servers_start_busy():
    """At the LP's own prices the tables' root bound is the LP's bound: a block's completion never
    starts on a server before it is free (it did, for free, and the root fell 7% below the LP
    here, 3.4% on a mixed K = 8 scenario whose two servers were busy for 30 ms)."""
    from partopt.shared.generators import SHARED_MIX
    from partopt.shared.solvers.columns import chain_lp_bound
    from partopt.shared.solvers.common import delay_caps, task_lower_bounds
    from partopt.shared.solvers.priced import completion_tables

    sc = partopt.generate("shared", seed=2, **{**SHARED_MIX, "num_tasks": 3, "mix": True})
    assert max(s.available_s for s in sc.servers) > 0.02
    upper = partopt.solve(sc, "earliest-finish")
    low = task_lower_bounds(sc, partopt.Objective("penalty", 0.0))
    lp = chain_lp_bound(sc, upper.objective, low, grid_s=1e-3, incumbent=(upper.placement, upper.start_s))
    assert lp is not None and lp.converged
    tables = completion_tables(sc, lp.prices, lp.grid_s, delay_caps(upper.objective, low))
    assert tables.fine_s == lp.fine_s
    assert math.isclose(tables.root_bound(sc), lp.bound_s, rel_tol=1e-9)


def test_priced_search_proves_the_same_optimum_with_far_fewer_nodes():
    """Five tasks of the speed bench: the branch and bound with and without priced completions
    proves the same optimum, the priced search in under a tenth of the nodes."""
    bench = {"networks": ("vgg16",), "num_servers": 4, "num_devices": 2, "release_rate": 60}
    sc = partopt.generate("shared", seed=2_000_001, num_tasks=5, **bench)
    runs = [partopt.solve(sc, "shared-bnb", time_limit=120, priced=flag, probe=False) for flag in (True, False)]
    assert all(r.status == partopt.Status.OPTIMAL for r in runs)
    assert math.isclose(runs[0].objective, runs[1].objective, rel_tol=1e-9)
    assert runs[0].info["priced_root_bound"] <= runs[0].objective
    assert runs[0].info["nodes"] < runs[1].info["nodes"] / 10


def test_lp_slots_double_from_the_finest_until_the_horizon_fits():
    """The LP's slot is the finest one times a power of two: the finest on a short horizon, and
    the least doubling that cuts a long one into at most the slots asked."""
    from partopt.shared.solvers.columns import _task_ends, lp_slot_s

    sc = small(3, tasks=4, release_rate=60)
    upper = partopt.solve(sc, "earliest-finish").objective
    horizon = max(_task_ends(sc, upper, None))
    for finest, slots in [(1e-3, 10**6), (1e-3, 20), (0.5e-3, 7), (2e-3, 1)]:
        slot = lp_slot_s(sc, upper, finest_s=finest, max_slots=slots)
        doublings = math.log2(slot / finest)
        assert doublings == int(doublings) >= 0
        assert horizon / slot <= slots or slot == finest
        assert doublings == 0 or horizon / (slot / 2) > slots


def test_priced_search_on_coarse_slots_then_fine_keeps_the_optimum(monkeypatch):
    """Slots coarsened by a long horizon (forced here by allowing the LP 8 slots): the LP is
    solved on the coarse slots first, then on the fine ones, the tables of the higher bound are
    kept, and the search proves the optimum of the unpriced search."""
    import partopt.shared.solvers.columns as columns
    import partopt.shared.solvers.priced as priced

    bench = {"networks": ("vgg16",), "num_servers": 4, "num_devices": 2, "release_rate": 60}
    sc = partopt.generate("shared", seed=2_000_001, num_tasks=4, **bench)
    plain = partopt.solve(sc, "shared-bnb", time_limit=60, priced=False)
    grids: list[float] = []
    bounds: list[float] = []

    unrecorded = columns.chain_lp_bound

    def recorded(*args, grid_s, **kwargs):
        found = unrecorded(*args, grid_s=grid_s, **kwargs)
        grids.append(grid_s)
        bounds.append(-math.inf if found is None else found.bound_s)
        return found

    monkeypatch.setattr(columns, "LP_MAX_SLOTS", 8)
    monkeypatch.setattr(columns, "chain_lp_bound", recorded)
    coarse = partopt.solve(sc, "shared-bnb", time_limit=60, probe=False)
    assert plain.status == coarse.status == partopt.Status.OPTIMAL
    assert math.isclose(plain.objective, coarse.objective, rel_tol=1e-9)
    assert len(grids) == 2 and grids[1] == priced.PRICED_SLOT_S < grids[0]
    assert math.log2(grids[0] / grids[1]).is_integer()
    assert coarse.info["priced_slot_s"] == pytest.approx(grids[bounds.index(max(bounds))])
    assert coarse.info["priced_root_bound"] <= coarse.objective * (1 + 1e-9)


@pytest.mark.slow  # about a minute: drafts until four cases prove within 5 s; the bound tests cover pricing
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    rate=st.sampled_from([30, 110]),
    devices=st.integers(1, 2),
    kind=st.sampled_from(["hard", "penalty"]),
    late_server=st.booleans(),
    budget=st.sampled_from([None, 0.05, 1.0]),
)
def test_priced_children_keep_the_optimum(seed, rate, devices, kind, late_server, budget):
    """Four tasks (the fewest the branch and bound prices): pricing every child, leaving out those
    at the incumbent and trying the cheapest first proves the optimum of the unpriced search,
    with servers free late, energy budgets and both objectives."""
    params = {"available_s": (0.0, 0.05)} if late_server else {}
    sc = small(seed, tasks=4, num_devices=devices, release_rate=rate, deadline_s=None, energy_budget_j=budget, **params)
    runs = [
        partopt.solve(sc, "shared-bnb", objective=kind, time_limit=5, priced=flag, probe=False)
        for flag in (True, False)
    ]
    assume(all(r.status == partopt.Status.OPTIMAL for r in runs))
    assert "priced_root_bound" in runs[0].info
    assert math.isclose(runs[0].objective, runs[1].objective, rel_tol=1e-9)


@pytest.mark.slow  # the probe is off by default
def test_a_search_that_finishes_without_the_lp_skips_it():
    """Four tasks the search alone proves in a moment: the probe before the LP finishes, no LP is
    solved, and the optimum is the one the priced search proves."""
    bench = {"networks": ("vgg16",), "num_servers": 4, "num_devices": 2, "release_rate": 60}
    sc = partopt.generate("shared", seed=2_000_001, num_tasks=4, **bench)
    quick, priced = (partopt.solve(sc, "shared-bnb", time_limit=60, probe=flag) for flag in (True, False))
    assert quick.status == priced.status == partopt.Status.OPTIMAL
    assert math.isclose(quick.objective, priced.objective, rel_tol=1e-9)
    assert "probe_s" in quick.info and "priced_s" not in quick.info
    assert "probe_s" not in priced.info and "priced_s" in priced.info


@pytest.mark.parametrize("seed,kind", [(0, "hard"), (1, "hard"), (2, "penalty")])
def test_release_order_symmetry_keeps_the_optimum(seed, kind):
    """Identical tasks released at different times: ordering their chain schedules by release
    proves the same optimum as the model without the rule."""
    sc = small(seed, tasks=3, num_servers=3, num_devices=1, networks=("vgg16",), release_rate=60)
    kinds = {t.model for t in sc.tasks}
    assert len(kinds) == 1 and len({t.release_s for t in sc.tasks}) == 3
    runs = [partopt.solve(sc, "shared-cpsat", objective=kind, time_limit=30, symmetry=sym) for sym in (True, False)]
    assert all(r.status == partopt.Status.OPTIMAL for r in runs)
    assert agree(runs[0].objective, runs[1].objective, sc)


@pytest.mark.parametrize("seed", range(2))
def test_deadlines_tight_to_the_grid_never_claim_infeasible(seed):
    """Block deadlines set to the earliest-finish schedule's own worst delays: CP-SAT's grid
    cannot hold that schedule, yet it is feasible, so the answer is feasible, never infeasible."""
    import dataclasses

    from partopt.shared.evaluation import evaluate_scenario
    from partopt.shared.solvers.heuristics import earliest_finish_schedule

    sc = small(seed, tasks=4, num_servers=2, networks=("vgg16",), release_rate=110)
    placement, start_s = earliest_finish_schedule(sc, True)
    ev = evaluate_scenario(sc, placement, start_s)
    name = sc.tasks[0].model
    blocks = tuple(
        dataclasses.replace(b, deadline_s=max(row[m] for row in ev.block_delay) * (1 + 1e-10))
        for m, b in enumerate(sc.models[name].blocks)
    )
    tight = dataclasses.replace(sc, models={name: dataclasses.replace(sc.models[name], blocks=blocks)})
    res = partopt.solve(tight, time_limit=10)
    assert (
        res.status in (partopt.Status.FEASIBLE, partopt.Status.OPTIMAL)
        and evaluation_of(res, partopt.ScenarioEvaluation).feasible
    )


def test_solve_with_no_solver_named_runs_the_exact_portfolio_on_a_scenario():
    """Ground truth in one call; a chain solver on a scenario is refused, naming the right ones."""
    sc = small(4, tasks=2)
    assert partopt.solve(sc).solver == "shared-exact"
    with pytest.raises(ValueError, match="shared-cpsat"):
        partopt.solve(sc, "dp")
    with pytest.raises(ValueError, match="solves a scenario"):
        partopt.solve(partopt.generate("paper"), "earliest-finish")


def test_time_limit_returns_best_found_with_its_status():
    """A short limit still returns a feasible schedule, with a bound, and no proof claimed."""
    sc = small(5, tasks=10, num_servers=4)
    res = partopt.solve(sc, time_limit=1.0)
    assert res.runtime < 10
    assert res.status in (partopt.Status.FEASIBLE, partopt.Status.OPTIMAL)
    assert res.lower_bound is not None and res.lower_bound <= res.objective


def test_infeasible_is_a_status():
    """Deadlines no placement can keep: exact solvers say infeasible; heuristics are violated."""
    sc = small(6, tasks=3, deadline_s=1e-4)
    assert partopt.solve(sc, "shared-cpsat", time_limit=20).status == partopt.Status.INFEASIBLE
    assert partopt.solve(sc, "shared-milp", time_limit=20).status == partopt.Status.INFEASIBLE
    assert partopt.solve(sc, "as-if-alone").status == partopt.Status.INFEASIBLE
    assert partopt.solve(sc, "shared-greedy").status == partopt.Status.VIOLATED


def test_tight_budget_and_task_deadline_are_kept_by_the_exact_solver():
    """With a binding device budget and end-to-end deadlines the optimum keeps both."""
    loose = small(7, tasks=3)
    free = partopt.solve(loose, time_limit=30)
    used = evaluation_of(free, partopt.ScenarioEvaluation).device_energy
    budget = 0.8 * min(used[d] for d in range(loose.num_devices) if used[d] > 0)
    tight = loose.replace(
        devices=tuple(d.__class__(**{**d.__dict__, "energy_budget_j": budget}) for d in loose.devices)
    )
    res = partopt.solve(tight, time_limit=30)
    if res.feasible:
        assert evaluation_of(res, partopt.ScenarioEvaluation).budget_kept
        assert res.objective >= free.objective * (1 - 1e-6)
    else:
        assert res.status == partopt.Status.INFEASIBLE


def test_penalty_objective_prices_lateness():
    """Under "penalty" a tight deadline is priced, not refused, and the exact solver is no worse than heuristics."""
    sc = small(8, tasks=3, deadline_s=0.05)
    res = partopt.solve(sc, objective="penalty", beta=2.0, time_limit=30)
    assert res.status in (partopt.Status.OPTIMAL, partopt.Status.FEASIBLE)
    ev = evaluation_of(res, partopt.ScenarioEvaluation)
    assert res.objective == pytest.approx(ev.total_delay + 2.0 * ev.penalty)
    for name in HEURISTICS:
        h = partopt.solve(sc, name, objective="penalty", beta=2.0)
        assert res.objective <= h.objective * (1 + 1e-6) + sum(sc.block_counts) * GRID


def test_heuristics_are_deterministic_and_fast_per_task():
    """Same scenario, same answer; earliest-finish's own schedule is valid."""
    sc = small(9, tasks=32, num_servers=4)
    for name in HEURISTICS:
        a, b = partopt.solve(sc, name), partopt.solve(sc, name)
        assert a.placement == b.placement and a.objective == b.objective
        assert evaluation_of(a, partopt.ScenarioEvaluation).valid


def test_local_search_effort_bounds_the_work_and_keeps_the_start():
    """dispatches_per_task bounds the blocks dispatched; the answer is never worse than the
    earliest-finish start; bad settings are refused naming the option."""
    sc = small(10, tasks=24, num_servers=4, release_rate=100)
    ef = partopt.solve(sc, "earliest-finish")
    runs = {effort: partopt.solve(sc, "shared-local-search", dispatches_per_task=effort) for effort in (10, 200, None)}
    for effort, res in runs.items():
        assert res.objective <= ef.objective * (1 + 1e-12)
        if effort is not None:  # stops at the first move past the budget
            assert res.info["dispatched"] <= effort * sc.num_tasks + 2 * sum(sc.block_counts)
    assert runs[None].objective <= runs[10].objective * (1 + 1e-12)
    fifo = partopt.solve(sc, "shared-local-search", dispatch="fifo")
    assert fifo.objective <= ef.objective * (1 + 1e-12) and evaluation_of(fifo, partopt.ScenarioEvaluation).valid
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="dispatches_per_task"):
            partopt.solve(sc, "shared-local-search", dispatches_per_task=bad)
    with pytest.raises(ValueError, match="dispatch: must be 'fifo' or 'list'"):
        partopt.solve(sc, "shared-local-search", dispatch="lifo")


def test_cpsat_params_take_repeated_fields_and_name_bad_ones():
    sc = small(11, tasks=2)
    res = partopt.solve(
        sc, "shared-cpsat", time_limit=10, params={"subsolvers": ["default_lp", "max_lp"], "num_workers": 2}
    )
    assert res.status == partopt.Status.OPTIMAL
    with pytest.raises(ValueError, match="params: 'num_workers' cannot be set to 'x'"):
        partopt.solve(sc, "shared-cpsat", params={"num_workers": "x"})
    with pytest.raises(ValueError, match="not a CP-SAT parameter"):
        partopt.solve(sc, "shared-cpsat", params={"no_such_thing": 1})


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), tasks=st.integers(1, 10), servers=st.integers(1, 4), data=st.data())
def test_compiled_list_schedule_pricing_agrees_with_evaluate(seed, tasks, servers, data):
    """AppendScorer's list schedule in any order is a valid schedule whose figures evaluate
    reports; a move priced from the recorded state equals the moved placement priced anew."""
    from partopt.shared.kernels import AppendScorer

    sc = small(
        seed,
        tasks=tasks,
        num_servers=servers,
        num_devices=2,
        deadline_s=(0.05, 0.5),
        task_deadline_s=(0.1, 1.0),
        available_s=(0.0, 0.05),
        energy_budget_j=data.draw(st.sampled_from([None, 0.01, 1.0])),
    )
    order = data.draw(st.permutations(range(tasks)))
    placement = [[data.draw(st.integers(0, servers)) for _ in range(m)] for m in sc.block_counts]
    scorer = AppendScorer(sc, order)
    packed = scorer.packed(placement)
    met, kept, total, psi = scorer.trace(packed)
    ev = partopt.evaluate(sc, placement, scorer.start_times())
    assert ev.valid and (met, kept) == (ev.deadlines_met, ev.budget_kept)
    assert total == pytest.approx(ev.total_delay, rel=1e-12) and psi == pytest.approx(ev.penalty, rel=1e-9, abs=1e-12)
    k = data.draw(st.integers(0, tasks - 1))
    m, loc = data.draw(st.integers(0, sc.block_counts[k] - 1)), data.draw(st.integers(0, servers))
    moved = [list(row) for row in placement]
    moved[k][m] = loc
    assert scorer.score_move(k, m, loc) == scorer.score(moved)
    with pytest.raises(ValueError, match="order"):
        AppendScorer(sc, [*order, 0])


# ------------------------------------------------------- branch and bound
@pytest.mark.parametrize("seed", range(3))
def test_branch_and_bound_proves_the_cpsat_optimum_in_continuous_time(seed):
    """shared-bnb proves CP-SAT's optimum (no grid: never worse than CP-SAT's, by at most its
    rounding), its bound equals its objective, and it bounds every heuristic."""
    sc = small(seed, tasks=2 + seed % 2, num_servers=3)
    bnb = partopt.solve(sc, "shared-bnb", time_limit=60)
    cp = partopt.solve(sc, "shared-cpsat", time_limit=60)
    assert bnb.status == cp.status == partopt.Status.OPTIMAL
    assert agree(bnb.objective, cp.objective, sc) and bnb.objective <= cp.objective * (1 + 1e-12)
    assert bnb.lower_bound == pytest.approx(bnb.objective, rel=1e-12)
    assert evaluation_of(bnb, partopt.ScenarioEvaluation).valid and bnb.start_s is not None
    for name in HEURISTICS:
        assert bnb.objective <= partopt.solve(sc, name).objective * (1 + 1e-12)


def test_branch_and_bound_one_task_equals_dp():
    """K = 1 (the paper's deadlines never bind): the single-chain optimum."""
    for seed in range(3):
        inst = partopt.generate("paper", seed=seed)
        res = partopt.solve(partopt.Scenario.from_instance(inst), "shared-bnb")
        assert res.status == partopt.Status.OPTIMAL
        assert res.objective == pytest.approx(partopt.solve(inst, "dp").objective, rel=1e-9)


@pytest.mark.parametrize(
    "seed,tasks,servers,rate,kind",
    [(0, 3, 2, 110, "hard"), (1, 3, 3, 400, "penalty"), (2, 2, 1, 30, "hard"), (3, 3, 3, 60, "hard")],
)
def test_branch_and_bound_dominance_changes_no_answer(seed, tasks, servers, rate, kind):
    """The dominance table only drops nodes no better than one explored: the same optimum without it."""
    sc = small(seed, tasks=tasks, num_servers=servers, release_rate=rate, deadline_s=None)
    runs = [partopt.solve(sc, "shared-bnb", objective=kind, time_limit=60, memo=memo) for memo in (True, False)]
    assert all(r.status == partopt.Status.OPTIMAL for r in runs)
    assert runs[0].objective == pytest.approx(runs[1].objective, rel=1e-12)
    assert runs[0].info["nodes"] <= runs[1].info["nodes"]


@pytest.mark.parametrize(
    "seed,tasks,kind,budget",
    [
        (0, 4, "hard", False),
        (2, 4, "hard", True),
        pytest.param(1, 5, "penalty", False, marks=pytest.mark.slow),
        pytest.param(3, 5, "hard", False, marks=pytest.mark.slow),
    ],
)
def test_branch_and_bound_twins_change_no_answer(seed, tasks, kind, budget):
    """Tasks of one device and model (twins) matched in any order by the dominance table: the same
    optimum as the search without the table, with fewer nodes; a binding energy budget too."""
    from partopt.shared.kernels import PackedScenario
    from partopt.shared.solvers.bnb import twin_groups

    sc = small(seed, tasks=tasks, networks=("vgg16",), num_blocks=3, num_servers=2, num_devices=1, deadline_s=None)
    if budget:
        least = partopt.solve(sc, "shared-bnb", objective=kind, time_limit=60, priced=False)
        spent = max(evaluation_of(least, partopt.ScenarioEvaluation).device_energy)
        tight = [d.__class__(**{**d.__dict__, "energy_budget_j": 0.9 * spent}) for d in sc.devices]
        sc = sc.replace(devices=tuple(tight))
    assert (twin_groups(PackedScenario(sc), relax=False) == 0).all()
    runs = [
        partopt.solve(sc, "shared-bnb", objective=kind, time_limit=120, memo=memo, priced=False)
        for memo in (True, False)
    ]
    assert runs[0].status == runs[1].status
    assert runs[0].status in (partopt.Status.OPTIMAL, partopt.Status.INFEASIBLE)
    if runs[0].feasible:
        assert runs[0].objective == pytest.approx(runs[1].objective, rel=1e-12)
    assert runs[0].info["nodes"] < runs[1].info["nodes"]


@pytest.mark.slow  # a few minutes: six tasks proven twice each
@pytest.mark.parametrize("seed,kind", [(10, "hard"), (11, "penalty"), (12, "hard"), (13, "hard")])
def test_twins_keep_the_optimum_at_six_tasks(seed, kind, monkeypatch):
    """Six tasks on one device, three blocks: the default search (twins matched in any order) and
    the search that matches no twins prove the same optimum, each from its own tree."""
    import numpy as np

    from partopt.shared.solvers import bnb

    sc = small(seed, tasks=6, networks=("vgg16",), num_blocks=3, num_servers=3, num_devices=1, release_rate=90)
    matched = partopt.solve(sc, "shared-bnb", objective=kind, time_limit=300)
    monkeypatch.setattr(bnb, "twin_groups", lambda packed, relax: np.full(packed.rel.size, -1, np.int64))
    plain = partopt.solve(sc, "shared-bnb", objective=kind, time_limit=300)
    assert matched.status == plain.status == partopt.Status.OPTIMAL
    assert matched.objective == pytest.approx(plain.objective, rel=1e-9)


def test_twins_are_tasks_alike_but_for_their_release():
    """Twins share a device and every table and have no task deadline; none under relaxed block deadlines."""
    from partopt.shared.kernels import PackedScenario
    from partopt.shared.solvers.bnb import twin_groups

    sc = small(5, tasks=5, networks=("vgg16",), num_blocks=3, num_devices=2, deadline_s=None)
    doc = sc.to_dict()
    doc["tasks"][0]["deadline_s"] = 1.0
    marked = partopt.Scenario.from_dict(doc)
    twins = twin_groups(PackedScenario(marked), relax=False)
    devices = [t.device for t in marked.tasks]
    assert twins[0] == -1
    for a in range(1, 5):
        for b in range(1, 5):
            assert (twins[a] == twins[b] and twins[a] >= 0) == (a != b and devices[a] == devices[b]) or a == b
    assert (twin_groups(PackedScenario(sc), relax=True) == -1).all()


def test_branch_and_bound_keeps_budgets_and_task_deadlines():
    """A binding budget and end-to-end deadlines: the proven optimum keeps both and agrees with CP-SAT."""
    loose = small(7, tasks=3, deadline_s=None, task_deadline_s=(0.2, 0.4))
    free = partopt.solve(loose, "shared-bnb", time_limit=30)
    budget = 0.8 * max(evaluation_of(free, partopt.ScenarioEvaluation).device_energy)
    tight = loose.replace(
        devices=tuple(d.__class__(**{**d.__dict__, "energy_budget_j": budget}) for d in loose.devices)
    )
    bnb = partopt.solve(tight, "shared-bnb", time_limit=30)
    cp = partopt.solve(tight, "shared-cpsat", time_limit=30)
    assert bnb.status == cp.status
    if bnb.feasible:
        ev = evaluation_of(bnb, partopt.ScenarioEvaluation)
        assert ev.budget_kept and ev.deadlines_met
        assert agree(bnb.objective, cp.objective, tight)


@pytest.mark.parametrize("seed", [11])
def test_branch_and_bound_with_deadlines_that_bind_proves_what_the_milp_proves(seed):
    """Block deadlines tight enough to bind (semi-active schedules may break them): the search
    leaves them out, keeps them at each leaf by delaying blocks, and proves the optimum the
    continuous-time MILP proves; CP-SAT's agrees within its grid."""
    sc = small(seed, tasks=3, deadline_s=(0.02, 0.06))
    res = partopt.solve(sc, "shared-bnb", time_limit=60)
    milp = partopt.solve(sc, "shared-milp", time_limit=60)
    cp = partopt.solve(sc, "shared-cpsat", time_limit=60)
    assert res.info["relaxed_deadlines"] and res.status == milp.status == partopt.Status.OPTIMAL
    assert (
        res.objective == pytest.approx(milp.objective, rel=1e-6)
        and evaluation_of(res, partopt.ScenarioEvaluation).deadlines_met
    )
    if cp.status == partopt.Status.OPTIMAL:
        assert agree(res.objective, cp.objective, sc)


def test_branch_and_bound_time_limit_returns_best_found_with_a_bound():
    """A short limit on a large scenario: a feasible schedule, a bound below it, no proof claimed."""
    sc = small(5, tasks=12, num_servers=4, release_rate=110, deadline_s=None)
    res = partopt.solve(sc, "shared-bnb", time_limit=2.0)
    assert res.runtime < 10 and res.status == partopt.Status.FEASIBLE
    assert res.lower_bound is not None and res.lower_bound <= res.objective


def test_branch_and_bound_starts_from_a_given_incumbent():
    """A known solution seeds the search (it then has less to do); a malformed one is refused, naming it."""
    sc = small(9, tasks=3)
    cp = partopt.solve(sc, "shared-cpsat", time_limit=30)
    alone = partopt.solve(sc, "shared-bnb", time_limit=30)
    seeded = partopt.solve(sc, "shared-bnb", time_limit=30, incumbent=(cp.placement, cp.start_s))
    assert alone.status == seeded.status == partopt.Status.OPTIMAL
    assert seeded.objective == pytest.approx(alone.objective, rel=1e-12)
    assert seeded.info["nodes"] <= alone.info["nodes"]
    with pytest.raises(ValueError, match="incumbent"):
        partopt.solve(sc, "shared-bnb", incumbent=[[1, 1]])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), servers=st.integers(1, 4), data=st.data())
def test_branch_and_bound_chain_bound_is_the_earliest_finish_dp(seed, servers, data):
    """The search's per-task bound from a task's release equals the Python earliest-finish DP
    against the same free times (servers, then the devices' CPUs)."""
    import numpy as np

    from partopt.shared.kernels import PackedScenario
    from partopt.shared.solvers.bnb import _chain_bound
    from partopt.shared.solvers.common import earliest_finish_chain

    sc = small(seed, tasks=2, num_servers=servers)
    p = PackedScenario(sc)
    free = np.array(
        data.draw(st.lists(st.floats(0, 0.3), min_size=servers + sc.num_devices, max_size=servers + sc.num_devices))
    )
    locs = servers + 1
    for k, task in enumerate(sc.tasks):
        got = _chain_bound(
            k,
            p.dur,
            p.trans,
            p.ret,
            p.dev,
            p.nblk,
            servers,
            free,
            0,
            0,
            task.release_s,
            -np.inf,
            np.empty(locs),
            np.empty(locs),
        )
        ref = earliest_finish_chain(sc.tables[k], task.release_s, [free[servers + task.device], *free[:servers]])
        assert ref is not None
        assert got - task.release_s == pytest.approx(ref.delay, rel=1e-12)


def test_default_portfolio_proves_what_the_branch_and_bound_proves_and_keeps_the_best_of_both():
    """shared-exact: where the branch and bound proves, its optimum (continuous time); where it
    does not, CP-SAT from its schedule: the answer is no worse than either's schedule, its bound
    the higher valid one, and beyond 16 tasks the order search, then CP-SAT from its schedule:
    no worse than the local search's (timings: no test, see bench/results/shared_speed.md)."""
    sc = small(2, tasks=4)
    exact = partopt.solve(sc, time_limit=30)
    bnb = partopt.solve(sc, "shared-bnb", time_limit=30)
    assert exact.solver == "shared-exact" and exact.status == bnb.status == partopt.Status.OPTIMAL
    assert exact.objective == pytest.approx(bnb.objective, rel=1e-9) and exact.info["proven_by"] == "shared-bnb"
    big = small(3, tasks=12, num_servers=2, release_rate=110)
    res = partopt.solve(big, time_limit=12)  # room for CP-SAT beside the branch and bound (MIN_BESIDE_S)
    assert res.lower_bound is not None and res.lower_bound <= res.objective
    assert (
        res.info.get("proven_by") == "shared-bnb"
        or {"first", "then"} <= set(res.info)
        or res.info.get("answered_by") == "shared-cpsat"
    )
    many = small(4, tasks=17, num_servers=4)
    res = partopt.solve(many, time_limit=3)
    assert res.info["first"]["solver"] == "shared-order-search" and res.info["then"]["solver"] == "shared-cpsat"
    local = partopt.solve(many, "shared-local-search")
    assert res.objective <= local.objective * (1 + 1e-9) and bound_of(res) <= res.objective


def test_portfolio_proves_with_binding_deadlines_and_probes_when_no_heuristic_is_feasible():
    """Block deadlines that may bind: the default proves by the branch and bound (the MILP, in
    continuous time, agrees). Where no heuristic schedule keeps every deadline, CP-SAT probes
    first and proves an infeasible scenario infeasible before the branch and bound runs."""
    sc = partopt.generate("shared", seed=0, num_tasks=3, mix=True, networks=("vgg16", "nin"))
    res = partopt.solve(sc, time_limit=30)
    milp = partopt.solve(sc, "shared-milp", time_limit=30)
    assert res.status == milp.status == partopt.Status.OPTIMAL and res.info["proven_by"] == "shared-bnb"
    assert res.objective == pytest.approx(milp.objective, rel=1e-6)
    tight = small(8, tasks=3, deadline_s=(0.02, 0.06))
    res = partopt.solve(tight, time_limit=30)
    assert res.status == partopt.Status.INFEASIBLE and res.info["proven_by"] == "shared-cpsat"
    assert partopt.solve(tight, "shared-milp", time_limit=30).status == partopt.Status.INFEASIBLE


def test_live_incumbent_and_bound_are_valid():
    """What an exact search reports while it runs (the CLI's live line) is a claim too: every
    incumbent at or above the proven optimum, every bound at or below it, for each exact solver."""
    from partopt.progress import watching

    sc = partopt.generate("shared", seed=3, num_tasks=4, release_rate=90)
    proven = partopt.solve(sc, "shared-bnb", time_limit=60)
    assert proven.status.value == "optimal"
    optimum = proven.objective
    for solver in ("shared-exact", "shared-bnb", "shared-cpsat"):
        seen: list[tuple[str, float, float]] = []
        with watching(lambda name, incumbent, bound: seen.append((name, incumbent, bound))):
            partopt.solve(sc, solver, time_limit=3)
        assert seen, solver
        for name, incumbent, bound in seen:
            assert name in ("shared-bnb", "shared-cpsat")
            assert incumbent >= optimum * (1 - 1e-9), (solver, name, incumbent, optimum)
            assert bound <= optimum * (1 + 1e-9), (solver, name, bound, optimum)


def test_cpsat_hands_each_schedule_it_finds_to_on_schedule():
    """What CP-SAT hands over while it searches (the default solver offers it to the branch and
    bound beside it) is a claim too: every schedule valid and feasible in continuous time, and
    the answer no worse than the best of them."""
    from partopt.objective import Objective
    from partopt.shared.solvers.cpsat import solve_shared_cpsat

    sc = partopt.generate("shared", seed=5, num_tasks=6, mix=True)
    handed: list[tuple[list, list]] = []
    out = solve_shared_cpsat(
        sc, Objective("hard"), time_limit=3, chain_lp=False, on_schedule=lambda p, s: handed.append((p, s))
    )
    assert handed and out.placement is not None
    costs = []
    for placement, start_s in handed:
        ev = partopt.evaluate(sc, placement, start_s)
        assert not ev.problems and ev.feasible, ev.problems
        costs.append(ev.total_delay)
    answer = partopt.evaluate(sc, out.placement, out.start_s).total_delay
    assert answer <= min(costs) * (1 + 1e-9)


@pytest.mark.slow  # 20 s: CP-SAT joins only after the LP and the tree's time alone
def test_live_line_hears_cpsat_beside_the_branch_and_bound():
    """The default solver runs CP-SAT in a thread beside the branch and bound: its reports reach the
    caller's watcher too, and every bound reported stays at or below the answer's schedule."""
    from partopt.progress import watching

    sc = partopt.generate("shared", seed=0, num_tasks=12, release_rate=90)
    seen: list[tuple[str, float, float]] = []
    with watching(lambda name, incumbent, bound: seen.append((name, incumbent, bound))):
        res = partopt.solve(sc, time_limit=20)  # CP-SAT joins after the LP and the tree's time alone
    assert res.status != partopt.Status.OPTIMAL, "proven within the tree's time alone: no CP-SAT beside it"
    assert {name for name, _, _ in seen} == {"shared-bnb", "shared-cpsat"}
    assert all(bound <= res.objective * (1 + 1e-9) for _, _, bound in seen)
    assert min(incumbent for _, incumbent, _ in seen) >= res.objective * (1 - 1e-9)


@pytest.mark.parametrize(
    "params,kind",
    [
        ({"seed": 0, "num_tasks": 4, "release_rate": 90}, "hard"),
        ({"seed": 1, "num_tasks": 4, "release_rate": 200, "num_servers": 2}, "penalty"),
        ({"seed": 5, "num_tasks": 4, "mix": True}, "hard"),
        ({"seed": 6, "num_tasks": 3, "mix": True}, "penalty"),
    ],
)
def test_branch_and_bound_pruning_by_a_schedule_found_elsewhere_keeps_the_optimum(params, kind):
    """BranchAndBound.offer: a schedule handed to the search midway (the default solver hands it
    CP-SAT's) becomes its incumbent and prunes from then on; the proof still stands and names the
    same optimum as a run alone, whether the schedule offered is the optimum or a worse one."""
    from partopt.objective import Objective
    from partopt.shared.solvers.bnb import BranchAndBound

    sc = partopt.generate("shared", **params)
    goal = Objective(kind, 1.0)
    # 10 s: the tree proves these in well under a second; the limit caps the LP's share (30%).
    alone = partopt.solve(sc, "shared-bnb", objective=kind, time_limit=10)
    assert alone.status == partopt.Status.OPTIMAL
    optimum = goal.raw_value(evaluation_of(alone, partopt.ScenarioEvaluation))
    worse = partopt.solve(sc, "earliest-finish")
    for offered in (alone, worse):
        run = BranchAndBound(sc, goal, time_limit=10)
        assert run.search is not None
        run.search.run(50)  # partway: what it found so far may cost more than the offer
        run.offer(offered.placement, offered.start_s)
        run.advance()
        answer = run.answer()
        assert answer.proven_optimal and answer.placement is not None
        value = goal.raw_value(evaluate_scenario(sc, answer.placement, answer.start_s))
        assert value == pytest.approx(optimum, rel=1e-9)
