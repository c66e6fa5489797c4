"""Generators: seeded, deterministic, with the papers' ranges, in SI units."""

import pytest
from helpers import evaluation_of, placement_of
from hypothesis import given
from hypothesis import strategies as st

import partopt
from partopt.chain.generators import MB, DILGenerator, PaperGenerator, RandomGenerator


@given(st.sampled_from(["paper", "dil", "random"]), st.integers(0, 2**31))
def test_same_seed_same_instance(name, seed):
    """generate(name, seed) is a pure function of its arguments."""
    assert partopt.generate(name, seed=seed) == partopt.generate(name, seed=seed)


def test_different_seeds_differ():
    """Different seeds give different instances."""
    assert partopt.generate("paper", seed=1) != partopt.generate("paper", seed=2)


def test_stream_prefix_is_stable():
    """Instance i of a stream does not depend on how many are drawn."""
    gen = RandomGenerator()
    assert gen.generate_many(3, seed=5) == gen.generate_many(6, seed=5)[:3]


@pytest.mark.parametrize("seed", range(20))
def test_paper_ranges(seed):
    """Paper setting: 4 servers by default, rates in [0.8, 2] MB/s, deadlines in [1, 7] s, VGG16 in 6 blocks."""
    inst = partopt.generate("paper", seed=seed)
    assert inst.shape == (6, 4)
    assert all(0.8 * MB <= s.uplink_bps <= 2.0 * MB for s in inst.servers)
    assert all(1.0 <= b.deadline_s <= 7.0 for b in inst.blocks)
    assert inst.blocks[0].input_bits == 3 * 32 * 32 * 32
    assert inst.device.kappa == 1e-26


def test_paper_server_range_and_blocks():
    """num_servers may be drawn from a range; num_blocks re-partitions the profile."""
    gen = PaperGenerator(num_servers=(2, 9), num_blocks=18)
    shapes = {gen.generate(0, i).shape for i in range(40)}
    assert {m for m, _ in shapes} == {18}
    assert {n for _, n in shapes} <= set(range(2, 10)) and len(shapes) > 3


def test_paper_shannon_rates_near_paper_range():
    """The Shannon option gives rates of the paper's order (0.5-2.5 MB/s)."""
    inst = PaperGenerator(rate_model="shannon", num_servers=9).generate(3)
    assert all(0.5 * MB <= s.uplink_bps <= 2.5 * MB for s in inst.servers)


@pytest.mark.parametrize("seed", range(20))
def test_dil_distribution(seed):
    """DIL setting: 6 subtasks, edge + cloud, cloud uplink = edge and backhaul links in series."""
    inst = partopt.generate("dil", seed=seed)
    assert inst.shape == (6, 2)
    edge, cloud = inst.servers
    assert 500e6 <= edge.cpu_hz <= 5000e6 and 100e6 <= inst.device.cpu_hz <= 1000e6
    assert 0 < edge.uplink_bps <= 2 * MB and 0 < inst.backhaul_bps <= 3 * MB
    assert abs(1 / cloud.uplink_bps - (1 / edge.uplink_bps + 1 / inst.backhaul_bps)) < 1e-12 / cloud.uplink_bps
    assert all(0 <= b.cycles <= 2000e6 and 0 <= b.input_bits <= 10 * MB for b in inst.blocks)
    assert 0 <= inst.output_bits <= 10 * MB


def test_dil_cloud_path_costs_both_links():
    """Device to cloud takes d/b1 + d/b2, as the DIL paper's edge relay does."""
    inst = partopt.generate("dil", seed=3)
    ev = partopt.evaluate(inst, [2] * 6)
    d = inst.blocks[0].input_bits
    b1, b2 = inst.servers[0].uplink_bps, inst.backhaul_bps
    assert abs(ev.transmission_delay[0] - (d / b1 + d / b2)) < 1e-9 * ev.transmission_delay[0]


def test_random_knobs_make_infeasible_instances():
    """Tight deadlines and small budgets produce some infeasible instances."""
    gen = RandomGenerator(deadline_prob=1.0, deadline_tightness=0.5, budget_fraction=(0.0, 0.3))
    statuses = {partopt.solve(inst).status for inst in gen.generate_many(30, seed=0)}
    assert partopt.Status.INFEASIBLE in statuses and partopt.Status.OPTIMAL in statuses


def test_unknown_generator_and_parameter():
    """Unknown names and parameters get a clear error with a suggestion."""
    with pytest.raises(ValueError, match="Did you mean 'paper'"):
        partopt.generate("papr")
    with pytest.raises(ValueError, match="num_servers"):
        partopt.generate("paper", num_server=3)
    with pytest.raises(ValueError, match="num_blocks"):
        PaperGenerator(num_blocks=40)
    with pytest.raises(ValueError, match="rate_model"):
        PaperGenerator(rate_model="magic")
    with pytest.raises(ValueError, match="min_rate_MBps"):
        DILGenerator(min_rate_MBps=0)


def test_mixed_shared_generator_draws_every_feature_of_the_model():
    """mix=True: over a few seeds, scenarios with several devices and one, busy servers, mixed
    uplinks (a server reached faster through another), task and block deadlines, budgets, N from 2
    to 9 and M from 3 to 12; deterministic per seed; exact answers check out under evaluate."""
    from partopt.shared.solvers.common import earliest_starts

    nets = ("vgg16", "alexnet", "resnet32", "nin")
    seen = set()
    for seed in range(24):
        sc = partopt.generate("shared", seed=seed, num_tasks=6, mix=True, networks=nets)
        assert sc == partopt.generate("shared", seed=seed, num_tasks=6, mix=True, networks=nets)
        assert 2 <= sc.num_servers <= 9 and all(3 <= m <= 12 for m in sc.block_counts)
        seen |= {"busy"} if any(s.available_s > 0 for s in sc.servers) else set()
        seen |= {"budget"} if any(d.energy_budget_j is not None for d in sc.devices) else set()
        seen |= {"task deadline"} if any(t.deadline_s is not None for t in sc.tasks) else set()
        seen |= (
            {"block deadline"} if any(b.deadline_s is not None for m in sc.models.values() for b in m.blocks) else set()
        )
        seen |= {"one device"} if sc.num_devices == 1 else {"devices"}
        free = [0.0] + [0.0] * sc.num_servers
        for tab, task in zip(sc.tables, sc.tasks):  # a server reached sooner through another than directly
            first = earliest_starts(tab, task.release_s, free)
            for j in range(1, sc.num_servers + 1):
                device_time = [sum(row[0] for row in tab.duration[:m]) for m in range(len(tab.duration))]
                direct = min(task.release_s + device_time[m] + tab.transfer[m][0][j] for m in range(len(device_time)))
                if min(row[j] for row in first) < direct - 1e-12:
                    seen.add("mixed networks")
    assert seen >= {"busy", "budget", "task deadline", "block deadline", "one device", "devices", "mixed networks"}
    sc = partopt.generate("shared", seed=5, num_tasks=3, mix=True, networks=nets)
    res = partopt.solve(sc, time_limit=10)
    if res.placement is not None:
        assert partopt.evaluate(sc, placement_of(res), res.start_s).total_delay == pytest.approx(
            evaluation_of(res, partopt.ScenarioEvaluation).total_delay
        )
