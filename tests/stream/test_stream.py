"""A stream decided online (model Part IV): model, files, simulation, policies, windows."""

import itertools
import math

import pytest
from helpers import bound_of, evaluation_of, placement_of
from hypothesis import given, settings
from hypothesis import strategies as st

import partopt
from partopt import Battery, InstanceError, Stream
from partopt.shared.solvers.common import earliest_finish_chain
from partopt.stream.evaluation import task_energy
from partopt.stream.policies import POLICIES, least_energy_placement, priced_chain

SMALL = {"rate_per_s": 40.0, "horizon_s": 2.0, "num_servers": 3, "num_devices": 3}


def small_stream(seed: int, **changes) -> Stream:
    return partopt.generate("stream", seed=seed, **{**SMALL, **changes})


def test_stream_round_trips_through_its_file(tmp_path):
    stream = small_stream(0)
    path = tmp_path / "stream.json"
    partopt.write(stream, path)
    back = partopt.read(path)
    assert back == stream and back.to_dict() == stream.to_dict()
    assert partopt.generate("stream", seed=0, **SMALL) == stream  # the same seed, the same stream


def test_bad_streams_are_refused_naming_the_field():
    stream = small_stream(1)
    d = stream.to_dict()
    cases = [
        ({**d, "batteries": d["batteries"][:-1]}, "batteries"),
        ({**d, "batteries": [{"capacity_j": 1.0, "initial_j": 2.0}] * 3}, "batteries[0].initial_j"),
        ({**d, "batteries": [{"capacity_j": -1.0}] * 3}, "batteries[0].capacity_j"),
        ({**d, "horizon_s": 0.5}, "release_s"),
        ({**d, "speed": 1}, "speed"),
        ({**d, "format": "partopt.scenario/1"}, "format"),
    ]
    budget = dict(d["scenario"])
    budget["devices"] = [{**budget["devices"][0], "energy_budget_j": 1.0}, *budget["devices"][1:]]
    cases.append(({**d, "scenario": budget}, "scenario.devices[0].energy_budget_j"))
    for bad, field in cases:
        with pytest.raises(InstanceError, match=field.replace("[", r"\[").replace("]", r"\]")):
            Stream.from_dict(bad)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    rate=st.sampled_from([20.0, 80.0, 150.0]),
    policy=st.sampled_from(sorted(set(POLICIES) - {"rolling-horizon"})),  # time-limited: its own test
    battery=st.sampled_from([None, (0.5, 2.0), (30.0, 60.0)]),
)
def test_simulation_is_what_evaluate_checks(seed, rate, policy, battery):
    """Every policy's simulated schedule is valid under evaluate, with the same delays, excesses,
    energies and battery levels; the run is flagged exactly when a battery goes below zero."""
    stream = small_stream(seed, rate_per_s=rate, battery_j=battery)
    report = partopt.simulate(stream, policy)
    ev = report.evaluation()
    assert ev.valid, ev.problems[:3]
    assert ev.schedule.task_delay == pytest.approx(report.task_delay_s, rel=1e-12, abs=1e-12)
    assert ev.task_energy == pytest.approx(report.task_energy_j, rel=1e-12)
    assert ev.battery_j == report.battery_j
    assert ev.deadline_misses == report.deadline_misses
    assert ev.penalty == pytest.approx(sum(report.task_excess_s), rel=1e-9, abs=1e-12)
    assert ev.budget_kept == (not report.problems)
    result = partopt.solve(stream, f"online-{policy}", objective="penalty")
    assert result.objective == pytest.approx(ev.total_delay + ev.penalty, rel=1e-12) or not ev.budget_kept
    again = partopt.evaluate(stream, placement_of(result), result.start_s)  # the result carries its schedule
    assert again.schedule.task_delay == pytest.approx(report.task_delay_s, rel=1e-12, abs=1e-12)


def test_battery_overdraw_is_reported_never_valid():
    stream = small_stream(2, battery_j=0.05, battery_recharge=0.0)
    report = partopt.simulate(stream, "local")
    assert report.problems and "battery" in report.problems[0]
    assert not report.evaluation().budget_kept
    assert partopt.solve(stream, "online-local", objective="penalty").status == "violated"
    guarded = partopt.simulate(stream, "earliest-finish")  # takes the least-energy placement when short
    assert sum(guarded.task_energy_j) < sum(report.task_energy_j)


