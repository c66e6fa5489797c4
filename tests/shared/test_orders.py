"""The order-changing search: its block-sequence schedules priced as ``evaluate`` prices them,
complete (the sequence of an optimal schedule decodes to it), never below the brute-force
optimum nor above the local search it starts from; bad settings refused by name."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import brute_force, examples, mixed_scenarios
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import partopt
from partopt.shared.kernels import SequenceScorer
from partopt.shared.solvers.orders import Neighbourhood, exchanged, search_key, task_shifted

RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@settings(RELAXED, max_examples=examples(60))
@given(sc=mixed_scenarios(max_work=9, block_deadlines=True), seed=st.integers(0, 2**31))
def test_a_sequence_is_priced_as_evaluate_prices_its_schedule(sc, seed):
    """Any sequence with any placement: the compiled summary is ``evaluate``'s for the same
    placement and start times, and the schedule keeps every precedence and resource rule
    (``evaluate`` names any break in its problems)."""
    rng = np.random.default_rng(seed)
    scorer = SequenceScorer(sc)
    sequence = rng.permutation(np.repeat(np.arange(sc.num_tasks), scorer.nblk))
    placement = [list(rng.integers(0, sc.num_servers + 1, size=m)) for m in sc.block_counts]
    summary = scorer.score(sequence, scorer.packed(placement))
    ev = partopt.evaluate(sc, placement, scorer.rows(scorer.start))
    assert not ev.problems, ev.problems
    assert summary.total_delay == pytest.approx(ev.total_delay, rel=1e-9, abs=1e-12)
    assert summary.penalty == pytest.approx(ev.penalty, rel=1e-9, abs=1e-12)
    assert (summary.deadlines_met, summary.budget_kept) == (ev.deadlines_met, ev.budget_kept)


@settings(RELAXED, max_examples=examples(30))
@given(sc=mixed_scenarios(), kind=st.sampled_from(["hard", "penalty"]))
def test_the_search_is_complete_and_never_beats_the_optimum(sc, kind):
    """The brute-force optimum's sequence decodes to a schedule no worse than it (so the search
    space holds an optimum); the search's answer is never below the optimum, and never worse
    than the local search it starts from."""
    objective = partopt.Objective(kind, 2.0)
    best = brute_force(sc, objective)
    found = partopt.solve(sc, "shared-order-search", objective=kind, beta=2.0, seed=1, moves_per_task=300)
    local = partopt.solve(sc, "shared-local-search", objective=kind, beta=2.0)
    if local.feasible:
        assert found.feasible and found.objective <= local.objective * (1 + 1e-12)
    if best is None:
        assert not found.feasible
        return
    value, placement, start_s = best
    scorer = SequenceScorer(sc)
    summary = scorer.score(scorer.sequence_of(start_s), scorer.packed(placement))
    assert objective.feasible(summary) and objective.raw_value(summary) <= value * (1 + 1e-9) + 1e-12
    if found.feasible:
        assert found.objective >= value * (1 - 1e-9) - 1e-12


@settings(max_examples=examples(100), deadline=None)
@given(
    counts=st.lists(st.integers(1, 6), min_size=2, max_size=6),
    seed=st.integers(0, 2**31),
    by=st.integers(-12, 12),
)
def test_the_moves_keep_a_sequence_and_a_placement(counts, seed, by):
    """A task shifted keeps every task's entries and their own order, and moves the task by at
    most ``by`` places against the others; an exchange changes only two tasks' locations, x to y
    and y to x; every move of the neighbourhood answers a sequence and a placement of the same
    tasks and blocks (each location in range)."""
    rng = np.random.default_rng(seed)
    nblk = np.array(counts)
    sequence = rng.permutation(np.repeat(np.arange(len(counts)), nblk))
    task = int(rng.integers(len(counts)))
    moved = task_shifted(sequence, task, by)
    assert sorted(moved.tolist()) == sorted(sequence.tolist())
    assert np.array_equal(moved[moved != task], sequence[sequence != task])
    before, after = np.flatnonzero(sequence == task), np.flatnonzero(moved == task)
    assert np.all(np.abs(after - before) <= abs(by))
    locations = 4
    packed = np.full((len(counts), max(counts)), -1)
    for k, m in enumerate(counts):
        packed[k, :m] = rng.integers(0, locations, size=m)
    swap = exchanged(packed, nblk, rng)
    if swap is not None:
        changed = [k for k in range(len(counts)) if not np.array_equal(swap[k], packed[k])]
        assert len(changed) == 2
        pairs = {(int(u), int(v)) for k in changed for u, v in zip(packed[k], swap[k]) if u != v}
        assert len(pairs) == 2 and {(v, u) for u, v in pairs} == pairs
        assert np.array_equal(swap == -1, packed == -1)
    neighbourhood = Neighbourhood.of(nblk, locations)
    for _ in range(20):
        found = neighbourhood.draw(sequence, packed, rng)
        if found is None:
            continue
        seq, placed = found
        assert sorted(seq.tolist()) == sorted(sequence.tolist())
        assert np.array_equal(placed == -1, packed == -1) and placed.max() < locations


def test_the_search_changes_the_order_where_the_local_search_stops():
    """On a K = 8 suite entry the local search ends 4.4% above the proven optimum (its
    answer is earliest-finish's); the order-changing search gets closer, with a schedule that
    ``evaluate`` confirms and a task order the release order does not give."""
    from partopt.bench.suites import load_suite

    entry = load_suite("shared-k8-v1").entries[4]
    optimum = entry.reference["hard"]["objective"]
    local = partopt.solve(entry.instance, "shared-local-search")
    found = partopt.solve(entry.instance, "shared-order-search", seed=0)
    assert found.objective < local.objective * (1 - 1e-3)
    assert found.objective >= optimum * (1 - 1e-9)
    assert isinstance(entry.instance, partopt.Scenario) and found.placement is not None
    ev = partopt.evaluate(entry.instance, found.placement, found.start_s)
    assert ev.total_delay == pytest.approx(found.objective, rel=1e-9)


def test_the_deadlines_excess_leads_the_search_to_a_schedule_that_keeps_them():
    """A mixed-generator scenario (K = 12) where the local search's schedule breaks a deadline
    and the search led by the objective alone ends breaking one too: led by the deadlines'
    excess it ends with a schedule that keeps every deadline and budget, which ``evaluate``
    confirms."""
    from partopt.shared.generators import SHARED_MIX

    sc = partopt.generate("shared", seed=5_400_007, **{**SHARED_MIX, "num_tasks": 12, "mix": True})
    local = partopt.solve(sc, "shared-local-search")
    assert local.placement is not None and not partopt.evaluate(sc, local.placement, local.start_s).feasible
    found = partopt.solve(sc, "shared-order-search", seed=0, moves_per_task=2_000)
    assert found.feasible and found.placement is not None
    assert partopt.evaluate(sc, found.placement, found.start_s).feasible


def test_the_search_key_orders_constraints_before_the_objective():
    """Keeping every constraint beats breaking a deadline, which beats breaking a budget, at
    any delay; among schedules that break a deadline under "hard", less excess at the same
    delay is better; under "penalty" the excess is in the objective already."""
    from partopt.objective import Objective
    from partopt.shared.evaluation import ScheduleSummary

    hard = Objective("hard")
    kept = search_key(hard, ScheduleSummary(True, True, 9.0, 0.0))
    late = search_key(hard, ScheduleSummary(False, True, 1.0, 0.5))
    later = search_key(hard, ScheduleSummary(False, True, 1.0, 0.6))
    overdrawn = search_key(hard, ScheduleSummary(True, False, 0.5, 0.0))
    assert kept < late < later < overdrawn
    penalty = Objective("penalty", 2.0)
    assert search_key(penalty, ScheduleSummary(False, True, 1.0, 0.5)) == (0, 2.0)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"moves_per_task": 0}, "moves_per_task"),
        ({"moves_per_task": True}, "moves_per_task"),
        ({"moves_per_task": None}, "moves_per_task"),
        ({"starts": [([0], None)]}, "starts"),
    ],
)
def test_bad_settings_are_refused_by_name(options, field):
    sc = partopt.generate("shared", seed=3, num_tasks=3)
    with pytest.raises(ValueError, match=field):
        partopt.solve(sc, "shared-order-search", **options)
