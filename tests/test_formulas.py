"""The model's formulas, one property each."""

import math

import numpy as np
from helpers import instances
from hypothesis import given, settings
from hypothesis import strategies as st

from partopt import formulas as f

pos = st.floats(1e-6, 1e9, allow_nan=False)


@given(pos, pos, pos, pos, st.floats(1.01, 100))
def test_shannon_rate_grows_with_power_and_gain(bandwidth, power, gain, noise, factor):
    """R = B log2(1 + p|h|^2/(N0 B)) increases with transmit power and with channel gain."""
    base = f.shannon_rate(bandwidth, power, gain, noise)
    assert f.shannon_rate(bandwidth, power * factor, gain, noise) >= base
    assert f.shannon_rate(bandwidth, power, gain * factor, noise) >= base
    assert base >= 0


def test_shannon_rate_known_value():
    """SNR = 1 gives exactly one bit/s per hertz."""
    assert f.shannon_rate(1e6, 1.0, 1.0, 1e-6) == 1e6


@given(st.floats(0, 1e10), pos, st.floats(1.0, 10.0))
def test_faster_cpu_never_slower(cycles, hz, factor):
    """Eqs. (3) and (6): a faster CPU never increases computation delay."""
    assert f.local_computation_delay(cycles, hz * factor) <= f.local_computation_delay(cycles, hz)
    assert f.edge_computation_delay(cycles, hz * factor) <= f.edge_computation_delay(cycles, hz)


@given(st.floats(0, 1e10), pos, st.floats(1.0, 10.0))
def test_faster_link_never_slower(bits, rate, factor):
    """Eq. (5): a faster link never increases transmission delay; zero bits cost nothing."""
    assert f.transmission_delay(bits, rate * factor) <= f.transmission_delay(bits, rate)
    assert f.transmission_delay(0.0, rate) == 0.0
    assert f.transmission_delay(bits, math.inf) == 0.0


@given(st.floats(0, 1e10), pos, st.floats(0, 1e-25), pos, pos)
def test_energies_never_negative(cycles, hz, kappa, rate, power):
    """Eqs. (4) and (7) give non-negative joules."""
    assert f.local_computation_energy(cycles, hz, kappa) >= 0
    assert f.transmission_energy(cycles, rate, power) >= 0


def test_local_energy_formula():
    """Eq. (4) with the paper's kappa: 1e-26 * (1 GHz)^2 * 1e9 cycles = 10 J."""
    assert math.isclose(f.local_computation_energy(1e9, 1e9, 1e-26), 10.0)


@given(st.lists(st.floats(0, 100), min_size=1, max_size=10), st.data())
def test_penalty_zero_exactly_when_deadlines_met(delays, data):
    """Eq. (13): psi = 0 iff every L_m <= tau_m, and psi is the summed excess."""
    deadlines = data.draw(st.lists(st.floats(0.01, 100), min_size=len(delays), max_size=len(delays)))
    psi = f.penalty(delays, deadlines)
    met = all(d <= t for d, t in zip(delays, deadlines))
    assert (psi == 0.0) == met
    assert math.isclose(psi, sum(max(d - t, 0) for d, t in zip(delays, deadlines)), abs_tol=1e-12)


@given(st.floats(0, 1e3), st.floats(0, 1e3), st.floats(0, 100))
def test_reward_is_negative_delay_plus_penalty(total, psi, beta):
    """Eq. (14): r = -(L + beta psi)."""
    assert f.reward(total, psi, beta) == -(total + beta * psi)


def test_remaining_energy():
    """Eq. (11): E^r(t) = E^max - sum of earlier slots."""
    assert f.remaining_energy(10.0, [1.0, 2.5]) == 6.5
    assert f.remaining_energy(10.0, []) == 10.0


def test_within_uses_relative_tolerance():
    """Comparisons allow 1e-9 relative slack and no more."""
    assert f.within(1.0 + 0.5e-9, 1.0)
    assert not f.within(1.0 + 2e-9, 1.0)
    assert f.within(5.0, math.inf)
    assert np.all(f.within(np.array([1.0, 2.0]), np.array([1.0, 2.0])))


@settings(max_examples=50, deadline=None)
@given(instances(), st.integers(0, 2**32 - 1))
def test_along_batch_matches_along(inst, seed):
    """along_batch over B copies of one instance's table equals along for each placement."""
    from partopt.chain.costs import along, along_batch

    rng = np.random.default_rng(seed)
    table = inst.costs.delay[0]
    placements = rng.integers(0, inst.num_servers + 1, size=(5, inst.num_blocks))
    assert np.array_equal(along_batch(np.repeat(table[None], 5, axis=0), placements), along(table, placements))