def test_a_policy_sees_only_the_arriving_task():
    stream = small_stream(3)
    seen = []

    def spy(arrival):
        seen.append(arrival)
        return [1] * len(arrival.tables.duration)

    partopt.simulate(stream, spy)
    assert [a.index for a in seen] == stream.arrival_order
    for a in seen:
        assert a.now_s == a.task.release_s
        assert not any(isinstance(v, (Stream, partopt.Scenario)) for v in vars(a).values())
    with pytest.raises(ValueError, match="task"):
        partopt.simulate(stream, lambda a: [0])
    with pytest.raises(ValueError, match="policy"):
        partopt.simulate(stream, "clairvoyant")
    with pytest.raises(ValueError, match="V"):
        partopt.simulate(stream, "lyapunov", V=-1)


def test_lyapunov_at_zero_price_is_earliest_finish():
    """priced_chain at price 0 is the earliest-finish DP (an independent implementation of it)."""
    stream = small_stream(4, rate_per_s=120.0)
    free = [0.0, 0.01, 0.0, 0.03]
    for k, task in enumerate(stream.scenario.tasks[:40]):
        tab = stream.scenario.tables[k]
        chain = earliest_finish_chain(tab, task.release_s, free)
        assert chain is not None
        assert priced_chain(tab, task.release_s, free, 0.0, keep_deadlines=False) == list(chain.placement)
    a = partopt.simulate(stream, "lyapunov", V=0.0)
    b = partopt.simulate(stream, "earliest-finish")
    assert a.placement == b.placement


def test_least_energy_placement_is_least_by_brute_force():
    stream = small_stream(5, shared_params={"networks": ("alexnet",), "num_blocks": 4, "deadline_s": None})
    for k in range(5):
        tab = stream.scenario.tables[k]
        locs = len(tab.duration[0])
        best = min(task_energy(tab, row) for row in itertools.product(range(locs), repeat=len(tab.duration)))
        assert task_energy(tab, least_energy_placement(tab)) == pytest.approx(best, rel=1e-12)


def test_windows_are_scenarios_of_the_tasks_released_in_them():
    stream = small_stream(6)
    window = stream.window(0.5, 1.0, server_free_s=[0.6, 0.4, 0.9])
    inside = [t for t in stream.scenario.tasks if 0.5 <= t.release_s < 1.0]
    assert window.num_tasks == len(inside)
    assert [t.release_s for t in window.tasks] == pytest.approx([t.release_s - 0.5 for t in inside])
    assert [s.available_s for s in window.servers] == pytest.approx([0.1, 0.0, 0.4])
    assert evaluation_of(partopt.solve(window, "earliest-finish"), partopt.ScenarioEvaluation).valid
    with pytest.raises(ValueError, match="server_free_s"):
        stream.window(0.0, 1.0, server_free_s=[0.0])


def test_generator_settings():
    trace = (0.0, 0.1, 0.1, 0.7)
    stream = partopt.generate("stream", seed=0, horizon_s=1.0, trace_s=trace)
    assert sorted(t.release_s for t in stream.scenario.tasks) == list(trace)
    assert all(b is None for b in partopt.generate("stream", seed=0, battery_j=None, **SMALL).batteries)
    for bad in ({"rate_per_s": 0}, {"horizon_s": math.inf}, {"trace_s": (2.0,), "horizon_s": 1.0}):
        with pytest.raises(ValueError):
            partopt.generate("stream", seed=0, **bad)
    with pytest.raises(ValueError, match="num_tasks"):
        partopt.generate("stream", seed=0, shared_params={"num_tasks": 3})
    assert Battery(10.0, 1.0, 2.0).recharged(2.0, 100.0) == 10.0


