"""Heuristics: what each one places, and that none ever beats the optimum."""

import pytest
from helpers import instances, placement_of
from hypothesis import given
from hypothesis import strategies as st

import partopt
from partopt import Status

HEURISTICS = partopt.list_solvers("heuristic", problem="chain")


@given(
    instances(max_blocks=7, max_servers=4),
    st.sampled_from(HEURISTICS),
    st.sampled_from([("hard", 1.0), ("penalty", 2.0)]),
    st.integers(0, 5),
)
def test_no_heuristic_beats_the_optimum(inst, solver, goal, seed):
    """No heuristic ever reports an objective below the DP optimum."""
    kind, beta = goal
    opt = partopt.solve(inst, "dp", objective=kind, beta=beta)
    got = partopt.solve(inst, solver, objective=kind, beta=beta, seed=seed)
    assert got.objective >= opt.objective * (1 - 1e-9)
    if opt.status == Status.INFEASIBLE:
        assert got.status in (Status.VIOLATED, Status.INFEASIBLE)


def test_apdi_splits_evenly(paper_instance):
    """APDI: 6 blocks on 4 servers in contiguous groups of 2, 2, 1, 1."""
    assert partopt.solve(paper_instance, "apdi").placement == (1, 1, 2, 2, 3, 4)


def test_apdi_fewer_blocks_than_servers():
    """With M < N each block gets its own server."""
    inst = partopt.generate("paper", seed=0, num_blocks=3, num_servers=5)
    assert partopt.solve(inst, "apdi").placement == (1, 2, 3)


def test_rpdi_is_seeded(paper_instance):
    """RPDI: same seed same placement; different seeds differ somewhere."""
    a = partopt.solve(paper_instance, "rpdi", seed=1).placement
    assert a == partopt.solve(paper_instance, "rpdi", seed=1).placement
    assert len({partopt.solve(paper_instance, "rpdi", seed=s).placement for s in range(10)}) > 1


def test_all_device_and_all_edge(paper_instance):
    """all-device keeps everything local; all-edge picks the best single server."""
    assert set(placement_of(partopt.solve(paper_instance, "all-device"))) == {0}
    placement = placement_of(partopt.solve(paper_instance, "all-edge"))
    assert len(set(placement)) == 1 and placement[0] >= 1
    best = min(partopt.evaluate(paper_instance, [n] * 6).total_delay for n in range(1, 5))
    assert partopt.evaluate(paper_instance, placement).total_delay == best


@given(instances(max_blocks=6, max_servers=3, deadlines=False, budgets=False))
def test_single_split_is_best_split(inst):
    """single-split equals the best of all device-prefix / one-server-suffix placements."""
    got = partopt.solve(inst, "single-split").objective
    m = inst.num_blocks
    splits = [[0] * m] + [[0] * k + [n] * (m - k) for n in range(1, inst.num_servers + 1) for k in range(m)]
    assert got == pytest.approx(min(partopt.evaluate(inst, p).total_delay for p in splits), rel=1e-12)


@given(instances(max_blocks=6, max_servers=3))
def test_local_search_never_worsens_its_start(inst):
    """Polishing greedy's answer never makes it worse; a feasible start stays feasible."""
    greedy = partopt.solve(inst, "greedy")
    polished = partopt.solve(inst, "local-search", start="greedy")
    assert polished.objective <= greedy.objective * (1 + 1e-12)
    if greedy.feasible:
        assert polished.feasible


def test_local_search_from_a_placement(paper_instance):
    """local-search takes an explicit start placement and reaches a local optimum."""
    result = partopt.solve(paper_instance, "local-search", start=[0] * 6)
    assert result.status == Status.FEASIBLE
    assert result.objective < partopt.solve(paper_instance, "all-device").objective


def test_greedy_follows_least_block_delay(valid_instance):
    """Greedy: each block goes where its own delay is least given the previous location."""
    placement = placement_of(partopt.solve(valid_instance, "greedy", objective="penalty", beta=0.0))
    prev = 0
    for m, loc in enumerate(placement):
        delays = valid_instance.costs.delay[0, m, prev]
        assert delays[loc] == delays.min()
        prev = loc
