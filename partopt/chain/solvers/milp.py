r"""The MILP formulation of problem P, built once and handed to each backend.

Data (from :class:`partopt.chain.costs.CostTensors`, locations k = 0 device, 1..N servers):
    D[m, i, j]  block delay L_m when a_{m-1} = i and a_m = j (s), return included for m = M
    E[m, i, j]  device energy of that step (J)
    tau_m       deadline of block m (s), B the energy budget (J), beta >= 0
    A_m         the moves (i, j) allowed at block m: under "hard", those with
                D[m, i, j] <= tau_m (1 + 1e-9); under "penalty", all of them.
    For m = 1 the only predecessor is i = 0 (the raw input is on the device).

Variables:
    x[m, k] in {0, 1}       block m runs at location k                      (eq. 10d, C3)
    y[m, i, j] in [0, 1]    block m-1 at i and block m at j, (i, j) in A_m, m >= 2

Objective (eq. 10a; under "penalty", eq. 14's L + beta psi):
    min  sum_j C[1,0,j] x[1,j] + sum_{m>=2} sum_{(i,j) in A_m} C[m,i,j] y[m,i,j]
    with C = D under "hard" and C[m,i,j] = D[m,i,j] + beta max(D[m,i,j] - tau_m, 0)
    under "penalty": L_m depends on the move (a_{m-1}, a_m) alone, so each move's
    share of psi (eq. 13) is a constant and needs no excess variable.

Constraints:
    (1) sum_k x[m, k] = 1                                  for every m        (eq. 10b, C1)
    (2) sum_j y[m, i, j] = x[m-1, i]                       for m >= 2, every i
    (3) sum_i y[m, i, j] = x[m, j]                         for m >= 2, every j
    (4) x[1, j] = 0 for (0, j) not in A_1; y only on A_m   under "hard"       (eq. 10c, C2)
    (5) sum_j E[1,0,j] x[1,j] + sum_{m>=2} sum E[m,i,j] y[m,i,j] <= B (1 + 1e-9)   (eq. 11)

Given binary x, (2)-(3) force y[m, i, j] = x[m-1, i] x[m, j], so y needs no
integrality: binary assignment variables with continuous transition variables. C2
depends on one move only, so it is written exactly as the removal of the moves
that break it (4), with the model's own tolerance and no solver tolerance.
Row (6) is divided by B so that the solver's feasibility tolerance is relative.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from partopt.formulas import REL_TOL
from partopt.result import SolverOutput

if TYPE_CHECKING:
    from partopt.chain.model import Instance
    from partopt.objective import Objective

__all__ = ["OBJECTIVE_RANGE", "Formulation", "Row", "build_formulation", "native_stdout_silenced", "prepare"]

#: The model objective of any placement lies in [0, OBJECTIVE_RANGE].
OBJECTIVE_RANGE = 1e6


@dataclass(frozen=True)
class Row:
    """A linear constraint: sum coef * var (sense) rhs; ``unit`` tells how CP-SAT scales it.

    sense: "==", "<=" or ">="; unit: "count" (integral already) or "energy".
    """

    name: str
    coefs: dict[int, float]
    sense: str
    rhs: float
    unit: str = "count"


@dataclass
class Formulation:
    """Variables, rows and objective of the MILP, backend-neutral.

    var_names[v] and var_binary[v] describe variable v (bounds 0 and 1);
    ``x[m][k]`` is the index of x[m, k] (None when fixed to 0); ``upper`` bounds the
    objective of any placement (s); a model objective value times ``unit`` is seconds.
    """

    var_names: list[str] = field(default_factory=list)
    var_binary: list[bool] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    objective: dict[int, float] = field(default_factory=dict)
    x: list[list[int | None]] = field(default_factory=list)
    y: dict[tuple[int, int, int], int] = field(default_factory=dict)
    upper: float = 0.0
    unit: float = 1.0
    trivially_infeasible: bool = False
    #: ``time.perf_counter()`` when building began; :meth:`built` gives the seconds since.
    started: float = 0.0

    def built(self) -> float:
        """Seconds since building began: called by a backend just before it solves, this is
        the build time (formulation and the backend's own model) reported as ``build_s``."""
        return time.perf_counter() - self.started

    def add_var(self, name: str, binary: bool) -> int:
        self.var_names.append(name)
        self.var_binary.append(binary)
        return len(self.var_names) - 1

    def placement(self, values) -> list[int]:
        """The placement encoded by variable ``values`` (indexable by variable index)."""
        out = []
        for row in self.x:
            scores = [(-1.0 if v is None else values[v]) for v in row]
            out.append(int(np.argmax(scores)))
        return out

    def hint(self, placement) -> dict[int, float]:
        """Values of x and y for a warm-start ``placement``."""
        values = {v: 0.0 for v in range(len(self.var_names))}
        for m, k in enumerate(placement):
            if self.x[m][k] is not None:
                values[self.x[m][k]] = 1.0
            if m and (m, placement[m - 1], k) in self.y:
                values[self.y[m, placement[m - 1], k]] = 1.0
        return values


class BuildTimeoutError(Exception):
    """The time limit passed while the model was being built."""


def build_formulation(instance: Instance, objective: Objective, deadline: float = math.inf) -> Formulation:
    """Build the model of the module docstring for ``instance`` under ``objective``.

    deadline: a ``time.perf_counter()`` value; past it, building stops with
    :class:`BuildTimeoutError`. Work is linear in M: transitions are indexed by block.
    """
    costs = instance.costs
    cost, energy = objective.step_cost(costs)[0], costs.energy[0]
    allowed = np.isfinite(cost)
    budget = instance.energy_budget_j
    if budget is not None:  # steps whose energy alone exceeds the budget can never be used
        allowed = allowed & (energy <= budget * (1.0 + REL_TOL))
    model = Formulation()
    by_block = _add_variables(model, allowed, deadline)
    if model.trivially_infeasible:
        return model
    _add_link_rows(model, allowed.shape[0], allowed.shape[1], deadline)

    def step_terms(m: int, table: np.ndarray) -> dict[int, float]:
        if m == 0:
            return {v: float(table[0, 0, k]) for k, v in enumerate(model.x[0]) if v is not None}
        return {v: float(table[m, i, j]) for v, (i, j) in by_block[m].items()}

    m_blocks = allowed.shape[0]
    # Objective: total delay (10a), each move priced by the objective, in units of
    # ``unit`` = upper / OBJECTIVE_RANGE, where ``upper`` is the sum over blocks of the dearest
    # move: any placement's objective lies in [0, OBJECTIVE_RANGE], so the solvers' absolute
    # tolerances (about 1e-6) are about 1e-12 of the cost scale, whatever the delay units.
    terms = [step_terms(m, cost) for m in range(m_blocks)]
    model.upper = float(sum(max(t.values(), default=0.0) for t in terms)) or 1.0
    model.unit = model.upper / OBJECTIVE_RANGE
    for block in terms:
        for v, c in block.items():
            if c:
                model.objective[v] = model.objective.get(v, 0.0) + c / model.unit
    if budget is not None:  # (5) energy budget, relative form
        coefs = {
            v: (c / budget if budget > 0 else c) for m in range(m_blocks) for v, c in step_terms(m, energy).items() if c
        }
        if coefs:
            model.rows.append(Row("energy", coefs, "<=", (1.0 + REL_TOL) if budget > 0 else 0.0, unit="energy"))
    return model


def _check_clock(deadline: float) -> None:
    if time.perf_counter() > deadline:
        raise BuildTimeoutError


def _add_variables(model: Formulation, allowed: np.ndarray, deadline: float) -> list[dict[int, tuple[int, int]]]:
    """x for usable (block, location) pairs, y for usable transitions; returns y by block."""
    m_blocks, locs = allowed.shape[0], allowed.shape[1]
    for m in range(m_blocks):
        _check_clock(deadline)
        row = []
        for k in range(locs):
            usable = allowed[0, 0, k] if m == 0 else allowed[m, :, k].any()
            row.append(model.add_var(f"x[{m},{k}]", True) if usable else None)
        model.x.append(row)
        if all(v is None for v in row):
            model.trivially_infeasible = True
            return []
    by_block: list[dict[int, tuple[int, int]]] = [{} for _ in range(m_blocks)]
    for m in range(1, m_blocks):
        _check_clock(deadline)
        for i in range(locs):
            for j in range(locs):
                if allowed[m, i, j] and model.x[m - 1][i] is not None and model.x[m][j] is not None:
                    model.y[m, i, j] = model.add_var(f"y[{m},{i},{j}]", False)
                    by_block[m][model.y[m, i, j]] = (i, j)
    return by_block


def _add_link_rows(model: Formulation, m_blocks: int, locs: int, deadline: float) -> None:
    """(1) one location per block; (2)-(3) transitions agree with the assignments."""
    y = model.y
    for m in range(m_blocks):
        model.rows.append(Row(f"assign[{m}]", {v: 1.0 for v in model.x[m] if v is not None}, "==", 1.0))
    for m in range(1, m_blocks):
        _check_clock(deadline)
        for i in range(locs):
            source = model.x[m - 1][i]
            if source is not None:
                coefs = {y[m, i, j]: 1.0 for j in range(locs) if (m, i, j) in y}
                coefs[source] = -1.0
                model.rows.append(Row(f"out[{m},{i}]", coefs, "==", 0.0))
        for j in range(locs):
            target = model.x[m][j]
            if target is not None:
                coefs = {y[m, i, j]: 1.0 for i in range(locs) if (m, i, j) in y}
                coefs[target] = -1.0
                model.rows.append(Row(f"in[{m},{j}]", coefs, "==", 0.0))


def prepare(
    instance: Instance, objective: Objective, backend: str, backends: tuple[str, ...], time_limit: float | None = None
):
    """The formulation for a backend's solve and the seconds left for solving, or the answer
    when none is needed.

    Checks ``backend`` against ``backends``; returns (:class:`SolverOutput`, 0) proving
    infeasibility when some block has no allowed location, or reporting that the time limit
    passed while building; else (the :class:`Formulation`, seconds left or None).
    """
    if backend not in backends:
        raise ValueError(f"backend: must be one of {backends}, got {backend!r}")
    start = time.perf_counter()
    deadline = math.inf if time_limit is None else start + time_limit
    try:
        model = build_formulation(instance, objective, deadline)
    except BuildTimeoutError:
        return SolverOutput(
            placement=None,
            timed_out=True,
            info={"backend": backend, "termination": "time limit reached while building"},
        ), 0.0
    model.started = start
    if model.trivially_infeasible:
        return SolverOutput(placement=None, proven_infeasible=True, info={"backend": backend}), 0.0
    left = None if time_limit is None else deadline - time.perf_counter()
    if left is not None and left <= 0:
        return SolverOutput(
            placement=None,
            timed_out=True,
            info={"backend": backend, "termination": "time limit reached while building"},
        ), 0.0
    return model, left


@contextlib.contextmanager
def native_stdout_silenced():
    """Send file descriptor 1 to /dev/null for the duration (catches prints from C code)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no usable stdout: nothing to protect
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