@pytest.mark.parametrize("battery", [None, (0.5, 2.0)])
def test_a_batch_policy_decides_each_epoch_at_its_end_from_what_has_arrived(battery):
    """Rolling horizon: every task of an epoch is decided at the epoch's end, seeing only tasks
    released by then; no block starts before the decision; evaluate agrees with the simulation
    and the batteries are guarded as the single-task policies guard them."""
    stream = small_stream(5, rate_per_s=60.0, horizon_s=0.3, battery_j=battery)
    batch = 0.05
    report = partopt.simulate(stream, "rolling-horizon", batch_s=batch, time_limit=0.3)
    ev = report.evaluation()
    assert ev.valid and ev.budget_kept == (not report.problems)
    assert ev.schedule.task_delay == pytest.approx(report.task_delay_s, rel=1e-12, abs=1e-12)
    for task, starts in zip(stream.scenario.tasks, report.start_s):
        decided = (math.floor(task.release_s / batch) + 1) * batch
        assert min(starts) >= decided - 1e-12
    seen = []

    class Spy:
        batch_s = batch

        def __call__(self, arrival):
            raise AssertionError("a batch policy is asked by epoch")

        def decide_batch(self, arrivals, now_s, waiting):
            seen.append((now_s, [a.index for a in arrivals], waiting.num_tasks))
            assert all(a.task.release_s < now_s for a in arrivals)
            return [(a.index, [0] * len(a.tables.duration)) for a in arrivals]

    partopt.simulate(stream, Spy())
    assert sorted(k for _, ks, _ in seen for k in ks) == list(range(stream.num_tasks))
    assert all(len(ks) == n for _, ks, n in seen)

    class Forgetful(Spy):
        def decide_batch(self, arrivals, now_s, waiting):
            return [(a.index, [0] * len(a.tables.duration)) for a in arrivals[1:]]

    with pytest.raises(ValueError, match="answered tasks"):
        partopt.simulate(stream, Forgetful())
    with pytest.raises(ValueError, match="batch_s"):
        partopt.simulate(stream, "rolling-horizon", batch_s=0)


def test_an_interrupted_simulation_resumes_from_its_checkpoint(tmp_path):
    """Ctrl-C saves the run; the next call with the same checkpoint finishes it, and the whole
    report equals an uninterrupted run's. A checkpoint of another stream or policy, or a damaged
    one, is refused naming it."""
    from partopt.stream.policies import earliest_finish_policy

    stream = small_stream(8, battery_j=(0.5, 2.0))
    path = tmp_path / "run.json"

    class Interrupted:
        calls = 0

        def __call__(self, arrival):
            Interrupted.calls += 1
            if Interrupted.calls == 30:
                raise KeyboardInterrupt
            return earliest_finish_policy(arrival)

    Interrupted.calls = 100  # past the interruption
    whole = partopt.simulate(stream, Interrupted(), checkpoint=tmp_path / "whole.json", checkpoint_every=7)
    Interrupted.calls = 0
    with pytest.raises(KeyboardInterrupt):
        partopt.simulate(stream, Interrupted(), checkpoint=path, checkpoint_every=7)
    import json

    assert json.loads(path.read_text())["tasks_done"] == 29  # every decided task kept
    Interrupted.calls = 100  # no more interruptions
    resumed = partopt.simulate(stream, Interrupted(), checkpoint=path)
    assert resumed.placement == whole.placement and resumed.start_s == whole.start_s
    assert resumed.task_delay_s == whole.task_delay_s and resumed.battery_j == whole.battery_j
    assert resumed.problems == whole.problems
    with pytest.raises(ValueError, match="checkpoint.stream"):
        partopt.simulate(small_stream(9), Interrupted(), checkpoint=path)
    with pytest.raises(ValueError, match="checkpoint.policy"):
        partopt.simulate(stream, "earliest-finish", checkpoint=path)
    path.write_text(path.read_text().replace('"delay": [', '"delay": ["x", '))
    with pytest.raises(ValueError, match="checkpoint: .* is damaged"):
        partopt.simulate(stream, Interrupted(), checkpoint=path)


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    rate=st.sampled_from([20.0, 150.0]),
    block_deadline=st.sampled_from([None, (0.05, 0.5)]),
    battery=st.sampled_from([None, (1e4, 2e4), (0.2, 1.0)]),
)
def test_compiled_earliest_finish_decides_as_the_python_policy(seed, rate, block_deadline, battery):
    """The compiled run of earliest-finish (taken when its battery guard never acts) and the
    Python loop give the same schedule, delays, deadline excesses and batteries."""
    shared = {"networks": ("vgg16", "alexnet", "nin"), "deadline_s": block_deadline}
    stream = small_stream(seed, rate_per_s=rate, battery_j=battery, shared_params=shared)
    fast = partopt.simulate(stream, "earliest-finish")
    slow = partopt.simulate(stream, "earliest-finish", compiled=False)
    assert fast.placement == slow.placement
    flat = itertools.chain.from_iterable
    assert list(flat(fast.start_s)) == pytest.approx(list(flat(slow.start_s)), rel=1e-12, abs=1e-12)
    assert fast.task_delay_s == pytest.approx(slow.task_delay_s, rel=1e-12, abs=1e-12)
    assert fast.task_excess_s == pytest.approx(slow.task_excess_s, rel=1e-9, abs=1e-12)
    assert list(flat(fast.battery_j)) == pytest.approx(list(flat(slow.battery_j)), rel=1e-12)
    assert fast.problems == slow.problems
    # its figures are evaluate's on its own schedule, to the last bit
    from partopt.shared.evaluation import evaluate_scenario
    from partopt.stream.evaluation import task_energy, task_excess

    sc = stream.scenario
    ev = evaluate_scenario(sc, fast.placement, fast.start_s)
    assert fast.task_delay_s == ev.task_delay and not ev.problems
    assert fast.task_energy_j == tuple(task_energy(sc.tables[k], row) for k, row in enumerate(fast.placement))
    assert fast.task_excess_s == tuple(
        task_excess(sc.tables[k], task.deadline_s, ev.block_delay[k], ev.task_delay[k])
        for k, task in enumerate(sc.tasks)
    )


