"""evaluate(): the one cost function, checked against the formulas block by block."""

import math

import pytest
from helpers import instance_and_placement, instances, placement_of
from hypothesis import given
from hypothesis import strategies as st

import partopt
from partopt import formulas as f
from partopt.objective import Objective


def rate(inst, a, b):
    """Link rate between locations a and b, straight from docs/model.md."""
    if a == b:
        return math.inf
    if a == 0 or b == 0:
        return inst.servers[max(a, b) - 1].uplink_bps
    return inst.backhaul_bps


@given(instance_and_placement())
def test_evaluate_matches_the_formulas(case):
    """Every per-block delay and energy equals docs/model.md's formulas applied by hand."""
    inst, placement = case
    ev = partopt.evaluate(inst, placement)
    prev, total, energy = 0, 0.0, 0.0
    for m, (block, loc) in enumerate(zip(inst.blocks, placement)):
        trans = f.transmission_delay(block.input_bits, rate(inst, prev, loc))
        hz = inst.device.cpu_hz if loc == 0 else inst.servers[loc - 1].cpu_hz
        cycles = block.cycles if loc == 0 or block.server_cycles is None else block.server_cycles[loc - 1]
        comp = cycles / hz
        delay = trans + comp
        if m == inst.num_blocks - 1:
            delay += f.transmission_delay(inst.output_bits, rate(inst, loc, 0))
        e = 0.0
        if loc == 0:
            e += f.local_computation_energy(block.cycles, inst.device.cpu_hz, inst.device.kappa)
        elif prev == 0:
            e += f.transmission_energy(block.input_bits, inst.servers[loc - 1].uplink_bps, inst.device.tx_power_w)
        assert math.isclose(ev.transmission_delay[m], trans, rel_tol=1e-12)
        assert math.isclose(ev.computation_delay[m], comp, rel_tol=1e-12)
        assert math.isclose(ev.block_delay[m], delay, rel_tol=1e-12)
        assert math.isclose(ev.block_energy[m], e, rel_tol=1e-12, abs_tol=1e-300)
        total += delay
        energy += e
        prev = loc
    assert math.isclose(ev.total_delay, total, rel_tol=1e-12)
    assert math.isclose(ev.energy, energy, rel_tol=1e-12, abs_tol=1e-300)
    assert math.isclose(ev.local_delay + ev.edge_delay, ev.total_delay, rel_tol=1e-12)


@given(instances())
def test_all_on_device_moves_nothing(inst):
    """All on the device: no transmission at all, and energy kappa f^2 sum(c)."""
    ev = partopt.evaluate(inst, [0] * inst.num_blocks)
    assert all(t == 0.0 for t in ev.transmission_delay) and ev.return_delay == 0.0
    expected = inst.device.kappa * inst.device.cpu_hz**2 * sum(b.cycles for b in inst.blocks)
    assert math.isclose(ev.energy, expected, rel_tol=1e-12, abs_tol=1e-300)


@given(instance_and_placement())
def test_consecutive_blocks_at_one_location_move_no_data(case):
    """A block placed where its predecessor ran receives its input for free."""
    inst, placement = case
    ev = partopt.evaluate(inst, placement)
    for m in range(1, inst.num_blocks):
        if placement[m] == placement[m - 1]:
            assert ev.transmission_delay[m] == 0.0
    if placement[0] == 0:
        assert ev.transmission_delay[0] == 0.0


@given(instance_and_placement(), st.floats(1.0, 10.0), st.data())
def test_faster_server_or_link_never_increases_any_delay(case, factor, data):
    """Speeding up one server's CPU, its uplink or the backhaul never increases any block delay."""
    inst, placement = case
    n = data.draw(st.integers(0, inst.num_servers - 1))
    what = data.draw(st.sampled_from(["cpu", "uplink", "backhaul", "device"]))
    servers = list(inst.servers)
    if what == "cpu":
        servers[n] = partopt.Server(servers[n].cpu_hz * factor, servers[n].uplink_bps)
        faster = inst.replace(servers=tuple(servers))
    elif what == "uplink":
        servers[n] = partopt.Server(servers[n].cpu_hz, servers[n].uplink_bps * factor)
        faster = inst.replace(servers=tuple(servers))
    elif what == "backhaul":
        faster = inst.replace(backhaul_bps=inst.backhaul_bps * factor)
    else:
        dev = inst.device
        faster = inst.replace(device=partopt.Device(dev.cpu_hz * factor, dev.tx_power_w, dev.kappa))
    before = partopt.evaluate(inst, placement).block_delay
    after = partopt.evaluate(faster, placement).block_delay
    assert all(a <= b * (1 + 1e-12) for a, b in zip(after, before))


@given(instance_and_placement(), st.floats(0, 50))
def test_penalty_reward_and_flags(case, beta):
    """psi = 0 implies every deadline met; reward = -(L + beta psi); feasible = deadlines and budget."""
    inst, placement = case
    ev = partopt.evaluate(inst, placement)
    assert ev.energy >= 0 and all(e >= 0 for e in ev.block_energy)
    if ev.penalty == 0.0:
        assert ev.deadlines_met
    if ev.deadlines_met:
        assert ev.penalty <= 1e-9 * sum(b.deadline_s or 0 for b in inst.blocks) + 1e-300
    assert ev.reward(beta) == -(ev.total_delay + beta * ev.penalty)
    assert ev.feasible == (ev.deadlines_met and ev.budget_kept)


