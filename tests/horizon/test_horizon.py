"""A horizon of slots sharing a battery (model Part III): model, files, exact offline optimum, online policies."""

import itertools
import math

import numpy as np
import pytest
from helpers import evaluation_of, placement_of
from hypothesis import given, settings
from hypothesis import strategies as st

import partopt
from partopt import Horizon, InstanceError
from partopt.chain.solvers.dp import pareto_front
from partopt.horizon.solvers import lagrangian_dual
from partopt.objective import Objective

ONLINE = ["horizon-myopic", "horizon-fair", "horizon-lyapunov"]


def small_horizon(
    seed: int, slots: int = 3, battery: float = 0.4, blocks: int = 3, servers: int = 2, deadline_tightness: float = 1.5
) -> Horizon:
    params = {
        "num_blocks": blocks,
        "num_servers": servers,
        "deadline_prob": 0.5,
        "deadline_tightness": deadline_tightness,
        "device_hz": (2e9, 4e9),
        "server_hz": (0.5e9, 3e9),
    }
    return partopt.generate("horizon", seed=seed, slots=slots, generator="random", slot_params=params, battery=battery)


def enumerate_optimum(horizon: Horizon, objective: Objective) -> float:
    """Least summed cost over every combination of every slot's placements (battery kept)."""
    per_slot = []
    for inst in horizon.slots:
        m, n = inst.shape
        options = []
        for pl in itertools.product(range(n + 1), repeat=m):
            ev = partopt.evaluate(inst, pl)
            if objective.kind == "hard" and not ev.deadlines_met:
                continue
            if not ev.budget_kept:
                continue
            options.append((objective.raw_value(ev), ev.energy))
        if not options:
            return math.inf
        per_slot.append(np.array(options))
    best = math.inf
    for combo in itertools.product(*[range(len(o)) for o in per_slot]):
        cost = sum(per_slot[t][k][0] for t, k in enumerate(combo))
        energy = sum(per_slot[t][k][1] for t, k in enumerate(combo))
        if energy <= horizon.energy_max_j * (1 + 1e-9) and cost < best:
            best = cost
    return best


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    battery=st.sampled_from([0.0, 0.3, 0.7, 1.0]),
    kind=st.sampled_from([("hard", 1.0), ("penalty", 2.0)]),
)
def test_exact_matches_enumeration(seed, battery, kind):
    h = small_horizon(seed, slots=3, battery=battery, blocks=2, servers=2, deadline_tightness=1.0)
    objective = Objective(*kind)
    want = enumerate_optimum(h, objective)
    res = partopt.solve(h, "horizon-exact", objective=kind[0], beta=kind[1])
    if math.isinf(want):
        assert res.status == partopt.Status.INFEASIBLE
        return
    assert res.status == partopt.Status.OPTIMAL
    assert math.isclose(res.objective, want, rel_tol=1e-9, abs_tol=1e-12)
    assert evaluation_of(res, partopt.HorizonEvaluation).battery_kept
    assert res.info["lagrangian_bound"] <= res.objective * (1 + 1e-9) + 1e-12


def test_pareto_front_is_every_tradeoff():
    """Each front point is achieved by its placement, none dominates another, and every placement
    is dominated by (or equal to) some front point."""
    inst = partopt.generate("random", seed=3, num_blocks=4, num_servers=2, deadline_prob=0.0)
    goal = Objective()
    front = pareto_front(inst, goal)
    assert np.all(np.diff(front.cost) > 0) and np.all(np.diff(front.energy) < 0)
    for cost, energy, pl in zip(front.cost, front.energy, front.placements):
        ev = partopt.evaluate(inst, pl)
        assert math.isclose(ev.total_delay, cost, rel_tol=1e-12) and math.isclose(ev.energy, energy, rel_tol=1e-12)
    for pl in itertools.product(range(3), repeat=4):
        ev = partopt.evaluate(inst, pl)
        assert np.any((front.cost <= ev.total_delay * (1 + 1e-12)) & (front.energy <= ev.energy * (1 + 1e-12)))


def test_lagrangian_bound_and_incumbent():
    h = partopt.generate("horizon", seed=1, slots=40, battery=0.3)
    dual = lagrangian_dual(h, Objective())
    res = partopt.solve(h)
    assert dual.bound <= res.objective * (1 + 1e-12)
    assert dual.choice is not None and dual.choice_cost >= res.objective * (1 - 1e-12)
    assert 0 <= res.info["duality_gap_pct"] < 5


