"""Observation features of an instance, scaled so that a network can learn from them.

NumPy only (the environment uses it without torch). For an instance of shape (M, N)
the vector holds, in this order:

- per block m (M x 5): log10 c_m, log10 I_m, log10 d_m, log10 tau_m, has-deadline
  (the paper's state x_m = {c_m, d_m, R} plus the input size and deadline);
- per location k = 0..N (N+1 x 2): log10 CPU Hz, log10 link rate to the device
  (the device's own entry is the backhaul rate);
- per block and location (M x (N+1)): log10 of the block's computation time there,
  c_m / f_k, and (M x N) of its input's transmission time from the device, I_m / R_n:
  the quantities the delay is made of, so the network need not learn to divide;
- log10 O (output bits) and the remaining energy E^r(t) as a fraction of the budget
  or of E^max (1 when there is none).

Every log10 x is centred and scaled as (log10(x + eps) - centre) / spread with fixed
centres (cycles 8, bits 6, Hz 9.5, bit/s 7, seconds 0) and spreads (1, except Hz 0.5),
so that features are O(1) across the paper, DIL and random generators; zeros map to
log10(eps). The layout depends only on (M, N): ``feature_size(M, N)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from partopt.chain.costs import InstanceBatch, cost_tensors

if TYPE_CHECKING:
    from partopt.chain.model import Instance

__all__ = [
    "FEATURE_BOUND",
    "FEATURE_VERSION",
    "STRUCTURED_VERSION",
    "ChainFeatures",
    "encode",
    "encode_batch",
    "encode_structured",
    "feature_size",
]

FEATURE_VERSION = 1
FEATURE_BOUND = 40.0  #: every feature is clipped to [-FEATURE_BOUND, FEATURE_BOUND]
_EPS = 1e-9


def _log(x, centre: float, spread: float = 1.0) -> np.ndarray:
    return (np.log10(np.asarray(x, dtype=float) + _EPS) - centre) / spread


def feature_size(m: int, n: int) -> int:
    """Length of the feature vector of an (M, N) instance."""
    return m * 5 + (n + 1) * 2 + m * (n + 1) + m * n + 2


def encode_batch(batch: InstanceBatch, energy_fraction: np.ndarray | float = 1.0) -> np.ndarray:
    """Features of every instance of ``batch``, shape (B, feature_size(M, N)), float32."""
    bsz = batch.size
    has_deadline = np.isfinite(batch.deadlines)
    deadline = np.where(has_deadline, batch.deadlines, 1.0)
    per_block = np.stack(
        [
            _log(batch.cycles, 8),
            _log(batch.input_bits, 6),
            _log(batch.param_bits, 6),
            np.where(has_deadline, _log(deadline, 0), 0.0),
            has_deadline.astype(float),
        ],
        axis=2,
    ).reshape(bsz, -1)
    hz = np.concatenate([batch.device_hz[:, None], batch.server_hz], axis=1)
    rates = np.concatenate([batch.backhaul_bps[:, None], batch.uplink_bps], axis=1)
    per_location = np.stack([_log(hz, 9.5, 0.5), _log(rates, 7)], axis=2).reshape(bsz, -1)
    cycles = np.concatenate([batch.cycles[:, :, None], batch.server_cycles], axis=2)
    compute = _log(cycles / hz[:, None, :], 0).reshape(bsz, -1)
    transmit = _log(batch.input_bits[:, :, None] / batch.uplink_bps[:, None, :], 0).reshape(bsz, -1)
    energy = np.broadcast_to(np.asarray(energy_fraction, dtype=float), (bsz,))
    tail = np.stack([_log(batch.output_bits, 6), energy], axis=1)
    features = np.concatenate([per_block, per_location, compute, transmit, tail], axis=1)
    return np.clip(features, -FEATURE_BOUND, FEATURE_BOUND).astype(np.float32)


def encode(instance: Instance, energy_fraction: float = 1.0) -> np.ndarray:
    """Features of one instance, shape (feature_size(M, N),), float32."""
    return encode_batch(instance.as_batch, energy_fraction)[0]


# --- structured features, for the shape-free policy -------------------------------------------------------

#: Version of the structured layout below; a shape-free checkpoint records the one it was trained on.
STRUCTURED_VERSION = 1


@dataclass(frozen=True)
class ChainFeatures:
    """Features of B instances of one shape (M, N), kept apart by what they describe, so that
    one network reads any M and N. L = N + 1 locations, location 0 the device.

    blocks (B, M, 7): log10 c_m, log10 I_m, log10 d_m, log10 tau_m (0 without), has-deadline,
        position m / (M - 1), is-last.
    locations (B, L, 4): log10 CPU Hz, log10 link rate to the device (the device's own entry:
        the backhaul), log10 of the output's return delay from there (s; 0 on the device),
        is-device.
    unary (B, M, L, 2): log10 of block m's computation time there and of its input's
        transmission time from the device (s; 0 on the device).
    moves (B, M, L, L, 5): for a_{m-1} = i, a_m = j: log10 of the block delay L_m (return
        included on the last block) and of the transfer, stay (i = j), the deadline slack
        log10 (tau_m / L_m) (0 without a deadline), log10 of the step's device energy over the
        budget (0 without a budget).
    context (B, 3): log10 O, the remaining-energy fraction, has-budget.

    Logs are centred and scaled as in the flat features; every value is clipped to
    +-FEATURE_BOUND.
    """

    blocks: np.ndarray
    locations: np.ndarray
    unary: np.ndarray
    moves: np.ndarray
    context: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """(M, N)."""
        return self.blocks.shape[1], self.locations.shape[1] - 1

    def take(self, rows) -> "ChainFeatures":
        """The instances at ``rows``."""
        return ChainFeatures(
            self.blocks[rows], self.locations[rows], self.unary[rows], self.moves[rows], self.context[rows]
        )


def _clip(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -FEATURE_BOUND, FEATURE_BOUND).astype(np.float32)


def encode_structured(batch: InstanceBatch, energy_fraction: np.ndarray | float = 1.0) -> ChainFeatures:
    """Structured features of every instance of ``batch`` (see :class:`ChainFeatures`)."""
    tables = cost_tensors(batch)
    bsz, (m, n) = batch.size, batch.shape
    has_deadline = np.isfinite(batch.deadlines)
    deadline = np.where(has_deadline, batch.deadlines, 1.0)
    position = np.broadcast_to(np.arange(m) / max(m - 1, 1), (bsz, m))
    blocks = np.stack(
        [
            _log(batch.cycles, 8),
            _log(batch.input_bits, 6),
            _log(batch.param_bits, 6),
            np.where(has_deadline, _log(deadline, 0), 0.0),
            has_deadline.astype(float),
            position,
            np.broadcast_to(np.arange(m) == m - 1, (bsz, m)).astype(float),
        ],
        axis=2,
    )
    hz = np.concatenate([batch.device_hz[:, None], batch.server_hz], axis=1)
    rates = np.concatenate([batch.backhaul_bps[:, None], batch.uplink_bps], axis=1)
    device = np.zeros((bsz, n + 1))
    device[:, 0] = 1.0
    back = tables.return_delay
    locations = np.stack([_log(hz, 9.5, 0.5), _log(rates, 7), np.where(back > 0, _log(back, 0), 0.0), device], axis=2)
    uplink = tables.transmission[:, :, 0, :]
    unary = np.stack([_log(tables.computation, 0), np.where(uplink > 0, _log(uplink, 0), 0.0)], axis=3)
    delay, transfer = tables.delay, tables.transmission
    stay = np.broadcast_to(np.eye(n + 1, dtype=bool), delay.shape)
    slack = np.where(
        has_deadline[:, :, None, None], np.log10(deadline[:, :, None, None] + _EPS) - np.log10(delay + _EPS), 0.0
    )
    budget = batch.energy_budget_j
    has_budget = np.isfinite(budget)
    energy = np.where(
        has_budget[:, None, None, None],
        _log(tables.energy / np.where(has_budget, budget, 1.0)[:, None, None, None], 0),
        0.0,
    )
    moves = np.stack(
        [_log(delay, 0), np.where(transfer > 0, _log(transfer, 0), 0.0), stay.astype(float), slack, energy], axis=4
    )
    fraction = np.broadcast_to(np.asarray(energy_fraction, dtype=float), (bsz,))
    context = np.stack([_log(batch.output_bits, 6), fraction, has_budget.astype(float)], axis=1)
    return ChainFeatures(_clip(blocks), _clip(locations), _clip(unary), _clip(moves), _clip(context))
