"""The model's formulas, one small pure function each.

Every function works on Python floats and on NumPy arrays alike (element-wise),
so the same code prices one block in :func:`partopt.evaluate` and a whole batch of
instances in the cost tensors. Units are SI throughout; equation numbers are those
of Li et al., IEEE TMC 2024, as corrected in docs/model.md.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MAX_TIME_S",
    "REL_TOL",
    "SCHEDULE_TOL_S",
    "block_delay",
    "deadline_excess",
    "edge_computation_delay",
    "local_computation_delay",
    "local_computation_energy",
    "penalized_delay",
    "penalty",
    "remaining_energy",
    "reward",
    "shannon_rate",
    "transmission_delay",
    "transmission_energy",
    "within",
]

#: Relative tolerance of every comparison against a deadline or an energy budget.
REL_TOL = 1e-9
#: Absolute tolerance of a schedule's time comparisons (s): a block may start this much before
#: its input is ready, its resource free or the previous block on it ended (float noise).
SCHEDULE_TOL_S = 1e-9
#: The latest time a schedule may name (s; releases, server backlogs, start times): about 11.6
#: days. Float64's spacing there is 1.2e-10 s, below :data:`SCHEDULE_TOL_S`; far later, a
#: block's duration can vanish in rounding and overlapping blocks would pass as valid.
MAX_TIME_S = 1e6


def shannon_rate(bandwidth_hz, power_w, gain, noise_w_per_hz):
    """Achievable link rate R = B log2(1 + p|h|^2 / (N0 B)) in bit/s.

    bandwidth_hz: B (Hz); power_w: transmit power p (W); gain: channel power gain
    |h|^2 (linear); noise_w_per_hz: noise power spectral density N0 (W/Hz).
    """
    snr = np.multiply(power_w, gain) / np.multiply(noise_w_per_hz, bandwidth_hz)
    return np.multiply(bandwidth_hz, np.log2(1.0 + snr))


def local_computation_delay(cycles, device_hz):
    """Eq. (3): seconds to run ``cycles`` CPU cycles on the device at ``device_hz``."""
    return np.divide(cycles, device_hz)


def local_computation_energy(cycles, device_hz, kappa):
    """Eq. (4): joules the device spends on ``cycles`` cycles, kappa (f^l)^2 c."""
    return np.multiply(np.multiply(kappa, np.square(device_hz)), cycles)


def transmission_delay(bits, rate_bps):
    """Eq. (5): seconds to move ``bits`` over a link of ``rate_bps`` bit/s.

    Rates are > 0 (the model refuses others), so zero bits take zero time; an
    infinite rate (same location) is free.
    """
    delay = np.divide(bits, rate_bps, dtype=float)
    return delay if np.ndim(delay) else float(delay)


def edge_computation_delay(cycles, server_hz):
    """Eq. (6): seconds to run ``cycles`` CPU cycles on a server at ``server_hz``."""
    return np.divide(cycles, server_hz)


def transmission_energy(bits, rate_bps, power_w):
    """Eq. (7): joules the device spends sending ``bits`` at ``rate_bps`` with ``power_w``."""
    return np.multiply(power_w, transmission_delay(bits, rate_bps))


def block_delay(transmission_s, computation_s):
    """Eqs. (8)-(9), corrected: a block's delay is its input's transmission plus its computation (s)."""
    return np.add(transmission_s, computation_s)


def remaining_energy(max_energy_j, spent_j):
    """Eq. (11): E^r(t) = E^max minus the energy of the earlier slots (J).

    ``spent_j`` is the sequence of per-slot device energies E(1) ... E(t-1).
    """
    return float(max_energy_j) - float(np.sum(spent_j))


def deadline_excess(block_delays_s, deadlines_s):
    """A block's lateness max(L_m - tau_m, 0) in seconds, element-wise; a deadline of inf never binds."""
    return np.maximum(np.subtract(block_delays_s, deadlines_s, dtype=float), 0.0)


def penalty(block_delays_s, deadlines_s):
    """Eq. (13): psi = sum of the blocks' :func:`deadline_excess` in seconds."""
    return float(np.sum(deadline_excess(block_delays_s, deadlines_s)))


def penalized_delay(delay_s, excess_s, beta):
    """The "penalty" objective's cost L + beta psi (s), element-wise: a delay plus beta times its lateness."""
    return np.add(delay_s, np.multiply(beta, excess_s))


def reward(total_delay_s, psi_s, beta):
    """Eq. (14): r = -(L + beta psi), in seconds (always <= 0)."""
    return -float(penalized_delay(float(total_delay_s), float(psi_s), float(beta)))


def within(value, limit):
    """True where ``value <= limit`` up to the model's relative tolerance :data:`REL_TOL`."""
    return np.asarray(value) <= np.asarray(limit) * (1.0 + REL_TOL)