def test_full_battery_gives_each_slot_its_own_optimum():
    h = partopt.generate("horizon", seed=2, slots=10, battery=1.0)
    res = partopt.solve(h)
    alone = sum(partopt.solve(inst, "dp").objective for inst in h.slots)
    assert math.isclose(res.objective, alone, rel_tol=1e-9)


def test_battery_binds():
    h = partopt.generate("horizon", seed=4, slots=30, battery=0.5)
    free = sum(partopt.evaluate(inst, placement_of(partopt.solve(inst, "dp"))).energy for inst in h.slots)
    assert h.energy_max_j < free
    res = partopt.solve(h)
    assert evaluation_of(res, partopt.HorizonEvaluation).energy <= h.energy_max_j * (1 + 1e-9)


@pytest.mark.parametrize("solver", ONLINE)
def test_online_is_never_better_than_offline(solver):
    h = partopt.generate("horizon", seed=5, slots=60, battery=0.5)
    best = partopt.solve(h).objective
    res = partopt.solve(h, solver)
    assert len(placement_of(res)) == h.num_slots
    if res.feasible:
        assert res.objective >= best * (1 - 1e-9)


@pytest.mark.parametrize("solver", ONLINE)
def test_online_policies_see_only_the_past(solver):
    """Changing later slots never changes an online policy's earlier decisions."""
    a = partopt.generate("horizon", seed=6, slots=20, battery=0.5)
    b = partopt.generate("horizon", seed=7, slots=20, battery=0.5)
    mixed = Horizon(slots=a.slots[:10] + b.slots[10:], energy_max_j=a.energy_max_j)
    ra, rm = partopt.solve(a, solver), partopt.solve(mixed, solver)
    assert placement_of(ra)[:10] == placement_of(rm)[:10]


def test_lyapunov_trades_delay_for_battery():
    """Small V keeps the battery with some delay; growing V spends more energy."""
    h = partopt.generate("horizon", seed=8, slots=150, battery=0.5)
    energies = [
        evaluation_of(partopt.solve(h, "horizon-lyapunov", V=v), partopt.HorizonEvaluation).energy
        for v in (0.1, 1.0, 100.0)
    ]
    assert energies[0] <= energies[1] <= energies[2]
    assert energies[0] <= h.energy_max_j
    with pytest.raises(ValueError, match="V"):
        partopt.solve(h, "horizon-lyapunov", V=-1)


def test_file_round_trip_and_errors(tmp_path):
    h = partopt.generate("horizon", seed=0, slots=4)
    path = tmp_path / "h.json"
    partopt.write(h, path)
    back = partopt.read(path)
    assert isinstance(back, Horizon) and back.energy_max_j == h.energy_max_j
    assert [s.to_dict() for s in back.slots] == [s.to_dict() for s in h.slots]
    d = h.to_dict()
    d["slots"][3]["blocks"][2]["cycles"] = "many"
    with pytest.raises(partopt.InstanceTypeError, match=r"slots\[3\]\.blocks\[2\]\.cycles"):
        Horizon.from_dict(d)
    d = h.to_dict()
    d["energy_max_j"] = -1
    with pytest.raises(InstanceError, match="energy_max_j"):
        Horizon.from_dict(d)
    with pytest.raises(InstanceError, match="slots"):
        Horizon.from_dict({**h.to_dict(), "slots": []})


def test_evaluate_names_the_slot():
    h = partopt.generate("horizon", seed=0, slots=3)
    good = [placement_of(partopt.solve(inst, "dp")) for inst in h.slots]
    ev = partopt.evaluate(h, good)
    assert math.isclose(ev.total_delay, sum(ev.slot_delay))
    assert math.isclose(ev.remaining_energy[-1], h.energy_max_j - ev.energy, rel_tol=1e-9, abs_tol=1e-15)
    with pytest.raises(InstanceError, match="one placement per slot"):
        partopt.evaluate(h, good[:2])
    with pytest.raises(InstanceError, match=r"placement\[1\]"):
        partopt.evaluate(h, [good[0], good[1][:-1], good[2]])
    with pytest.raises(InstanceError, match=r"placement\[2\]\[0\]"):
        partopt.evaluate(h, [good[0], good[1], (99, *good[2][1:])])


def test_a_horizon_evaluation_has_the_reward_every_evaluation_has():
    """HorizonEvaluation had no reward(); all three kinds now share one (eq. 14)."""
    h = partopt.generate("horizon", seed=0, slots=3)
    ev = partopt.evaluate(h, placement_of(partopt.solve(h)))
    assert ev.reward(2.0) == pytest.approx(-(ev.total_delay + 2.0 * ev.penalty))