def test_rolling_horizon_takes_any_scenario_solver_and_refuses_others():
    stream = small_stream(6, rate_per_s=60.0, horizon_s=0.3)
    report = partopt.simulate(stream, "rolling-horizon", solver="shared-local-search", batch_s=0.05)
    assert report.evaluation().valid
    with pytest.raises(ValueError, match="solver"):
        partopt.simulate(stream, "rolling-horizon", solver="dp")


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 10_000), rate=st.sampled_from([40.0, 100.0]))
def test_the_clairvoyant_lower_bounds_stay_below_every_schedule(seed, rate):
    """The sum of the windows' bounds and the whole stream's bound (penalty objective, beta = 0:
    total delay, deadlines and batteries dropped) never exceed any policy's total delay."""
    stream = small_stream(seed, rate_per_s=rate, horizon_s=0.3)
    windows, start = 0.0, 0.0
    releases = [t.release_s for t in stream.scenario.tasks]
    while start <= max(releases):
        if any(start <= r < start + 0.1 for r in releases):
            window = stream.window(start, start + 0.1)
            windows += bound_of(partopt.solve(window, objective="penalty", beta=0.0, time_limit=2))
        start += 0.1
    whole = partopt.solve(stream.scenario, objective="penalty", beta=0.0, time_limit=2).bound
    for policy in sorted(set(POLICIES) - {"rolling-horizon"}):
        total = partopt.simulate(stream, policy).evaluation().total_delay
        assert windows <= total * (1 + 1e-9) and whole <= total * (1 + 1e-9), policy


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.tuples(st.floats(0, 10), st.floats(0.01, 2)), max_size=12),
    ready=st.floats(0, 12),
    duration=st.floats(0.001, 3),
)
def test_earliest_fit_is_the_earliest_start_that_overlaps_nothing(gaps, ready, duration):
    """Against brute force: the start is at or after ready, overlaps no busy interval, and no
    earlier such start exists (the candidates: ready and every interval's end)."""
    from partopt.stream.simulate import earliest_fit

    busy: list[tuple[float, float]] = []
    for begin, length in sorted(gaps):
        begin = max(begin, busy[-1][1] if busy else 0.0)
        busy.append((begin, begin + length))

    def free(t):
        return all(t + duration <= a or t >= b for a, b in busy)

    start = earliest_fit(busy, ready, duration)
    assert start >= ready and free(start)
    assert start == min(t for t in [ready, *(b for _, b in busy)] if t >= ready and free(t))


def test_gap_filling_resumes_and_beats_appending_under_load(tmp_path):
    """The gap-filling policy's run resumes from a checkpoint to the same schedule (its
    calendar saved too), and under load its total delay is below earliest-finish's."""
    from partopt.stream.policies import GapFillingPolicy

    stream = small_stream(12, rate_per_s=150.0, horizon_s=1.0)

    class Interrupted(GapFillingPolicy):
        calls = 0

        def __call__(self, arrival):
            Interrupted.calls += 1
            if Interrupted.calls == 40:
                raise KeyboardInterrupt
            return super().__call__(arrival)

    Interrupted.calls = 100
    whole = partopt.simulate(stream, Interrupted())
    Interrupted.calls = 0
    path = tmp_path / "run.json"
    with pytest.raises(KeyboardInterrupt):
        partopt.simulate(stream, Interrupted(), checkpoint=path, checkpoint_every=5)
    resumed = partopt.simulate(stream, Interrupted(), checkpoint=path)
    assert resumed.placement == whole.placement and resumed.start_s == whole.start_s
    assert resumed.evaluation().valid
    appended = partopt.simulate(stream, "earliest-finish").evaluation().total_delay
    assert whole.evaluation().total_delay < appended