def test_energy_budget_flag(valid_instance):
    """The budget is kept up to 1e-9 relative, and broken beyond."""
    placement = [0, 0, 1, 1]
    energy = partopt.evaluate(valid_instance, placement).energy
    assert partopt.evaluate(valid_instance.replace(energy_budget_j=energy), placement).budget_kept
    assert not partopt.evaluate(valid_instance.replace(energy_budget_j=energy * (1 - 1e-6)), placement).budget_kept


def test_output_returns_to_device(valid_instance):
    """O > 0 adds its return to the last block's delay, zero when the last block is on the device."""
    with_out = valid_instance.replace(output_bits=1.2e6)
    ev = partopt.evaluate(with_out, [0, 1, 1, 1])
    assert math.isclose(ev.return_delay, 1.2e6 / with_out.servers[0].uplink_bps)
    assert partopt.evaluate(with_out, [1, 1, 1, 0]).return_delay == 0.0


def test_server_to_server_uses_backhaul(valid_instance):
    """A move between two servers costs I_m / R_max and no device energy."""
    ev = partopt.evaluate(valid_instance, [1, 2, 2, 2])
    assert math.isclose(ev.transmission_delay[1], valid_instance.blocks[1].input_bits / valid_instance.backhaul_bps)
    assert ev.block_energy[1] == 0.0


def test_server_to_device_costs_time_not_energy(valid_instance):
    """docs/model.md's correction: data moving back to the device costs delay, and no device energy."""
    ev = partopt.evaluate(valid_instance, [1, 0, 0, 0])
    expected = valid_instance.blocks[1].input_bits / valid_instance.servers[0].uplink_bps
    assert math.isclose(ev.transmission_delay[1], expected)
    local = valid_instance.device.kappa * valid_instance.device.cpu_hz**2 * valid_instance.blocks[1].cycles
    assert math.isclose(ev.block_energy[1], local)


def test_objective_value_is_infinite_when_infeasible(valid_instance):
    """A placement that breaks a deadline is worth inf under "hard", finite under "penalty"."""
    first = valid_instance.blocks[0].__class__(1e9, 98304, 0, deadline_s=0.01)
    tight = valid_instance.replace(blocks=(first, *valid_instance.blocks[1:]))
    ev = partopt.evaluate(tight, [0, 0, 0, 0])
    assert not ev.deadlines_met
    assert math.isinf(Objective("hard").value(ev))
    assert Objective("penalty", 2.0).value(ev) == ev.total_delay + 2.0 * ev.penalty


def test_objective_rejects_bad_arguments():
    """Unknown objective names and negative beta are refused, naming the field."""
    with pytest.raises(ValueError, match="objective"):
        Objective("soft")
    with pytest.raises(ValueError, match="beta"):
        Objective("penalty", -1)


def test_evaluate_prices_the_path_without_building_tables():
    """Pricing one placement never builds the M (N+1)^2 cost tensors, so N = 10^5 servers is cheap."""
    inst = partopt.generate("random", seed=1, num_blocks=50, num_servers=100_000)
    ev = partopt.evaluate(inst, [7] * 50)
    assert "costs" not in inst.__dict__
    small = partopt.generate("random", seed=2, num_blocks=6, num_servers=3, output_bits=(1e3, 1e5))
    for placement in ([0, 1, 2, 3, 0, 1], [3, 3, 3, 0, 0, 2]):
        tensor = partopt.chain.costs.along(small.costs.delay[0], placement)
        assert partopt.evaluate(small, placement).block_delay == pytest.approx(tensor.tolist(), rel=1e-12)
    assert ev.total_delay > 0


def test_solves_too_large_for_memory_are_refused_up_front():
    """A DP whose cost tables would not fit in memory is refused before allocating them."""
    inst = partopt.generate("random", seed=1, num_blocks=1000, num_servers=3000)
    with pytest.raises(ValueError, match="GiB"):
        partopt.solve(inst, "dp")


def test_null_output_bits_means_none():
    """output_bits is optional: null reads as 0, like an absent key."""
    doc = partopt.generate("paper", seed=0).to_dict()
    doc["output_bits"] = None
    assert partopt.Instance.from_dict(doc).output_bits == 0.0


def test_print_of_an_evaluation_is_a_readable_summary():
    """print(evaluate(...)) gave the dataclass's every field; now a few readable lines, for a chain,
    a scenario (with its schedule's problems) and a horizon; repr keeps the fields."""
    inst = partopt.generate("paper", seed=0)
    sc = partopt.generate("shared", seed=0, num_tasks=2)
    hz = partopt.generate("horizon", seed=0, slots=3)
    for ev in (
        partopt.evaluate(inst, [1] * 6),
        partopt.evaluate(sc, [[1] * 6, [1] * 6], [[0.0] * 6, [0.0] * 6]),
        partopt.evaluate(hz, placement_of(partopt.solve(hz))),
    ):
        text = str(ev)
        assert text.startswith("total delay") and "feasible:" in text and "(" not in text.splitlines()[0]
        assert repr(ev).startswith(type(ev).__name__ + "(")
    assert "invalid schedule:" in str(partopt.evaluate(sc, [[1] * 6, [1] * 6], [[0.0] * 6, [0.0] * 6]))
